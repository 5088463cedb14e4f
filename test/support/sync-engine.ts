/**
 * The sync engine against the simulator, for tests that drive `syncPages` directly: its dependencies as
 * the handler builds them (createSyncDeps, the real client, the subscription list) on a movable clock,
 * and the endpoint loop the state machine runs (SyncPages → Choice → Wait? → SyncPages).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createProducerSyncClient } from '#producersync/client';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { subscriptionPage } from '#producersync/subscriptions';
import type { Simulator } from '#sim/server';
import type { SyncPagesEvent, SyncPagesResult } from '#sync/events';
import { createSyncDeps, syncPages, type SyncPagesDeps } from '#sync/sync-pages';
import { createControlTable, createDataTable } from '../sync-fixtures.ts';

/** A data and a control table. */
export interface EngineTables {
  data: string;
  control: string;
}

/** Fresh tables with the app's key schema. */
export async function freshEngineTables(client = new DynamoDBClient({})): Promise<EngineTables> {
  const [data, control] = await Promise.all([createDataTable(client), createControlTable(client)]);
  return { data, control };
}

/** A clock the test moves: the state machine's Wait states are simulated by moving it, so nothing sleeps. */
export interface TestClock {
  offsetMs: number;
  now(): number;
}

export const testClock = (): TestClock => {
  const clock: TestClock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  return clock;
};

/** The engine's dependencies on `tables` against `sim`, as the handler builds them; `overrides` replace any. */
export function engineDeps(sim: Simulator, tables: EngineTables, clock: TestClock, overrides: Partial<SyncPagesDeps> & { dynamo?: DynamoDBClient; pageSize?: number } = {}): SyncPagesDeps {
  const { dynamo = new DynamoDBClient({}), pageSize = 20, ...rest } = overrides;
  const client = createProducerSyncClient({
    credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
    rateBudget: createLocalRateBudget({ perMinute: 600_000, now: () => clock.now() }),
    maxInlineWaitSeconds: 20,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  const built = createSyncDeps({
    client: dynamo,
    dataTableName: tables.data,
    controlTableName: tables.control,
    source: client,
    subscriptions: (url) => subscriptionPage(client, url),
    apiBaseUrl: sim.apiBaseUrl,
    pageSize,
    timeBudgetMs: 600_000,
    now: () => clock.now(),
  });
  return { ...built, ...rest };
}

/** Drives one endpoint the way the state machine's loop does, moving the clock through each Wait. */
export async function runEndpointLoop(event: SyncPagesEvent, deps: SyncPagesDeps, clock: TestClock, maxInvocations = 500): Promise<{ invocations: SyncPagesResult[]; pages: number }> {
  const invocations: SyncPagesResult[] = [];
  for (let i = 0; i < maxInvocations; i++) {
    const result = await syncPages(event, deps);
    invocations.push(result);
    if (result.done) return { invocations, pages: invocations.reduce((n, r) => n + r.pages, 0) };
    clock.offsetMs += result.waitSeconds * 1000;
  }
  throw new Error(`endpoint loop did not finish in ${maxInvocations} invocations`);
}

/** A reconcile's Map item for `endpoint`, its pass started at `passStartedAt`. */
export const reconcileEvent = (runId: string, endpoint: SyncPagesEvent['endpoint'], passStartedAt: string): SyncPagesEvent => ({
  runId,
  endpoint,
  mode: 'reconcile',
  updatedSince: null,
  npns: null,
  passStartedAt,
});
