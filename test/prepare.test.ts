import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { lambdaContext } from '#local/lambda-context';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { emptyCounts } from '#sync/checkpoint';
import { FIRST_PAGE_URL_BYTES, npnsPerSlice } from '#sync/partition';
import { createPrepareHandler, handler as prepare } from '#sync/prepare';
import { createDynamoRunStore } from '#sync/run-record';
import { createDynamoSliceStore } from '#sync/slice-store';
import { createDynamoRunLeases } from '#sync/run-lease';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
import { createControlTable, createDataTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let controlTable: string;

beforeAll(async () => {
  controlTable = await createControlTable(admin);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const runRecord = async (runId: string) => {
  const item = await admin.send(new GetItemCommand({ TableName: controlTable, Key: { pk: { S: `RUN#${runId}` }, sk: { S: 'RUN' } }, ConsistentRead: true }));
  return item.Item ? unmarshall(item.Item) : undefined;
};

describe('prepare', () => {
  it('writes the RUNNING run record once and fans out one item per endpoint', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    const event = { input: { runDate: '2025-07-24' }, executionName: 'exec-prepare-1', startTime: '2025-07-24T23:00:00.000Z' };
    const result = await prepare(event);
    expect(result).toEqual({
      runId: 'exec-prepare-1',
      mode: 'incremental',
      updatedSince: '2025-07-24',
      npns: null,
      endpoints: DEFAULT_SYNC_ENDPOINTS.map((endpoint) => ({ runId: 'exec-prepare-1', endpoint, mode: 'incremental', updatedSince: '2025-07-24', npns: null })),
    });
    expect(await runRecord('exec-prepare-1')).toEqual({
      pk: 'RUN#exec-prepare-1',
      sk: 'RUN',
      kind: 'run',
      runId: 'exec-prepare-1',
      mode: 'incremental',
      runDate: '2025-07-24',
      status: 'RUNNING',
      startedAt: '2025-07-24T23:00:00.000Z',
      // An operator's {"runDate"}: exactly that date, and the watermark stays.
      updatedSince: '2025-07-24',
      advance: 'none',
    });
    // A retried Prepare keeps the first startedAt.
    await prepare({ ...event, startTime: '2025-07-24T23:05:00.000Z' });
    expect((await runRecord('exec-prepare-1'))?.startedAt).toBe('2025-07-24T23:00:00.000Z');
    // The run is listed by the byKind index.
    const listed = await admin.send(
      new QueryCommand({ TableName: controlTable, IndexName: 'byKind', KeyConditionExpression: 'kind = :k', ExpressionAttributeValues: { ':k': { S: 'run' } } }),
    );
    expect(listed.Items?.map((i) => i.runId?.S)).toContain('exec-prepare-1');
  });

  it('uses SYNC_ENDPOINTS and rejects bad input without writing a run record', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    vi.stubEnv('SYNC_ENDPOINTS', 'licenses, licenseLoas');
    const result = await prepare({ input: { mode: 'backfill', npns: ['15645555'] }, executionName: 'exec-prepare-2' });
    expect(result.endpoints.map((e) => e.endpoint)).toEqual(['licenses', 'licenseLoas']);
    expect(result.endpoints[0]).toEqual({ runId: 'exec-prepare-2', endpoint: 'licenses', mode: 'backfill', updatedSince: null, npns: ['15645555'] });

    await expect(prepare({ input: { runDate: 'tomorrow' }, executionName: 'exec-prepare-3' })).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(await runRecord('exec-prepare-3')).toBeUndefined();

    vi.stubEnv('SYNC_ENDPOINTS', 'licenses,exams');
    await expect(prepare({ input: { mode: 'backfill' }, executionName: 'exec-prepare-4' })).rejects.toThrow(/unknown endpoint\(s\): exams/);
  });

  it('logs the Lambda context and the run id on every line', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    const lines = await captureLogLines(() => prepare({ input: { mode: 'backfill' }, executionName: 'exec-prepare-ctx' }, lambdaContext('producersync-prepare')));
    expectLambdaContextOnEveryLine(lines, 'producersync-prepare');
    expect(lines.map((l) => l.correlation_id)).toEqual(lines.map(() => 'exec-prepare-ctx'));
  });
});

