import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { chunked } from '#commons/chunked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsClient } from '#commons/clients';
import { DEFAULT_SYNC_ENDPOINTS, type EndpointName } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { loadHandlers, type HandlerMap } from '#local/handlers';
import { loadStateMachine, runStateMachine, type Asl, type LambdaHandler } from '#local/state-machine';
import { contentHash } from '#sync/content-hash';
import { handler as finalize } from '#sync/finalize';
import { handler as syncPagesHandler } from '#sync/sync-pages';
import { provisionTestResources, useLocalAws, type LocalAws, type TestResources } from './support/local-aws.ts';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { createControlTable, readStream, scanAll, streamSummary } from './sync-fixtures.ts';

const PAGE_SIZE = 25;

let local: LocalAws;
let resources: TestResources;
let sim: Simulator;
let asl: Asl;
let dataTable: string;
let controlTable: string;
const dynamo = () => new DynamoDBClient({});

beforeAll(async () => {
  local = await useLocalAws();
  resources = await provisionTestResources('syncsm');
  sim = await startSimulator({ npns: 30, seed: 11, rateLimit: { apiPerMinute: 100_000 } });
  dataTable = resources.resources.DataTable!.name;
  controlTable = resources.resources.ControlTable!.name;
  await secretsClient().send(
    new PutSecretValueCommand({
      SecretId: resources.resources.ProducerSyncCredentials!.arn,
      SecretString: JSON.stringify({ clientId: 'local', clientSecret: 'local' }),
    }),
  );
  // The deployed functions' environment, as synthesized, with the API URLs pointed at the simulator as every
  // local run does; one page per invocation so the Choice loop must go round once per page (an early exit
  // would leave pages unsynced and show in the counts).
  Object.assign(process.env, resources.functionEnv.SyncPagesFunction, resources.functionEnv.PrepareFunction, {
    PRODUCERSYNC_API_BASE_URL: sim.apiBaseUrl,
    PRODUCERSYNC_TOKEN_URL: sim.tokenUrl,
    PAGE_SIZE: String(PAGE_SIZE),
    SYNC_TIME_BUDGET_MS: '1',
    API_REQUESTS_PER_MINUTE: '6000',
  });
  asl = loadStateMachine(resources.stacks, 'SyncStateMachine', { physical: resources.physical });
  realHandlers = await loadHandlers(['PrepareFunction', 'SyncPagesFunction', 'FinalizeFunction']);
});
afterAll(async () => {
  await sim?.close();
  await local?.cleanup();
});

/** The real sync handlers through the harness's one function map, optionally with a wrapped SyncPages. */
let realHandlers: HandlerMap;
const handlers = (syncPages?: LambdaHandler): HandlerMap => ({ ...realHandlers, ...(syncPages ? { SyncPagesFunction: syncPages } : {}) });

type Counts = Record<'pages' | 'recordsSeen' | 'inserted' | 'modified' | 'unchanged' | 'deleted' | 'stale' | 'quarantined' | 'throttled', number>;
interface RunItem {
  status: string;
  mode: string;
  runDate?: string;
  npns?: string[];
  startedAt: string;
  durationMs: number;
  endpoints: Record<string, Counts>;
  totals: Counts;
  failedEndpoints: unknown[];
}

async function runRecord(runId: string): Promise<RunItem> {
  const item = await dynamo().send(new GetItemCommand({ TableName: controlTable, Key: { pk: { S: `RUN#${runId}` }, sk: { S: 'RUN' } }, ConsistentRead: true }));
  return unmarshall(item.Item!) as RunItem;
}

async function expectTableEqualsTruth(table = dataTable): Promise<void> {
  const items = await scanAll(dynamo(), table);
  for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
    const stored = new Map(items.filter((i) => i.recordType === endpoint).map((i) => [i.id, i]));
    const truth = sim.groundTruth(endpoint);
    expect(stored.size, endpoint).toBe(truth.length);
    for (const record of truth) {
      expect(stored.get(record.id)?.record, `${endpoint} ${record.id as number}`).toEqual(record);
      expect(stored.get(record.id)?.contentHash).toBe(contentHash(record));
    }
  }
}

