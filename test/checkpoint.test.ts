import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { afterPage, CheckpointConflictError, createDynamoCheckpointStore, initialCheckpoint } from '#sync/checkpoint';
import { emptyOutcome } from '#sync/record-store';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let controlTable: string;

beforeAll(async () => {
  controlTable = await createControlTable(admin);
});

describe('checkpoint', () => {
  it('round-trips and refuses to move backwards', async () => {
    const store = createDynamoCheckpointStore({ client: admin, tableName: controlTable });
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
    const store = createDynamoCheckpointStore({ client: admin, tableName: controlTable });
    await store.recordError('run-cp2', 'entities', 'Error: first page failed');
    expect(await store.load('run-cp2', 'entities')).toEqual({ ...initialCheckpoint('run-cp2', 'entities'), lastError: 'Error: first page failed' });
    await store.save(afterPage(initialCheckpoint('run-cp2', 'entities'), 0, emptyOutcome(), null), 0);
    expect((await store.load('run-cp2', 'entities'))?.done).toBe(true);
  });
});