describe('prepare against the watermark', () => {
  const NOW = Date.parse('2025-07-30T23:00:00.000Z');
  const prepareAt = createPrepareHandler({ now: () => NOW });
  let table: string;
  const watermarks = () => createDynamoWatermarkStore({ client: admin, tableName: table });
  const leases = () => createDynamoRunLeases({ client: admin, tableName: table });
  const recordOf = async (runId: string) => {
    const item = await admin.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `RUN#${runId}` }, sk: { S: 'RUN' } }, ConsistentRead: true }));
    return item.Item ? unmarshall(item.Item) : undefined;
  };

  beforeAll(async () => {
    table = await createControlTable(admin);
  });

  it('turns the first incremental of a fresh deployment into the initial load, and skips a second one while it runs', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', table);
    const first = await prepareAt({ input: { mode: 'incremental', runDate: '2025-07-30' }, executionName: 'run-2025-07-30-e1' });
    expect(first).toMatchObject({ mode: 'backfill', updatedSince: null, npns: null });
    expect(first.skipped).toBeUndefined();
    expect(first.endpoints.every((e) => e.mode === 'backfill' && e.updatedSince === null)).toBe(true);
    expect(await recordOf('run-2025-07-30-e1')).toMatchObject({ status: 'RUNNING', mode: 'backfill', runDate: '2025-07-30', initialLoad: true, advance: 'newestRead' });
    expect((await watermarks().load()).initialLoad).toEqual({ runId: 'run-2025-07-30-e1', startedAt: new Date(NOW).toISOString() });
    expect(await leases().active(NOW)).toEqual(['run-2025-07-30-e1']);

    // The hourly check (a catch-up) while the initial load runs: recorded as skipped, nothing to sync, no lease.
    const second = await prepareAt({ input: { mode: 'catchUp' }, executionName: 'catch-up-2025-07-30T23' });
    expect(second).toEqual({ runId: 'catch-up-2025-07-30T23', mode: 'backfill', updatedSince: null, npns: null, endpoints: [], skipped: 'another initial load (run-2025-07-30-e1) is in flight' });
    expect(await recordOf('catch-up-2025-07-30T23')).toMatchObject({ status: 'SKIPPED', skipped: 'another initial load (run-2025-07-30-e1) is in flight' });
    expect(await leases().active(NOW)).toEqual(['run-2025-07-30-e1']);
    // Prepare of the initial load retried: it is still its own initial load.
    expect((await prepareAt({ input: { mode: 'incremental', runDate: '2025-07-30' }, executionName: 'run-2025-07-30-e1' })).skipped).toBeUndefined();
  });

  it('reads an incremental from the watermark and a catch-up from min(watermark, today − 1)', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', table);
    await watermarks().advance('2025-07-27', { runId: 'earlier', at: new Date(NOW).toISOString() });
    const incremental = await prepareAt({ input: { mode: 'incremental', runDate: '2025-07-30' }, executionName: 'run-inc' });
    expect(incremental).toMatchObject({ mode: 'incremental', updatedSince: '2025-07-27' });
    expect(incremental.endpoints[0]).toEqual({ runId: 'run-inc', endpoint: DEFAULT_SYNC_ENDPOINTS[0], mode: 'incremental', updatedSince: '2025-07-27', npns: null });
    expect(await recordOf('run-inc')).toMatchObject({ mode: 'incremental', runDate: '2025-07-30', updatedSince: '2025-07-27', advance: 'runDate' });
    expect(await prepareAt({ input: { mode: 'catchUp' }, executionName: 'catch-up-1' })).toMatchObject({ mode: 'catchUp', updatedSince: '2025-07-27' });
  });

  it('fans a reconcile out over every endpoint and the NPN status target, with the pass start, and takes no lease', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', table);
    const result = await prepareAt({ input: { mode: 'reconcile' }, executionName: 'reconcile-2025-07-30' });
    const passStartedAt = new Date(NOW).toISOString();
    expect(result.endpoints.map((e) => e.endpoint)).toEqual([...DEFAULT_SYNC_ENDPOINTS, 'npnStatus']);
    expect(result.endpoints.every((e) => e.mode === 'reconcile' && e.passStartedAt === passStartedAt && e.updatedSince === null)).toBe(true);
    expect(await leases().active(NOW)).not.toContain('reconcile-2025-07-30');
  });
});

