import type { Node } from 'constructs';
import { AGENTSYNC_HOSTS, API_LIMITS, ENDPOINT_NAMES, isEndpointName, type AgentSyncEnvironment } from '#producersync/endpoints';
import { DEFAULT_DISPATCHER_CONCURRENCY, DEFAULT_SYNC_CONCURRENCY, syncPagesConcurrency } from './concurrency.ts';
import type { TeamFeedOptions } from './constructs/change-feed.ts';
import { deploymentNames, type DeploymentNames } from './names.ts';
import type { ProducerSyncPipelineProps, WebhookDomainProps } from './pipeline.ts';

/**
 * The deployment settings: construct props (the library's interface) resolved with their defaults and
 * checked once, and the CDK context keys the app (bin/app.ts) reads them from.
 */

/** Every CDK context key the app reads (set in cdk.json or with `-c key=value`). */
export const CONTEXT_KEYS = {
  stage: 'producersync:stage',
  environment: 'producersync:environment',
  syncConcurrency: 'producersync:syncConcurrency',
  syncPagesConcurrency: 'producersync:syncPagesConcurrency',
  dispatcherConcurrency: 'producersync:dispatcherConcurrency',
  webhookRateLimit: 'producersync:webhookRateLimit',
  webhookBurstLimit: 'producersync:webhookBurstLimit',
  dlqMaxReceiveCount: 'producersync:dlqMaxReceiveCount',
  exampleConsumer: 'producersync:exampleConsumer',
  apiRequestsPerMinute: 'producersync:apiRequestsPerMinute',
  tokenRequestsPerMinute: 'producersync:tokenRequestsPerMinute',
  pageSize: 'producersync:pageSize',
  alarmEmail: 'producersync:alarmEmail',
  syncEndpoints: 'producersync:syncEndpoints',
  reconcileSchedule: 'producersync:reconcileSchedule',
  catchUpAfterHours: 'producersync:catchUpAfterHours',
  freshnessAlarmHours: 'producersync:freshnessAlarmHours',
  legacyTypeIndex: 'producersync:legacyTypeIndex',
  webhookDomainName: 'producersync:webhookDomainName',
  webhookCertificateArn: 'producersync:webhookCertificateArn',
  webhookHostedZoneId: 'producersync:webhookHostedZoneId',
  webhookHostedZoneName: 'producersync:webhookHostedZoneName',
  /** `{"<team>": {"recordTypes": [...], "states": [...], "npns": [...]}}`: one change feed per team (addChangeFeed). */
  changeFeeds: 'producersync:changeFeeds',
} as const;

/** The weekly reconcile run: Sunday 06:00 UTC (CONTRACTS.md §3). */
export const DEFAULT_RECONCILE_SCHEDULE = 'cron(0 6 ? * SUN *)';

/** The settings every stack reads, with every default applied. */
export interface ProducerSyncConfig {
  readonly names: DeploymentNames;
  readonly environment: AgentSyncEnvironment;
  /** Token and API URLs of the environment: sync-pages' `PRODUCERSYNC_TOKEN_URL` / `PRODUCERSYNC_API_BASE_URL`. */
  readonly hosts: { readonly tokenUrl: string; readonly apiBaseUrl: string };
  readonly syncConcurrency: number;
  readonly syncPagesConcurrency: number;
  readonly dispatcherConcurrency: number;
  readonly webhookRateLimit: number;
  readonly webhookBurstLimit: number;
  readonly dlqMaxReceiveCount: number;
  readonly exampleConsumer: boolean;
  readonly apiRequestsPerMinute: number;
  readonly tokenRequestsPerMinute: number;
  readonly pageSize: number;
  readonly alarmEmail: string | undefined;
  /** Comma list for prepare's SYNC_ENDPOINTS; undefined = the default catalogue. */
  readonly syncEndpoints: string | undefined;
  readonly reconcileSchedule: string;
  readonly catchUpAfterHours: number;
  readonly freshnessAlarmHours: number;
  readonly legacyTypeIndex: boolean;
  readonly webhookDomain: WebhookDomainProps | undefined;
}

