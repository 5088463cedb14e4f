import { dynamoClient } from '#commons/clients';
import { DEFAULT_SYNC_ENDPOINTS, ENDPOINTS, type EndpointName } from '#producersync/endpoints';
import type { RequestLogEntry } from '#sim/server';
import { createDynamoRunStore } from '#sync/run-record';
import type { Population } from './population.ts';
import type { ExecutionOptions, ExecutionStats } from './sync-process.ts';
import type { EndpointCounts } from '#sync/checkpoint';

/** The simulator's view of a run: what actually reached the API. */
export interface ApiTraffic {
  /** Page requests per endpoint (every status). */
  pages: Record<EndpointName, number>;
  apiRequests: number;
  tokenRequests: number;
  /** 429 answers the simulator gave (API and token endpoint). */
  throttled: number;
  log: RequestLogEntry[];
}

/** The run record's totals: the engine's own per-endpoint counts, summed. */
export type RunTotals = EndpointCounts;

export interface SyncRun {
  executionName: string;
  execution: ExecutionStats;
  api: ApiTraffic;
  /** The run record's totals (RecordRun), as the product reports them; none for an aborted execution. */
  totals: RunTotals | undefined;
  /** Records the simulator holds per endpoint for this run's query (its ground truth). */
  truth: Record<EndpointName, number>;
}

const endpointOfPath = new Map<string, EndpointName>(DEFAULT_SYNC_ENDPOINTS.map((e) => [ENDPOINTS[e].path, e]));

/** The endpoint a request log path belongs to (undefined: token, subscriptions, by-id paths). */
export const endpointOf = (path: string): EndpointName | undefined => endpointOfPath.get(path);

export function apiTraffic(log: readonly RequestLogEntry[]): ApiTraffic {
  const pages = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((e) => [e, 0])) as Record<EndpointName, number>;
  let apiRequests = 0;
  let tokenRequests = 0;
  let throttled = 0;
  for (const entry of log) {
    if (entry.status === 429) throttled++;
    if (entry.kind === 'token') {
      tokenRequests++;
      continue;
    }
    apiRequests++;
    const endpoint = endpointOf(entry.path);
    if (endpoint) pages[endpoint]++;
  }
  return { pages, apiRequests, tokenRequests, throttled, log: [...log] };
}

/**
 * One execution of the synthesized state machine in the population's sync process, with the
 * simulator's request log for exactly that execution and the run record it wrote.
 */
export async function runSync(
  population: Population,
  executionName: string,
  input: { mode: 'backfill' | 'reconcile' } | { runDate: string },
  options: ExecutionOptions = {},
): Promise<SyncRun> {
  const { sim } = population;
  const updatedSince = 'runDate' in input ? input.runDate : undefined;
  const truth = Object.fromEntries(
    DEFAULT_SYNC_ENDPOINTS.map((e) => [e, sim.groundTruth(e, updatedSince ? { updatedSince } : {}).length]),
  ) as Record<EndpointName, number>;
  sim.clearRequests();
  const execution = await population.sync.execution(executionName, input, options);
  const api = apiTraffic(sim.requests);
  sim.clearRequests();
  const stoppedOnPurpose = execution.status === 'ABORTED' && options.abortAfterMs !== undefined;
  if (execution.status !== 'SUCCEEDED' && !stoppedOnPurpose) throw new Error(`execution ${executionName} ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`);
  const record = await createDynamoRunStore({ client: dynamoClient(), tableName: population.controlTable }).load(executionName);
  return { executionName, execution, api, totals: record?.totals as RunTotals | undefined, truth };
}

export const sum = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);
