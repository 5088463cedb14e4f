import type { Node } from 'constructs';
import { AGENTSYNC_HOSTS, API_LIMITS, ENDPOINT_NAMES, isEndpointName, type AgentSyncEnvironment } from '../lambdas/producersync/endpoints.ts';

/** Every CDK context key this app reads (set in cdk.json or with `-c key=value`). */
export const CONTEXT_KEYS = {
  environment: 'producersync:environment',
  syncConcurrency: 'producersync:syncConcurrency',
  webhookRateLimit: 'producersync:webhookRateLimit',
  webhookBurstLimit: 'producersync:webhookBurstLimit',
  dlqMaxReceiveCount: 'producersync:dlqMaxReceiveCount',
  exampleConsumer: 'producersync:exampleConsumer',
  apiRequestsPerMinute: 'producersync:apiRequestsPerMinute',
  tokenRequestsPerMinute: 'producersync:tokenRequestsPerMinute',
  pageSize: 'producersync:pageSize',
  alarmEmail: 'producersync:alarmEmail',
  syncEndpoints: 'producersync:syncEndpoints',
} as const;

/** The deployment settings, read once from context and validated, shared by every stack. */
export interface ProducerSyncConfig {
  readonly environment: AgentSyncEnvironment;
  readonly hosts: { readonly tokenUrl: string; readonly apiBaseUrl: string };
  /** Map MaxConcurrency of the sync state machine (default 4). */
  readonly syncConcurrency: number;
  /** HTTP API stage steady-state requests per second (default 50). */
  readonly webhookRateLimit: number;
  /** HTTP API stage burst (default 100). */
  readonly webhookBurstLimit: number;
  /** Receives before a queue message moves to the dead-letter queue (default 5). */
  readonly dlqMaxReceiveCount: number;
  /** Deploy the example stream consumer (default false). */
  readonly exampleConsumer: boolean;
  readonly apiRequestsPerMinute: number;
  readonly tokenRequestsPerMinute: number;
  readonly pageSize: number;
  /** Optional e-mail address subscribed to the alarm topic. */
  readonly alarmEmail: string | undefined;
  /** Endpoints a run syncs (comma list, SYNC_ENDPOINTS of prepare); undefined = the default catalogue. */
  readonly syncEndpoints: string | undefined;
}

export function readConfig(node: Node): ProducerSyncConfig {
  const environment = readEnvironment(node.tryGetContext(CONTEXT_KEYS.environment));
  return {
    environment,
    hosts: AGENTSYNC_HOSTS[environment],
    syncConcurrency: positiveInteger(node, CONTEXT_KEYS.syncConcurrency, 4),
    webhookRateLimit: positiveInteger(node, CONTEXT_KEYS.webhookRateLimit, 50),
    webhookBurstLimit: positiveInteger(node, CONTEXT_KEYS.webhookBurstLimit, 100),
    dlqMaxReceiveCount: positiveInteger(node, CONTEXT_KEYS.dlqMaxReceiveCount, 5),
    exampleConsumer: flag(node, CONTEXT_KEYS.exampleConsumer),
    apiRequestsPerMinute: positiveInteger(node, CONTEXT_KEYS.apiRequestsPerMinute, API_LIMITS.apiRequestsPerMinute),
    tokenRequestsPerMinute: positiveInteger(node, CONTEXT_KEYS.tokenRequestsPerMinute, API_LIMITS.tokenRequestsPerMinute),
    pageSize: positiveInteger(node, CONTEXT_KEYS.pageSize, API_LIMITS.maxPageSize),
    alarmEmail: optionalString(node, CONTEXT_KEYS.alarmEmail),
    syncEndpoints: readSyncEndpoints(optionalString(node, CONTEXT_KEYS.syncEndpoints)),
  };
}

function readSyncEndpoints(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isEndpointName(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`Context ${CONTEXT_KEYS.syncEndpoints} must list endpoints of ${ENDPOINT_NAMES.join(', ')}; unknown: ${unknown.join(', ') || '(empty list)'}`);
  }
  return names.join(',');
}

function readEnvironment(value: unknown): AgentSyncEnvironment {
  if (value === undefined || value === null || value === '') return 'sandbox';
  if (typeof value === 'string' && Object.hasOwn(AGENTSYNC_HOSTS, value)) return value as AgentSyncEnvironment;
  const allowed = Object.keys(AGENTSYNC_HOSTS).join(' | ');
  throw new Error(`Context ${CONTEXT_KEYS.environment} must be one of ${allowed}, got ${JSON.stringify(value)}`);
}

// `-c key=value` on the command line always yields strings, cdk.json yields JSON types: accept both.
function positiveInteger(node: Node, key: string, fallback: number): number {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
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