/** Applies the defaults to the props and checks them; a bad value fails the synth with the prop's name. */
export function resolveConfig(props: ProducerSyncPipelineProps): ProducerSyncConfig {
  const environment = readEnvironment(props.environment);
  const apiRequestsPerMinute = positiveInteger('apiRequestsPerMinute', props.apiRequestsPerMinute, API_LIMITS.apiRequestsPerMinute);
  const syncConcurrency = positiveInteger('syncConcurrency', props.syncConcurrency, DEFAULT_SYNC_CONCURRENCY);
  const dispatcherConcurrency = positiveInteger('dispatcherConcurrency', props.dispatcherConcurrency, DEFAULT_DISPATCHER_CONCURRENCY);
  if (dispatcherConcurrency < 2 || dispatcherConcurrency > 1000) {
    throw new Error(`dispatcherConcurrency must be between 2 and 1000 (the SQS event source limits), got ${dispatcherConcurrency}`);
  }
  return {
    names: deploymentNames(props.stage, props.names),
    environment,
    hosts: AGENTSYNC_HOSTS[environment],
    syncConcurrency,
    syncPagesConcurrency: positiveInteger('syncPagesConcurrency', props.syncPagesConcurrency, syncPagesConcurrency(apiRequestsPerMinute, syncConcurrency)),
    dispatcherConcurrency,
    webhookRateLimit: positiveInteger('webhookRateLimit', props.webhookRateLimit, 50),
    webhookBurstLimit: positiveInteger('webhookBurstLimit', props.webhookBurstLimit, 100),
    dlqMaxReceiveCount: positiveInteger('dlqMaxReceiveCount', props.dlqMaxReceiveCount, 5),
    exampleConsumer: props.exampleConsumer ?? false,
    apiRequestsPerMinute,
    tokenRequestsPerMinute: positiveInteger('tokenRequestsPerMinute', props.tokenRequestsPerMinute, API_LIMITS.tokenRequestsPerMinute),
    pageSize: positiveInteger('pageSize', props.pageSize, API_LIMITS.maxPageSize),
    alarmEmail: props.alarmEmail || undefined,
    syncEndpoints: readSyncEndpoints(props.syncEndpoints),
    reconcileSchedule: readSchedule(props.reconcileSchedule ?? DEFAULT_RECONCILE_SCHEDULE),
    catchUpAfterHours: positiveInteger('catchUpAfterHours', props.catchUpAfterHours, 26),
    freshnessAlarmHours: positiveInteger('freshnessAlarmHours', props.freshnessAlarmHours, 30),
    legacyTypeIndex: props.legacyTypeIndex ?? false,
    webhookDomain: props.webhookDomain,
  };
}

/** The props bin/app.ts passes to the construct, from context (cdk.json or `-c`). */
export function propsFromContext(node: Node): ProducerSyncPipelineProps {
  const text = (key: string) => optionalString(node, key);
  const integer = (key: string) => optionalInteger(node, key);
  const domainName = text(CONTEXT_KEYS.webhookDomainName);
  const certificateArn = text(CONTEXT_KEYS.webhookCertificateArn);
  if (Boolean(domainName) !== Boolean(certificateArn)) {
    throw new Error(`Context ${CONTEXT_KEYS.webhookDomainName} and ${CONTEXT_KEYS.webhookCertificateArn} go together: set both or neither`);
  }
  const hostedZoneId = text(CONTEXT_KEYS.webhookHostedZoneId);
  const zoneName = text(CONTEXT_KEYS.webhookHostedZoneName);
  if (Boolean(hostedZoneId) !== Boolean(zoneName)) {
    throw new Error(`Context ${CONTEXT_KEYS.webhookHostedZoneId} and ${CONTEXT_KEYS.webhookHostedZoneName} go together: set both or neither`);
  }
  const environment = text(CONTEXT_KEYS.environment);
  return {
    stage: text(CONTEXT_KEYS.stage),
    environment: environment as ProducerSyncPipelineProps['environment'],
    syncConcurrency: integer(CONTEXT_KEYS.syncConcurrency),
    syncPagesConcurrency: integer(CONTEXT_KEYS.syncPagesConcurrency),
    dispatcherConcurrency: integer(CONTEXT_KEYS.dispatcherConcurrency),
    webhookRateLimit: integer(CONTEXT_KEYS.webhookRateLimit),
    webhookBurstLimit: integer(CONTEXT_KEYS.webhookBurstLimit),
    dlqMaxReceiveCount: integer(CONTEXT_KEYS.dlqMaxReceiveCount),
    exampleConsumer: flag(node, CONTEXT_KEYS.exampleConsumer),
    apiRequestsPerMinute: integer(CONTEXT_KEYS.apiRequestsPerMinute),
    tokenRequestsPerMinute: integer(CONTEXT_KEYS.tokenRequestsPerMinute),
    pageSize: integer(CONTEXT_KEYS.pageSize),
    alarmEmail: text(CONTEXT_KEYS.alarmEmail),
    syncEndpoints: text(CONTEXT_KEYS.syncEndpoints)?.split(','),
    reconcileSchedule: text(CONTEXT_KEYS.reconcileSchedule),
    catchUpAfterHours: integer(CONTEXT_KEYS.catchUpAfterHours),
    freshnessAlarmHours: integer(CONTEXT_KEYS.freshnessAlarmHours),
    legacyTypeIndex: flag(node, CONTEXT_KEYS.legacyTypeIndex),
    webhookDomain:
      domainName && certificateArn
        ? { domainName, certificateArn, ...(hostedZoneId && zoneName ? { hostedZone: { hostedZoneId, zoneName } } : {}) }
        : undefined,
  };
}

