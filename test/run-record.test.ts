import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyCounts } from '#sync/checkpoint';
import { createDynamoRunStore, runRecordOf, type RunFinish } from '#sync/run-record';
import { createControlTable, uniqueName } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
/** One control table for the file (each test uses its own run ids); the store sends nothing until used. */
const tableName = uniqueName('control');
const runs = createDynamoRunStore({ client: admin, tableName });

beforeAll(async () => {
  await createControlTable(admin, tableName);
});

const finish = (overrides: Partial<RunFinish> = {}): RunFinish => ({
  status: 'SUCCEEDED',
  finishedAt: '2025-07-24T23:10:00.000Z',
  durationMs: 600_000,
  endpoints: { licenses: { ...emptyCounts(), pages: 2, recordsSeen: 5, inserted: 5 } },
  totals: { ...emptyCounts(), pages: 2, recordsSeen: 5, inserted: 5 },
  failedEndpoints: [],
  ...overrides,
});

describe('run store', () => {
  it('starts a run once, finishes it (again after a resume), and loads it typed, without the table keys', async () => {
    await runs.start({ runId: 'run-a', mode: 'incremental', runDate: '2025-07-24', startedAt: '2025-07-24T23:00:00.000Z' });
    // A retried Prepare keeps the first start.
    await runs.start({ runId: 'run-a', mode: 'incremental', runDate: '2025-07-24', startedAt: '2025-07-24T23:05:00.000Z' });
    expect(await runs.load('run-a')).toEqual({ kind: 'run', runId: 'run-a', mode: 'incremental', runDate: '2025-07-24', status: 'RUNNING', startedAt: '2025-07-24T23:00:00.000Z' });

    await runs.finish('run-a', finish({ status: 'FAILED', failedEndpoints: [{ endpoint: 'licenses', error: 'Error: boom' }] }));
    await runs.finish('run-a', finish());
    const record = await runs.load('run-a');
    expect(record).toEqual({ kind: 'run', runId: 'run-a', mode: 'incremental', runDate: '2025-07-24', startedAt: '2025-07-24T23:00:00.000Z', ...finish() });
    expect(record?.totals?.inserted).toBe(5);
  });

  it('lists runs by the byKind index and has no record of a run never started', async () => {
    await runs.start({ runId: 'run-b', mode: 'backfill', npns: ['15645555'], startedAt: '2025-07-25T01:00:00.000Z' });
    const listed = await admin.send(new QueryCommand({ TableName: tableName, IndexName: 'byKind', KeyConditionExpression: 'kind = :k', ExpressionAttributeValues: { ':k': { S: 'run' } } }));
    expect(listed.Items?.map((item) => runRecordOf(unmarshall(item)).runId)).toContain('run-b');
    expect(await runs.load('never-started')).toBeUndefined();
  });

  it('records a finish without a start (RecordRun after a lost Prepare write) as a run', async () => {
    await runs.finish('run-c', finish());
    expect(await runs.load('run-c')).toMatchObject({ kind: 'run', runId: 'run-c', status: 'SUCCEEDED' });
    const stored = await admin.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'RUN#run-c' }, sk: { S: 'RUN' } } }));
    expect(stored.Item?.startedAt).toBeUndefined();
  });

  it('refuses an item that is not a run record', () => {
    expect(() => runRecordOf({ pk: 'EVENT#x', sk: 'EVENT', status: 'DONE' })).toThrow(/EVENT#x is not a run record/);
  });
});
