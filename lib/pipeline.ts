import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { resolveConfig, type ProducerSyncConfig } from './config.ts';
import { ChangeFeed, type TeamChangeFeed, type TeamFeedOptions } from './constructs/change-feed.ts';
import { DataStack } from './data-stack.ts';
import { IngestStack } from './ingest-stack.ts';
import type { DeploymentNameOverrides, DeploymentNames } from './names.ts';
import { SyncStack } from './sync-stack.ts';

/** A custom domain for the webhook, so the URL registered in AgentSync's portal survives a replaced API. */
export interface WebhookDomainProps {
  /** e.g. `producersync-webhook.example.com`. */
  readonly domainName: string;
  /** ACM certificate for `domainName`, in the deployment's region (a regional API endpoint). */
  readonly certificateArn: string;
  /** Route 53 zone to create the A/AAAA alias records in. @default none: point your DNS at the `WebhookDomainTarget` output */
  readonly hostedZone?: { readonly hostedZoneId: string; readonly zoneName: string };
}

/**
 * Props of {@link ProducerSyncPipeline}. Everything is optional: the defaults are a sandbox deployment
 * with today's (unstaged) names. Secrets are never props: their values go into Secrets Manager after
 * the deploy (docs/DEPLOY.md), so no prop can change them on a redeploy.
 */
export interface ProducerSyncPipelineProps {
  /**
   * Stage name (1-24 letters, digits or hyphens, starting with a letter): derives every physical name
   * (stacks `ProducerSync-<stage>-Data|Sync|Ingest`, state machine, dashboard, API), so stages live side by side.
   * @default none: `ProducerSyncData`, `ProducerSyncSync`, `ProducerSyncIngest`, `ProducerSync-Sync`, dashboard `ProducerSync`
   */
  readonly stage?: string;
  /** Your own physical names, where your conventions differ; the rest follow the stage. @default none */
  readonly names?: DeploymentNameOverrides;
  /** AgentSync environment whose hosts sync-pages calls. @default 'sandbox' */
  readonly environment?: 'sandbox' | 'production';
  /** Subscribes this e-mail address to the alarm topic (confirm the e-mail AWS sends). @default none: subscribe to `alarmTopic` yourself */
  readonly alarmEmail?: string;
  /**
   * Passed to all three stacks: `env`, `synthesizer` (your bootstrap qualifier), `permissionsBoundary`
   * (applied to every role), `tags`, `terminationProtection`...
   * @default none
   */
  readonly stackProps?: Omit<StackProps, 'stackName' | 'description'>;
  /** Tags on every resource (same as `Tags.of(pipeline).add`). @default none */
  readonly tags?: Readonly<Record<string, string>>;
  /** Endpoints synced at once in a run (Map MaxConcurrency). @default 9 (DEFAULT_SYNC_CONCURRENCY: every endpoint and the NPN status target) */
  readonly syncConcurrency?: number;
  /** ProducerSync API requests per minute, shared by every sync Lambda. @default 300 */
  readonly apiRequestsPerMinute?: number;
  /** Token endpoint requests per minute. @default 200 */
  readonly tokenRequestsPerMinute?: number;
  /** `size` of each page request. @default 1000 */
  readonly pageSize?: number;
  /** Endpoints a run syncs. @default the default catalogue (every endpoint but `licenseLoas`) */
  readonly syncEndpoints?: readonly string[];
  /**
   * Reserved concurrency of SyncPages. @default sized to the rate budget (lib/concurrency.ts): 20 at 300 requests/min
   */
  readonly syncPagesConcurrency?: number;
  /** Dispatcher invocations at once from the events queue (2 to 1,000). @default 2 */
  readonly dispatcherConcurrency?: number;
  /** Webhook HTTP API steady-state requests per second. @default 50 */
  readonly webhookRateLimit?: number;
  /** Webhook HTTP API burst. @default 100 */
  readonly webhookBurstLimit?: number;
  /** Receives before a queued event moves to the dead-letter queue. @default 5 */
  readonly dlqMaxReceiveCount?: number;
  /** Also deploy the example stream consumer (licenses only). @default false */
  readonly exampleConsumer?: boolean;
  /** When the weekly reconcile run starts (EventBridge expression, UTC). @default 'cron(0 6 ? * SUN *)' */
  readonly reconcileSchedule?: string;
  /** The hourly freshness check starts a catch-up run when the watermark is older than this. @default 26 */
  readonly catchUpAfterHours?: number;
  /** Hours without the watermark advancing before the freshness alarm fires. @default 30 */
  readonly freshnessAlarmHours?: number;
  /** Custom domain for the webhook URL. @default none: the API's execute-api URL */
  readonly webhookDomain?: WebhookDomainProps;
  /**
   * Keep 0.1.0's `byTypeUpdatedAt` index beside the change index, for the first of the two deploys of an
   * upgrade from 0.1.0 (CloudFormation changes one GSI per update; CHANGELOG.md). @default false
   */
  readonly legacyTypeIndex?: boolean;
}

