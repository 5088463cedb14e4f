import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { afterPage, CheckpointConflictError, createCheckpointStore, initialCheckpoint } from '#sync/checkpoint';
import { handler as finalize } from '#sync/finalize';
import { handler as prepare } from '#sync/prepare';
import { emptyOutcome } from '#sync/record-store';
import { parseSyncInput } from '#sync/sync-input';
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

describe('sync input', () => {
  const now = new Date('2025-07-24T22:00:00Z');

  it('accepts a runDate up to tomorrow and a backfill with or without NPNs', () => {
    expect(parseSyncInput({ runDate: '2025-07-24' }, now)).toEqual({ mode: 'incremental', runDate: '2025-07-24', updatedSince: '2025-07-24', npns: null });
    expect(parseSyncInput({ runDate: '2025-07-25' }, now).updatedSince).toBe('2025-07-25');
    expect(parseSyncInput({ mode: 'backfill' }, now)).toEqual({ mode: 'backfill', updatedSince: null, npns: null });
    expect(parseSyncInput({ mode: 'backfill', npns: ['15645555', '19855109', '15645555'] }, now).npns).toEqual(['15645555', '19855109']);
  });

  it.each([
    [{ runDate: '2025-07-26' }, /in the future/],
    [{ runDate: '2025-02-29' }, /calendar date/],
    [{ runDate: '24-07-2025' }, /calendar date/],
    [{ runDate: 20250724 }, /calendar date/],
    [{ runDate: '2025-07-24', mode: 'backfill' }, /unexpected field/],
    [{ mode: 'backfill', npns: [] }, /non-empty array/],
    [{ mode: 'backfill', npns: ['12a'] }, /digits only/],
    [{ mode: 'backfill', npns: Array.from({ length: 501 }, (_, i) => String(i)) }, /at most 500/],
    [{ mode: 'incremental' }, /input must be/],
    [{}, /input must be/],
    [null, /input must be/],
    [['2025-07-24'], /input must be/],
  ])('rejects %j with InvalidInput', (input, message) => {
    const attempt = () => parseSyncInput(input, now);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as Error).name).toBe('InvalidInput');
    }
  });
});

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
});

describe('checkpoint', () => {
  it('round-trips and refuses to move backwards', async () => {
    const store = createCheckpointStore({ client: admin, tableName: controlTable });
    expect(await store.load('run-cp', 'licenses')).toBeUndefined();
    const start = initialCheckpoint('run-cp', 'licenses');
    const page1 = afterPage(start, 3, { ...emptyOutcome(), inserted: 2, quarantined: 1 }, 'https://api/next?continuationToken=5');
    await store.save(page1, 0);
    expect(await store.load('run-cp', 'licenses')).toEqual(page1);

    // A duplicate invocation still at page 0 cannot overwrite page 1.
    const duplicate = afterPage(start, 3, { ...emptyOutcome(), unchanged: 3 }, 'https://api/next?continuationToken=5');
    await expect(store.save(duplicate, 0)).rejects.toBeInstanceOf(CheckpointConflictError);

    await store.recordError('run-cp', 'licenses', 'Error: boom');
    expect(await store.load('run-cp', 'licenses')).toEqual({ ...page1, lastError: 'Error: boom' });
    const page2 = afterPage({ ...page1, lastError: 'Error: boom' }, 1, { ...emptyOutcome(), modified: 1 }, null);
    await store.save(page2, 1);
    expect(await store.load('run-cp', 'licenses')).toEqual({ ...page1, nextUrl: null, done: true, pages: 2, recordsSeen: 4, modified: 1 });
  });

  it('accepts the first save after only an error was noted', async () => {
    const store = createCheckpointStore({ client: admin, tableName: controlTable });
    await store.recordError('run-cp2', 'entities', 'Error: first page failed');
    expect(await store.load('run-cp2', 'entities')).toEqual({ ...initialCheckpoint('run-cp2', 'entities'), lastError: 'Error: first page failed' });
    await store.save(afterPage(initialCheckpoint('run-cp2', 'entities'), 0, emptyOutcome(), null), 0);
    expect((await store.load('run-cp2', 'entities'))?.done).toBe(true);
  });
});

describe('finalize', () => {
  it('records counts per endpoint and totals, and returns the unfinished endpoints to resume', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    vi.stubEnv('SYNC_ENDPOINTS', 'entities,licenses,licenseLoas');
    const prepared = await prepare({ input: { runDate: '2025-07-24' }, executionName: 'exec-fin-1', startTime: new Date(Date.now() - 5_000).toISOString() });
    const store = createCheckpointStore({ client: admin, tableName: controlTable });
    const entities = afterPage(initialCheckpoint('exec-fin-1', 'entities'), 10, { ...emptyOutcome(), inserted: 7, unchanged: 2, quarantined: 1 }, null);
    await store.save({ ...entities, throttled: 2 }, 0);
    const licenses = afterPage(initialCheckpoint('exec-fin-1', 'licenses'), 5, { ...emptyOutcome(), modified: 5 }, 'https://api/next?continuationToken=9');
    await store.save(licenses, 0);
    await store.save({ ...initialCheckpoint('exec-fin-1', 'licenseLoas'), done: true, unsupported: true }, 0);

    const results = [
      { ...prepared.endpoints[0], done: true, waitSeconds: 0, pages: 1 },
      {
        endpoint: 'licenses',
        failed: true,
        error: { Error: 'UpstreamError', Cause: JSON.stringify({ errorType: 'UpstreamError', errorMessage: '502 from /v2/licenses', trace: ['at x'] }) },
      },
      { ...prepared.endpoints[2], done: true, waitSeconds: 0, pages: 0 },
    ];
    const outcome = await finalize({ ...prepared, results });
    expect(outcome).toEqual({ status: 'FAILED', failedEndpoints: [prepared.endpoints[1]] });

    const run = await runRecord('exec-fin-1');
    expect(run).toMatchObject({
      status: 'FAILED',
      mode: 'incremental',
      runDate: '2025-07-24',
      failedEndpoints: [{ endpoint: 'licenses', error: 'UpstreamError: 502 from /v2/licenses' }],
      totals: { pages: 2, recordsSeen: 15, inserted: 7, modified: 5, unchanged: 2, deleted: 0, stale: 0, quarantined: 1, throttled: 2 },
    });
    expect(run?.endpoints).toEqual({
      entities: { pages: 1, recordsSeen: 10, inserted: 7, modified: 0, unchanged: 2, deleted: 0, stale: 0, quarantined: 1, throttled: 2 },
      licenses: { pages: 1, recordsSeen: 5, inserted: 0, modified: 5, unchanged: 0, deleted: 0, stale: 0, quarantined: 0, throttled: 0 },
      licenseLoas: { pages: 0, recordsSeen: 0, inserted: 0, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 0, throttled: 0, unsupported: true },
    });
    expect(run?.durationMs).toBeGreaterThanOrEqual(5_000);

    // ResumeFailed finished licenses: the second RecordRun flips the run to SUCCEEDED.
    await store.save(afterPage(licenses, 2, { ...emptyOutcome(), inserted: 2 }, null), 1);
    const resumed = await finalize({ ...prepared, results: [{ ...prepared.endpoints[1], done: true, waitSeconds: 0, pages: 1 }] });
    expect(resumed).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
    expect(await runRecord('exec-fin-1')).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [], totals: { pages: 3, inserted: 9 }, startedAt: prepared && expect.any(String) });
  });
});
