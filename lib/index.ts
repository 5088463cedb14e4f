/**
 * The producersync-aws construct library (the package entry): the whole product as one construct,
 * and the pieces a platform team may want to reach into.
 */
export { ProducerSyncPipeline, type ProducerSyncPipelineProps, type WebhookDomainProps } from './pipeline.ts';
export { CONTEXT_KEYS, DEFAULT_RECONCILE_SCHEDULE, changeFeedsFromContext, propsFromContext, type ProducerSyncConfig } from './config.ts';
export { deploymentNames, isStageName, STAGE_PATTERN, type DeploymentNameOverrides, type DeploymentNames } from './names.ts';
export { syncPagesConcurrency, PAGE_LOOP_SECONDS, CONCURRENCY_HEADROOM } from './concurrency.ts';
export { DataStack } from './data-stack.ts';
export { SyncStack, type SyncStackProps } from './sync-stack.ts';
export { IngestStack, WEBHOOK_PATH, type IngestStackProps } from './ingest-stack.ts';
export { Observability, type ObservabilityProps } from './constructs/observability.ts';
export { DispatcherSchedules, SCHEDULED_ACTIONS, SCHEDULE_SOURCE } from './constructs/schedules.ts';
export { ProducerSyncFunction, type ProducerSyncFunctionProps } from './constructs/node-function.ts';
export { ChangeFeed, TeamChangeFeed, type ChangeFeedProps, type TeamFeedOptions } from './constructs/change-feed.ts';
export { CHANGE_FEED_TAG, checkFeedFilter, feedFilterPolicy, FEED_RECORD_TYPES, TEAM_NAME_PATTERN, type FeedFilter } from '#feed/feed-filter';
