import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { lambdaContext } from '#local/lambda-context';
import { createPrepareHandler, handler as prepare } from '#sync/prepare';
import { createDynamoRunLeases } from '#sync/run-lease';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
import { createControlTable } from './sync-fixtures.ts';

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