/** A backfill into an empty table: every record seen and written once, every page fetched committed. */
function expectCountsOfAFirstLoad(record: RunItem): void {
  for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
    const truth = sim.groundTruth(endpoint).length;
    const counts = record.endpoints[endpoint]!;
    expect(counts.recordsSeen, endpoint).toBe(truth);
    expect(counts.inserted + counts.deleted, endpoint).toBe(truth);
    expect(counts.pages, endpoint).toBe(pagePaths(endpoint).length);
  }
}

const pagePaths = (endpoint: EndpointName) => sim.requests.filter((r) => r.kind === 'api' && r.path === `/v2/${endpoint}`);

describe('the synthesized sync state machine with the real handlers', () => {
  it('backfills every endpoint to the ground truth, one SyncPages iteration per page, then a second run writes nothing', async () => {
    sim.clearRequests();
    const run = await runStateMachine(asl, { mode: 'backfill' }, { handlers: handlers(), executionName: 'sm-backfill-1' });
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect((run.output as { run: unknown }).run).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
    await expectTableEqualsTruth();

    const record = await runRecord('sm-backfill-1');
    expect(record).toMatchObject({ status: 'SUCCEEDED', mode: 'backfill', failedEndpoints: [] });
    expectCountsOfAFirstLoad(record);
    let expectedPages = 0;
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
      const truth = sim.groundTruth(endpoint).length;
      const counts = record.endpoints[endpoint]!;
      // There were at least as many pages as the data needs.
      expect(counts.pages, endpoint).toBeGreaterThanOrEqual(Math.ceil(truth / PAGE_SIZE));
      expectedPages += counts.pages;
    }
    expect(record.totals.pages).toBe(expectedPages);
    expect(expectedPages).toBeGreaterThan(DEFAULT_SYNC_ENDPOINTS.length * 2);
    // SYNC_TIME_BUDGET_MS=1: one invocation per page, so the loop went round exactly that often.
    expect(run.invocations).toEqual({ PrepareFunction: 1, SyncPagesFunction: expectedPages, FinalizeFunction: 1 });
    expect(record.durationMs).toBeGreaterThanOrEqual(0);

    const streamAfterFirst = (await readStream(dynamo(), dataTable)).length;
    const again = await runStateMachine(asl, { mode: 'backfill' }, { handlers: handlers(), executionName: 'sm-backfill-2' });
    expect(again.status, again.cause).toBe('SUCCEEDED');
    const second = await runRecord('sm-backfill-2');
    expect(second.totals).toMatchObject({ inserted: 0, modified: 0, deleted: 0, stale: 0, unchanged: second.totals.recordsSeen, pages: expectedPages });
    expect(await readStream(dynamo(), dataTable)).toHaveLength(streamAfterFirst);
  });

  it('syncs a day incrementally: the stream carries exactly the changed records', async () => {
    const before = new Map<string, string>();
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) for (const r of sim.groundTruth(endpoint)) before.set(`NPN#${r.npn as string}/${endpoint}#${r.id as number}`, contentHash(r));
    const streamBefore = (await readStream(dynamo(), dataTable)).length;
    const day = await sim.advanceDay();
    const expected: string[] = [];
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
      for (const r of sim.groundTruth(endpoint)) {
        const key = `NPN#${r.npn as string}/${endpoint}#${r.id as number}`;
        if (!before.has(key)) expected.push(`INSERT ${key}`);
        else if (before.get(key) !== contentHash(r)) expected.push(`MODIFY ${key}`);
      }
    }

    const run = await runStateMachine(asl, { runDate: day.runDate }, { handlers: handlers(), executionName: `sm-day-${day.runDate}` });
    expect(run.status, run.cause).toBe('SUCCEEDED');
    const stream = (await readStream(dynamo(), dataTable)).slice(streamBefore);
    expect(streamSummary(stream)).toEqual(expected.sort());
    await expectTableEqualsTruth();
    const record = await runRecord(`sm-day-${day.runDate}`);
    expect(record).toMatchObject({ status: 'SUCCEEDED', mode: 'incremental', runDate: day.runDate });
    expect(record.totals.inserted + record.totals.modified + record.totals.deleted).toBe(expected.length);
  });

  it('reconciles: the drift an incremental cannot see is written, NPN statuses come from the subscription list, corrections are counted, the watermark moves to the newest date read', async () => {
    const license = sim.groundTruth('licenses')[0]!;
    const noBump = sim.changeWithoutBump('licenses', [license.id as number]);
    expect(noBump).toEqual([{ endpoint: 'licenses', id: license.id }]);
    const streamBefore = (await readStream(dynamo(), dataTable)).length;
    const run = await runStateMachine(asl, { mode: 'reconcile' }, { handlers: handlers(), executionName: 'sm-reconcile' });
    expect(run.status, run.cause).toBe('SUCCEEDED');
    await expectTableEqualsTruth();

    const record = (await runRecord('sm-reconcile')) as RunItem & { totals: Counts & { corrected: number }; watermark: unknown; endpoints: Record<string, Counts & { corrected: number }> };
    const subscribed = sim.subscribedNpns().length;
    expect(record).toMatchObject({ status: 'SUCCEEDED', mode: 'reconcile', failedEndpoints: [] });
    expect(Object.keys(record.endpoints).sort()).toEqual([...DEFAULT_SYNC_ENDPOINTS, 'npnStatus'].sort());
    expect(record.endpoints.licenses).toMatchObject({ modified: 1, inserted: 0, deleted: 0, marked: 0, corrected: 1 });
    expect(record.endpoints.npnStatus).toMatchObject({ recordsSeen: subscribed, inserted: subscribed, corrected: subscribed });
    expect(record.totals.corrected).toBe(1 + subscribed);
    expect(record.watermark).toEqual({ target: sim.today, advanced: true, value: sim.today });
    // The stream: the one no-bump change and one status item per subscribed NPN, nothing else.
    const stream = (await readStream(dynamo(), dataTable)).slice(streamBefore);
    expect(streamSummary(stream)).toEqual(
      [`MODIFY NPN#${license.npn as string}/licenses#${license.id as number}`, ...sim.subscribedNpns().map((npn) => `INSERT NPN#${npn}/STATUS`)].sort(),
    );
  });

  it('ends a run Prepare skipped (another initial load in flight) at once, recorded as SKIPPED', async () => {
    const fresh = await createControlTable(dynamo());
    const previous = process.env.CONTROL_TABLE_NAME;
    process.env.CONTROL_TABLE_NAME = fresh;
    try {
      await createDynamoWatermarkStore({ client: dynamo(), tableName: fresh }).claimInitialLoad({ runId: 'initial-1', startedAt: new Date().toISOString() }, Date.now());
      const run = await runStateMachine(asl, { mode: 'catchUp' }, { handlers: handlers(), executionName: 'sm-skipped' });
      expect(run.status, run.cause).toBe('SUCCEEDED');
      expect(run.output).toMatchObject({ skipped: 'another initial load (initial-1) is in flight', endpoints: [] });
      expect(run.invocations).toEqual({ PrepareFunction: 1 });
    } finally {
      process.env.CONTROL_TABLE_NAME = previous;
    }
  });

  it('resumes an endpoint that failed past its retries in ResumeFailed and records the run as succeeded', async () => {
    let failuresLeft = 4; // the first attempt and the task's 3 retries
    const flaky: LambdaHandler = async (event, context) => {
      if ((event as { endpoint?: string }).endpoint === 'otherNames' && failuresLeft-- > 0) throw new Error('injected outage');
      return syncPagesHandler(event as never, context);
    };
    const recorded: RunItem[] = [];
    const recordingFinalize: LambdaHandler = async (event, context) => {
      const result = await (finalize as LambdaHandler)(event, context);
      recorded.push(await runRecord('sm-resume'));
      return result;
    };
    const run = await runStateMachine(
      asl,
      { mode: 'backfill', npns: sim.subscribedNpns().slice(0, 5) },
      { handlers: { ...handlers(flaky), FinalizeFunction: recordingFinalize }, executionName: 'sm-resume' },
    );
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.invocations.FinalizeFunction).toBe(2);
    // The first RecordRun saw the caught failure; the second, after ResumeFailed, a clean run.
    expect(recorded[0]).toMatchObject({ status: 'FAILED', failedEndpoints: [{ endpoint: 'otherNames', error: 'Error: injected outage' }] });
    expect(recorded[1]).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [] });
    expect((run.output as { run: unknown }).run).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
    const record = await runRecord('sm-resume');
    expect(record).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [], npns: sim.subscribedNpns().slice(0, 5) });
    const truth = sim.groundTruth('otherNames', { npns: sim.subscribedNpns().slice(0, 5) }).length;
    expect(record.endpoints.otherNames?.recordsSeen).toBe(truth);
  });

  it('after failing in ResumeFailed, a rerun under the same name (a redrive) only finishes what is left', async () => {
    const total = sim.groundTruth('addresses').length;
    expect(total).toBeGreaterThan(PAGE_SIZE); // more than one page, so there is something left to resume
    let addressCalls = 0;
    const brokenAfterOnePage: LambdaHandler = async (event, context) => {
      if ((event as { endpoint?: string }).endpoint === 'addresses' && ++addressCalls > 1) throw new Error('injected outage');
      return syncPagesHandler(event as never, context);
    };
    const failed = await runStateMachine(asl, { mode: 'backfill' }, { handlers: handlers(brokenAfterOnePage), executionName: 'sm-redrive' });
    expect(failed.status).toBe('FAILED');
    const afterFailure = await runRecord('sm-redrive');
    expect(afterFailure).toMatchObject({ status: 'FAILED', failedEndpoints: [{ endpoint: 'addresses', error: 'Error: injected outage' }] });
    expect(afterFailure.endpoints.addresses?.pages).toBe(1);

    sim.clearRequests();
    const redriven = await runStateMachine(asl, { mode: 'backfill' }, { handlers: handlers(), executionName: 'sm-redrive' });
    expect(redriven.status, redriven.cause).toBe('SUCCEEDED');
    const record = await runRecord('sm-redrive');
    expect(record).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [], startedAt: afterFailure.startedAt });
    expect(record.endpoints.addresses?.recordsSeen).toBe(total);
    // Finished endpoints answered `done` without a request; only the rest of addresses was fetched.
    const fetchedPaths = new Set(sim.requests.filter((r) => r.kind === 'api').map((r) => r.path));
    expect([...fetchedPaths]).toEqual(['/v2/addresses']);
    const remainingPages = record.endpoints.addresses!.pages - 1;
    expect(pagePaths('addresses')).toHaveLength(remainingPages);
    expect(redriven.invocations.SyncPagesFunction).toBe(DEFAULT_SYNC_ENDPOINTS.length - 1 + remainingPages);
  });

  it('partitions a forced full pull: licenses and appointments in streams over NPN slices give the table of an unpartitioned backfill, every NPN in exactly one slice', async () => {
    // An empty data table (the deployed SyncPages keeps the tables it was built with), so the partitioned
    // backfill writes everything itself; the NPN status items are the slices' NPNs.
    const data = dataTable;
    for (const chunk of chunked(await scanAll(dynamo(), data), 25)) {
      await dynamo().send(
        new BatchWriteItemCommand({ RequestItems: { [data]: chunk.map((i) => ({ DeleteRequest: { Key: marshall({ pk: i.pk, sk: i.sk }) } })) } }),
      );
    }
    expect(await scanAll(dynamo(), data)).toEqual([]);
    const npns = sim.subscribedNpns();
    const at = new Date().toISOString();
    await createDynamoNpnStatusStore({ client: dynamo(), tableName: data }).writeAll(npns.map((npn) => ({ npn, status: 'ACTIVE', eventId: `evt-${npn}`, eventTimestamp: at })));
    const previous = { PARTITION_FORCE: process.env.PARTITION_FORCE };
    Object.assign(process.env, { PARTITION_FORCE: 'licenses:2:5,appointments:3:7' });
    try {
      sim.clearRequests();
      const run = await runStateMachine(asl, { mode: 'backfill' }, { handlers: handlers(), executionName: 'sm-partitioned' });
      expect(run.status, run.cause).toBe('SUCCEEDED');
      expect((run.output as { run: unknown }).run).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
      // The Map ran one item per stream, each without an NPN list (the slices are in the control table).
      const items = (run.output as { endpoints: Record<string, unknown>[] }).endpoints;
      const streamsOf = (endpoint: string) => items.filter((i) => i.endpoint === endpoint).map(({ stream, streams, slices, npns: listed }) => ({ stream, streams, slices, listed }));
      expect(streamsOf('licenses')).toEqual([0, 1].map((stream) => ({ stream, streams: 2, slices: 5, listed: null })));
      expect(streamsOf('appointments')).toEqual([0, 1, 2].map((stream) => ({ stream, streams: 3, slices: 7, listed: null })));
      expect(items.filter((i) => i.stream === undefined)).toHaveLength(DEFAULT_SYNC_ENDPOINTS.length - 2);

      await expectTableEqualsTruth(data);
      const record = (await runRecord('sm-partitioned')) as RunItem & { watermark: unknown };
      expect(record).toMatchObject({ status: 'SUCCEEDED', mode: 'backfill', failedEndpoints: [] });
      expect(record.watermark).toMatchObject({ target: sim.today, value: sim.today });
      // A partitioned endpoint's counts are its streams' summed: the same identity as one pass's.
      expectCountsOfAFirstLoad(record);
      for (const [endpoint, slices] of [['licenses', 5], ['appointments', 7]] as const) {
        const requests = pagePaths(endpoint);
        const firstPages = requests.filter((r) => r.query.continuationToken === undefined);
        // The npns filters cover every NPN exactly once.
        const listed = firstPages.map((r) => r.query.npns!.split(','));
        expect(listed, endpoint).toHaveLength(slices);
        expect(listed.flat().sort(), endpoint).toEqual([...npns].sort());
        // Each slice is a pass of ceil(records ÷ size) pages and its own empty end-of-data page: the extra
        // requests over one pass are the slices' end pages and their partial last pages.
        const perSlice = listed.map((slice) => Math.ceil(sim.groundTruth(endpoint, { npns: slice }).length / PAGE_SIZE) + 1);
        expect(requests, endpoint).toHaveLength(perSlice.reduce((a, b) => a + b, 0));
        expect(requests.filter((r) => r.records === 0), endpoint).toHaveLength(slices);
        expect(requests.every((r) => r.query.npns !== undefined), endpoint).toBe(true);
      }
      // The unpartitioned endpoints paged as one pass each, unfiltered.
      expect(pagePaths('addresses').every((r) => r.query.npns === undefined)).toBe(true);
    } finally {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('resumes only the failed stream of a partitioned endpoint, and moves the watermark only once every stream finished', async () => {
    const previous = process.env.PARTITION_FORCE;
    process.env.PARTITION_FORCE = 'licenses:2:4';
    let failuresLeft = 4; // the first attempt and the task's 3 retries
    let resuming = false;
    const resumedItems: string[] = [];
    const flaky: LambdaHandler = async (event, context) => {
      const item = event as { endpoint?: string; stream?: number };
      if (resuming) resumedItems.push(`${item.endpoint}#${item.stream ?? '-'}`);
      if (item.endpoint === 'licenses' && item.stream === 1 && failuresLeft-- > 0) throw new Error('injected outage');
      return syncPagesHandler(event as never, context);
    };
    const recorded: (RunItem & { watermark?: unknown })[] = [];
    const recordingFinalize: LambdaHandler = async (event, context) => {
      const result = await (finalize as LambdaHandler)(event, context);
      recorded.push(await runRecord('sm-partitioned-resume'));
      resuming = true;
      return result;
    };
    try {
      const run = await runStateMachine(asl, { mode: 'backfill' }, { handlers: { ...handlers(flaky), FinalizeFunction: recordingFinalize }, executionName: 'sm-partitioned-resume' });
      expect(run.status, run.cause).toBe('SUCCEEDED');
      expect(recorded[0]).toMatchObject({ status: 'FAILED', failedEndpoints: [{ endpoint: 'licenses', stream: 1, error: 'Error: injected outage' }] });
      expect(recorded[0]?.watermark).toBeUndefined();
      expect(recorded[1]).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [], watermark: { target: sim.today } });
      // ResumeFailed ran the failed stream alone: stream 0 and the other endpoints were not invoked again.
      expect(new Set(resumedItems)).toEqual(new Set(['licenses#1']));
      expect(recorded[1]?.endpoints.licenses?.recordsSeen).toBe(sim.groundTruth('licenses').length);
      await expectTableEqualsTruth();
    } finally {
      if (previous === undefined) delete process.env.PARTITION_FORCE;
      else process.env.PARTITION_FORCE = previous;
    }
  });

  it('fails the execution with InvalidInput for a bad input, without a run record', async () => {
    const run = await runStateMachine(asl, { runDate: '2025-13-01' }, { handlers: handlers(), executionName: 'sm-invalid' });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInput');
    expect(run.cause).toMatch(/calendar date/);
    expect(run.invocations).toEqual({ PrepareFunction: 1 });
  });
});