/**
 * The teams' change feeds the app adds (ProducerSyncPipeline.addChangeFeed), from context: an object of
 * team name → options, given in cdk.json or as JSON text with `-c producersync:changeFeeds='{"claims":{...}}'`.
 */
export function changeFeedsFromContext(node: Node): Record<string, TeamFeedOptions> {
  const key = CONTEXT_KEYS.changeFeeds;
  let raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new Error(`Context ${key} must be JSON (an object of team name to feed options): ${(error as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`Context ${key} must be an object of team name to feed options, e.g. {"claims":{"recordTypes":["licenses"],"states":["TX"]}}`);
  }
  const known = new Set(['recordTypes', 'states', 'npns', 'maxReceiveCount']);
  const feeds: Record<string, TeamFeedOptions> = {};
  for (const [team, options] of Object.entries(raw)) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new Error(`Context ${key}: the options of ${team} must be an object`);
    const unknown = Object.keys(options).filter((name) => !known.has(name));
    if (unknown.length > 0) throw new Error(`Context ${key}: ${team} has unknown options ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
    for (const list of ['recordTypes', 'states', 'npns'] as const) {
      const values = (options as Record<string, unknown>)[list];
      if (values !== undefined && (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))) throw new Error(`Context ${key}: ${team}.${list} must be a list of strings`);
    }
    const receives = (options as Record<string, unknown>).maxReceiveCount;
    if (receives !== undefined && (typeof receives !== 'number' || !Number.isInteger(receives) || receives < 1)) throw new Error(`Context ${key}: ${team}.maxReceiveCount must be a positive integer`);
    feeds[team] = options as TeamFeedOptions;
  }
  return feeds;
}

function readSyncEndpoints(raw: readonly string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const names = raw.map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isEndpointName(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`syncEndpoints (${CONTEXT_KEYS.syncEndpoints}) must list endpoints of ${ENDPOINT_NAMES.join(', ')}; unknown: ${unknown.join(', ') || '(empty list)'}`);
  }
  return names.join(',');
}

function readEnvironment(value: string | undefined): AgentSyncEnvironment {
  if (value === undefined || value === '') return 'sandbox';
  if (Object.hasOwn(AGENTSYNC_HOSTS, value)) return value as AgentSyncEnvironment;
  const allowed = Object.keys(AGENTSYNC_HOSTS).join(' | ');
  throw new Error(`environment (${CONTEXT_KEYS.environment}) must be one of ${allowed}, got ${JSON.stringify(value)}`);
}

/** EventBridge schedule expressions: `rate(...)` or `cron(...)` with six fields. */
function readSchedule(expression: string): string {
  if (/^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/.test(expression) || /^cron\(\S+( \S+){5}\)$/.test(expression)) return expression;
  throw new Error(`reconcileSchedule (${CONTEXT_KEYS.reconcileSchedule}) must be an EventBridge rate(...) or cron(...) expression with 6 fields, got ${JSON.stringify(expression)}`);
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

// `-c key=value` on the command line always yields strings, cdk.json yields JSON types: accept both.
function optionalInteger(node: Node, key: string): number | undefined {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`Context ${key} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function flag(node: Node, key: string): boolean {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '' || raw === false || raw === 'false') return false;
  if (raw === true || raw === 'true') return true;
  throw new Error(`Context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

function optionalString(node: Node, key: string): string | undefined {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw new Error(`Context ${key} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
}
