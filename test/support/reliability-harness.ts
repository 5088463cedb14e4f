/**
 * Wiring shared by the reliability tests: the real app's synthesized sync state machine and real
 * handlers, the simulator (with a distinctive client secret), fresh DynamoDB Local tables per
 * scenario, and checks of the data table, its stream and the run record against ground truth.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { expect } from 'vitest';
import { secretsClient } from '#commons/clients';
import { loadHandlers } from '#local/handlers';
import { loadStateMachine, type Asl, type LambdaHandler } from '#local/state-machine';
import { createProducerSyncClient, type ProducerSyncClientOptions } from '#producersync/client';
import type { ProducerSyncCredentials } from '#producersync/credentials';
import { DEFAULT_SYNC_ENDPOINTS, type EndpointName } from '#producersync/endpoints';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import type { EndpointCounts } from '#sync/checkpoint';
import type { SyncPagesEvent } from '#sync/events';
import { createDynamoRunStore, type RunFinish, type RunRecord as StoredRunRecord } from '#sync/run-record';
import { createSyncDeps, syncPages, type SyncPagesDeps } from '#sync/sync-pages';
import { compareWithTruth, readSyncedRecords, type Comparison } from '../../scripts/support/table-export.ts';
import { createControlTable, createDataTable, readStream } from '../sync-fixtures.ts';
import { provisionTestResources, useLocalAws, type LocalAws, type TestResources } from './local-aws.ts';
import { registerSecrets } from './reliability-ledger.ts';

export const SYNC_ENDPOINTS: readonly EndpointName[] = DEFAULT_SYNC_ENDPOINTS;

export interface Tables {
  data: string;
  control: string;
}

/** One endpoint's counts (or the totals) in a run record. */
export type Counts = EndpointCounts;
/** A run record as the checks read it: the run store's type with the fields RecordRun writes. */
export type RunRecord = StoredRunRecord & RunFinish;

/**
 * Time as the rate budget and the retry backoff see it. Sleeps and the state machine's Wait
 * states move it forward instead of passing, so a 45 s Retry-After costs no wall time.
 */
export class SimulatedClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  readonly sleep = async (ms: number): Promise<void> => {
    this.offsetMs += ms;
  };
}

export interface SyncHarnessOptions {
  prefix: string;
  sim?: SimulatorOptions;
  pageSize?: number;
}

export interface SyncPagesOptions {
  /** Per-request client timeout (default 30 s, as deployed). */
  timeoutMs?: number;
  /** DynamoDB client for the record store and checkpoints (e.g. one with a fault-injecting middleware). */
  dynamo?: DynamoDBClient;
  /** Lets a test wrap the deps (crash injection) before each invocation uses them. */
  wrap?: (deps: SyncPagesDeps) => SyncPagesDeps;
  client?: Partial<ProducerSyncClientOptions>;
}

export interface SyncHarness {
  local: LocalAws;
  resources: TestResources;
  sim: Simulator;
  asl: Asl;
  credentials: ProducerSyncCredentials;
  clock: SimulatedClock;
  pageSize: number;
  admin: DynamoDBClient;
  /** New data and control tables; points the Prepare/Finalize handlers (CONTROL_TABLE_NAME) at them. */
  freshTables(): Promise<Tables>;
  /**
   * The sync-pages engine of lambdas/sync/sync-pages.ts with deps built like the handler's, but a
   * simulated clock for backoff and rate budget, and handing `waitSeconds` to that clock as the
   * state machine's Wait state would.
   */
  syncPagesHandler(tables: Tables, options?: SyncPagesOptions): LambdaHandler;
  /** Prepare, SyncPages and Finalize for runStateMachine/useSfnApi. */
  handlers(syncPagesHandler: LambdaHandler, finalizeHandler?: LambdaHandler): Record<string, LambdaHandler>;
  compare(tables: Tables, npns?: string[]): Promise<Comparison>;
  truthCount(npns?: string[]): number;
  runRecord(tables: Tables, runId: string): Promise<RunRecord>;
  quarantined(tables: Tables, runId: string): Promise<{ endpoint: string; reason: string }[]>;
  close(): Promise<void>;
}