/**
 * The whole product, as three stacks under one construct: data (tables, their key and the signing
 * secret; retained on delete), sync (state machine, sync Lambdas, token layer, credentials secret)
 * and ingest (webhook API, queue, dispatcher, schedules, alarms, dashboard).
 *
 * ```ts
 * const app = new App();
 * const pipeline = new ProducerSyncPipeline(app, 'ProducerSync', { stage: 'prod', environment: 'production', alarmEmail: 'ops@example.com' });
 * pipeline.alarmTopic.addSubscription(new UrlSubscription('https://events.pagerduty.com/integration/KEY/enqueue'));
 * ```
 */
export class ProducerSyncPipeline extends Construct {
  /** The physical names of this deployment. */
  public readonly names: DeploymentNames;
  /** The props with their defaults applied. */
  public readonly config: ProducerSyncConfig;
  public readonly dataStack: DataStack;
  public readonly syncStack: SyncStack;
  public readonly ingestStack: IngestStack;
  private readonly stackProps: Omit<StackProps, 'stackName' | 'description'>;
  private feed?: ChangeFeed;

  constructor(scope: Construct, id: string, props: ProducerSyncPipelineProps = {}) {
    super(scope, id);
    this.config = resolveConfig(props);
    this.names = this.config.names;
    const stackProps = props.stackProps ?? {};
    this.stackProps = stackProps;

    this.dataStack = new DataStack(this, 'Data', {
      ...stackProps,
      stackName: this.names.stacks.data,
      description: 'ProducerSync mirror: data and control tables and the webhook signing secret (retained on delete)',
      legacyTypeIndex: this.config.legacyTypeIndex,
    });
    this.syncStack = new SyncStack(this, 'Sync', {
      ...stackProps,
      stackName: this.names.stacks.sync,
      description: `ProducerSync mirror: sync state machine and Lambdas (AgentSync ${this.config.environment})`,
      config: this.config,
      dataTable: this.dataStack.dataTable,
      controlTable: this.dataStack.controlTable,
    });
    this.ingestStack = new IngestStack(this, 'Ingest', {
      ...stackProps,
      stackName: this.names.stacks.ingest,
      description: 'ProducerSync mirror: webhook API, event queue, dispatcher, schedules and alarms',
      config: this.config,
      dataTable: this.dataStack.dataTable,
      controlTable: this.dataStack.controlTable,
      webhookSigningSecret: this.dataStack.webhookSigningSecret,
      syncStack: this.syncStack,
    });
    for (const [key, value] of Object.entries(props.tags ?? {})) Tags.of(this).add(key, value);
  }

  /** The mirrored data (stream NEW_AND_OLD_IMAGES). */
  public get dataTable(): dynamodb.Table {
    return this.dataStack.dataTable;
  }

  /** Runs, checkpoints, quarantine, dedup, rate buckets. */
  public get controlTable(): dynamodb.Table {
    return this.dataStack.controlTable;
  }

  /** The sync state machine. */
  public get stateMachine(): sfn.StateMachine {
    return this.syncStack.stateMachine;
  }

  /** The topic every alarm notifies: subscribe chat or paging here (docs/DEPLOY.md "Alarm routing"). */
  public get alarmTopic(): sns.Topic {
    return this.ingestStack.observability.alarmTopic;
  }

  /** The URL to register in AgentSync's portal. */
  public get webhookUrl(): string {
    return this.ingestStack.webhookUrl;
  }

  /**
   * Adds a downstream team's own durable, filtered change feed (an SQS FIFO queue; docs/STREAM-CONTRACT.md §6)
   * without taking a reader of the table's stream:
   * `pipeline.addChangeFeed('claims', { recordTypes: ['licenses'], states: ['TX'] })`.
   * The first call creates the feed stack (`ProducerSyncFeed`, or `ProducerSync-<stage>-Feed`): the topic, its
   * publisher (the one product reader of the stream) and their alarms; every call adds one team's queue.
   */
  public addChangeFeed(name: string, options: TeamFeedOptions = {}): TeamChangeFeed {
    this.feed ??= new ChangeFeed(
      new Stack(this, 'Feed', {
        ...this.stackProps,
        stackName: this.names.stacks.feed,
        description: 'ProducerSync mirror: change feed (publisher, SNS FIFO topic with archive, one SQS FIFO queue per team)',
      }),
      'ChangeFeed',
      { dataTable: this.dataTable, alarmTopic: this.alarmTopic },
    );
    return this.feed.addTeam(name, options);
  }

  /** The change feed, once addChangeFeed was called: its topic, publisher and the teams' feeds. */
  public get changeFeed(): ChangeFeed | undefined {
    return this.feed;
  }
}