describe('prepare plans partitions for a full pull (docs/SYNC.md "Partitions")', () => {
  const NOW = Date.parse('2025-08-01T06:00:00.000Z');
  const prepareAt = createPrepareHandler({ now: () => NOW });
  // 1,300 NPNs: slices of at most 620 (npnsPerSlice), so at least 3 per sliced endpoint.
  const npns = Array.from({ length: 1_300 }, (_, i) => String(20_000_000 + i));
  // A previous full run at real volume: appointments' and licenses' one loop outlast the run at 300 requests a minute.
  const RECORDS = { licenses: 6_000_000, appointments: 12_500_000, addresses: 2_000_000, contactInfos: 1_000_000, otherNames: 500_000, entities: 500_000, regulatoryActions: 50_000 };

  async function tablesWithNpns(): Promise<{ data: string; control: string }> {
    const [data, control] = await Promise.all([createDataTable(admin), createControlTable(admin)]);
    const at = new Date(NOW).toISOString();
    await createDynamoNpnStatusStore({ client: admin, tableName: data }).writeAll(npns.map((npn) => ({ npn, status: 'ACTIVE', eventId: `e-${npn}`, eventTimestamp: at })));
    return { data, control };
  }

  async function previousFullRun(control: string, runId: string, mode: 'backfill' | 'reconcile', status: 'SUCCEEDED' | 'FAILED', startedAt: string, scale = 1): Promise<void> {
    const runs = createDynamoRunStore({ client: admin, tableName: control });
    await runs.start({ runId, mode, startedAt });
    const endpoints = Object.fromEntries(Object.entries(RECORDS).map(([endpoint, records]) => [endpoint, { ...emptyCounts(), recordsSeen: records * scale }]));
    await runs.finish(runId, { status, finishedAt: startedAt, durationMs: 1, endpoints, totals: emptyCounts(), failedEndpoints: [] });
  }

  const stubTables = ({ data, control }: { data: string; control: string }) => {
    vi.stubEnv('CONTROL_TABLE_NAME', control);
    vi.stubEnv('DATA_TABLE_NAME', data);
    vi.stubEnv('PAGE_SIZE', '1000');
    vi.stubEnv('API_REQUESTS_PER_MINUTE', '300');
  };

  it('sizes the slices by the previous complete full run, stores them and emits one small item per stream', async () => {
    const tables = await tablesWithNpns();
    stubTables(tables);
    // The newest complete full run counts (a later failed one and a backfill of listed NPNs do not).
    await previousFullRun(tables.control, 'full-1', 'backfill', 'SUCCEEDED', '2025-07-01T00:00:00.000Z', 0.001);
    await previousFullRun(tables.control, 'full-2', 'reconcile', 'SUCCEEDED', '2025-07-20T00:00:00.000Z');
    await previousFullRun(tables.control, 'full-3', 'backfill', 'FAILED', '2025-07-25T00:00:00.000Z', 0.001);

    const result = await prepareAt({ input: { mode: 'backfill' }, executionName: 'run-sliced' });
    const streams = (endpoint: string) => result.endpoints.filter((e) => e.endpoint === endpoint);
    expect(streams('appointments')).toEqual([0, 1, 2].map((stream) => ({ runId: 'run-sliced', endpoint: 'appointments', mode: 'backfill', updatedSince: null, npns: null, stream, streams: 3, slices: 3 })));
    expect(streams('licenses').map(({ stream, streams: s, slices }) => [stream, s, slices])).toEqual([
      [0, 2, 3],
      [1, 2, 3],
    ]);
    // The rest page as one pass each.
    expect(result.endpoints.filter((e) => e.stream === undefined).map((e) => e.endpoint)).toEqual(DEFAULT_SYNC_ENDPOINTS.filter((e) => e !== 'licenses' && e !== 'appointments'));
    // Every NPN in exactly one stored slice, each slice within the URL bound.
    const slices = createDynamoSliceStore({ client: admin, tableName: tables.control });
    for (const endpoint of ['appointments', 'licenses'] as const) {
      const stored = await Promise.all([0, 1, 2].map((index) => slices.load('run-sliced', endpoint, index)));
      expect(stored.flat()).toEqual(npns);
      expect(stored.every((slice) => slice.length <= npnsPerSlice(FIRST_PAGE_URL_BYTES))).toBe(true);
    }
    await expect(slices.load('run-sliced', 'licenses', 3)).rejects.toThrow(/slice 3 of licenses in run run-sliced is missing/);

    // Prepare again under the same name (a rerun) after 700 more NPNs arrived: the first plan and its slices stand,
    // so the streams' checkpoints still point at the slices they page. A new run slices the longer list.
    const more = Array.from({ length: 700 }, (_, i) => String(30_000_000 + i));
    const at = new Date(NOW).toISOString();
    await createDynamoNpnStatusStore({ client: admin, tableName: tables.data }).writeAll(more.map((npn) => ({ npn, status: 'ACTIVE', eventId: `e-${npn}`, eventTimestamp: at })));
    expect(await prepareAt({ input: { mode: 'backfill' }, executionName: 'run-sliced' })).toEqual(result);
    expect((await slices.load('run-sliced', 'appointments', 2)).at(-1)).toBe(npns.at(-1));
    const next = await prepareAt({ input: { mode: 'backfill' }, executionName: 'run-sliced-2' });
    expect(next.endpoints.find((e) => e.endpoint === 'appointments')?.slices).toBe(4);
  });

  it('partitions nothing without a previous complete full run, without NPN status items, for a backfill of listed NPNs, or for a tail of seconds', async () => {
    const tables = await tablesWithNpns();
    stubTables(tables);
    const onePerEndpoint = (result: { endpoints: { stream?: number }[] }) => expect(result.endpoints.map((e) => e.stream)).toEqual(DEFAULT_SYNC_ENDPOINTS.map(() => undefined));
    onePerEndpoint(await prepareAt({ input: { mode: 'backfill' }, executionName: 'no-previous' }));
    // The simulator's scale: the rule would slice, but the slices would save seconds, not minutes.
    await previousFullRun(tables.control, 'small', 'backfill', 'SUCCEEDED', '2025-07-01T00:00:00.000Z', 0.0001);
    onePerEndpoint(await prepareAt({ input: { mode: 'backfill' }, executionName: 'small-previous' }));
    await previousFullRun(tables.control, 'big', 'backfill', 'SUCCEEDED', '2025-07-02T00:00:00.000Z');
    onePerEndpoint(await prepareAt({ input: { mode: 'backfill', npns: npns.slice(0, 3) }, executionName: 'listed' }));
    // PARTITION_FORCE needs NPNs to slice too.
    const empty = { data: await createDataTable(admin), control: tables.control };
    stubTables(empty);
    vi.stubEnv('PARTITION_FORCE', 'licenses:2:4');
    onePerEndpoint(await prepareAt({ input: { mode: 'backfill' }, executionName: 'no-npns' }));
    vi.stubEnv('PARTITION_FORCE', 'licenses:3:2');
    await expect(prepareAt({ input: { mode: 'backfill' }, executionName: 'bad-force' })).rejects.toThrow(/PARTITION_FORCE must be endpoint:streams:slices/);
  });
});