/** A random secret; Svix signing secrets (`whsec_`) must be standard base64. */
export const newSecret = (prefix: string): string => `${prefix}${randomBytes(24).toString(prefix === 'whsec_' ? 'base64' : 'base64url')}`;

export async function startSyncHarness(options: SyncHarnessOptions): Promise<SyncHarness> {
  const local = await useLocalAws();
  const resources = await provisionTestResources(options.prefix);
  // Distinctive, so the suite's secret scan can look for it in every captured log line.
  const clientSecret = newSecret('cs_');
  registerSecrets('ProducerSync client secret', [clientSecret]);
  const sim = await startSimulator({ npns: 30, seed: 5, rateLimit: { apiPerMinute: 100_000, tokenPerMinute: 10_000 }, clientId: 'reliability', clientSecret, ...options.sim });
  const credentials: ProducerSyncCredentials = { clientId: 'reliability', clientSecret, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl };
  await secretsClient().send(new PutSecretValueCommand({ SecretId: resources.resources.ProducerSyncCredentials!.arn, SecretString: JSON.stringify(credentials) }));
  const pageSize = options.pageSize ?? 10;
  // The synthesized environments, with the API URLs pointed at the simulator as every local run does (CONTRACTS §1).
  Object.assign(process.env, resources.functionEnv.PrepareFunction, resources.functionEnv.SyncPagesFunction, resources.functionEnv.FinalizeFunction, {
    PRODUCERSYNC_API_BASE_URL: sim.apiBaseUrl,
    PRODUCERSYNC_TOKEN_URL: sim.tokenUrl,
    PAGE_SIZE: String(pageSize),
    API_REQUESTS_PER_MINUTE: '60000',
  });
  const asl = loadStateMachine(resources.stacks, 'SyncStateMachine', { physical: resources.physical });
  const realHandlers = await loadHandlers(['PrepareFunction', 'FinalizeFunction']);
  const admin = new DynamoDBClient({});
  const clock = new SimulatedClock();

  const truth = (npns?: string[]) => Object.fromEntries(SYNC_ENDPOINTS.map((endpoint) => [endpoint, sim.groundTruth(endpoint, npns ? { npns } : {})]));

  return {
    local,
    resources,
    sim,
    asl,
    credentials,
    clock,
    pageSize,
    admin,
    async freshTables() {
      const [data, control] = await Promise.all([createDataTable(admin), createControlTable(admin)]);
      process.env.DATA_TABLE_NAME = data;
      process.env.CONTROL_TABLE_NAME = control;
      return { data, control };
    },
    syncPagesHandler(tables, opts = {}) {
      const dynamo = opts.dynamo ?? admin;
      const deps = createSyncDeps({
        client: dynamo,
        dataTableName: tables.data,
        controlTableName: tables.control,
        source: createProducerSyncClient({
          credentials,
          rateBudget: createLocalRateBudget({ perMinute: 600_000, now: clock.now, sleep: clock.sleep }),
          maxInlineWaitSeconds: 20,
          retry: { baseDelayMs: 100, maxDelayMs: 2_000, sleep: clock.sleep },
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...opts.client,
        }),
        apiBaseUrl: sim.apiBaseUrl,
        pageSize,
        timeBudgetMs: 600_000,
      });
      return async (event) => {
        const result = await syncPages(event as SyncPagesEvent, opts.wrap ? opts.wrap(deps) : deps);
        // The Wait state that follows (0 ms locally) stands for this much time passing.
        if (result.waitSeconds > 0) clock.offsetMs += result.waitSeconds * 1000;
        return result;
      };
    },
    handlers(syncPagesHandler, finalizeHandler) {
      return { ...realHandlers, SyncPagesFunction: syncPagesHandler, ...(finalizeHandler ? { FinalizeFunction: finalizeHandler } : {}) };
    },
    async compare(tables, npns) {
      return compareWithTruth(await readSyncedRecords(admin, tables.data), truth(npns));
    },
    truthCount(npns) {
      return Object.values(truth(npns)).reduce((n, records) => n + records.length, 0);
    },
    async runRecord(tables, runId) {
      const record = await createDynamoRunStore({ client: admin, tableName: tables.control }).load(runId);
      if (!record) throw new Error(`no run record RUN#${runId}`);
      // Read as finished: the checks that follow fail on a record RecordRun has not written.
      return record as RunRecord;
    },
    async quarantined(tables, runId) {
      const out = await admin.send(
        new QueryCommand({
          TableName: tables.control,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :q)',
          ExpressionAttributeValues: { ':pk': { S: `RUN#${runId}` }, ':q': { S: 'QUARANTINE#' } },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map((i) => ({ endpoint: i.endpoint?.S ?? '', reason: i.reason?.S ?? '' }));
    },
    async close() {
      await sim.close();
      await local.cleanup();
    },
  };
}

export const mismatchCount = (c: Comparison): number => c.missing.length + c.extra.length + c.mismatched.length;

/** The table holds exactly the ground truth: nothing missing, nothing extra, nothing stale. */
export function expectExactMatch(c: Comparison, expectedCompared: number): void {
  expect({ missing: c.missing.slice(0, 10), extra: c.extra.slice(0, 10), mismatched: c.mismatched.slice(0, 10) }).toEqual({ missing: [], extra: [], mismatched: [] });
  expect(c.compared).toBe(expectedCompared);
  expect(c.compared).toBeGreaterThan(0);
}

/**
 * The run record agrees with the ground truth: it succeeded, every endpoint saw each of its records
 * (plus the quarantined ones) and classified each exactly once.
 */
export function expectRunRecordAgrees(record: RunRecord, sim: Simulator, opts: { quarantined?: Partial<Record<EndpointName, number>>; npns?: string[] } = {}): void {
  expect(record).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [] });
  for (const endpoint of SYNC_ENDPOINTS) {
    const counts = record.endpoints[endpoint]!;
    const truth = sim.groundTruth(endpoint, opts.npns ? { npns: opts.npns } : {}).length;
    const quarantined = opts.quarantined?.[endpoint] ?? 0;
    expect({ endpoint, recordsSeen: counts.recordsSeen, quarantined: counts.quarantined, stale: counts.stale }).toEqual({
      endpoint,
      recordsSeen: truth + quarantined,
      quarantined,
      stale: 0,
    });
    expect(counts.inserted + counts.modified + counts.deleted + counts.unchanged + counts.stale + counts.quarantined, endpoint).toBe(counts.recordsSeen);
  }
  for (const name of Object.keys(record.totals) as (keyof Counts)[]) {
    expect(record.totals[name], name).toBe(SYNC_ENDPOINTS.reduce((n, e) => n + (record.endpoints[e]?.[name] ?? 0), 0));
  }
}

/**
 * The change stream of a table that started empty: one INSERT per ground-truth record, each key once,
 * nothing modified or removed. Returns the number of stream records.
 */
export async function expectCleanInsertStream(admin: DynamoDBClient, tables: Tables, expectedKeys: number): Promise<number> {
  const stream = await readStream(admin, tables.data);
  const keys = stream.map((r) => `${r.dynamodb?.Keys?.pk?.S}/${r.dynamodb?.Keys?.sk?.S}`);
  expect(stream.filter((r) => r.eventName !== 'INSERT').map((r) => `${r.eventName} ${r.dynamodb?.Keys?.sk?.S}`)).toEqual([]);
  expect(new Set(keys).size).toBe(keys.length);
  expect(stream.length).toBe(expectedKeys);
  return stream.length;
}

/** Page requests the simulator answered for an endpoint, by status (0 = dropped connection). */
export function statusesOf(sim: Simulator, endpoint?: EndpointName): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of sim.requests) {
    if (r.kind !== 'api' || (endpoint && r.path !== `/v2/${endpoint}`)) continue;
    out[r.status] = (out[r.status] ?? 0) + 1;
  }
  return out;
}
