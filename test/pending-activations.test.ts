import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoPendingActivationStore, PENDING_ACTIVATION_KIND, type PendingActivationStore, type PendingGroup } from '#dispatcher/pending-activations';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});

const group = (id: string, overrides: Partial<PendingGroup> = {}): PendingGroup => ({
  id,
  npns: ['100', '200', '300'],
  attempts: 1,
  firstSeenAt: '2025-07-24T10:00:00.000Z',
  nextAttemptAt: '2025-07-25T06:00:00.000Z',
  executionArn: `arn:aws:states:us-east-1:0:execution:sync:${id}`,
  expiresAt: 1_754_000_000,
  ...overrides,
});

const dueIds = async (store: PendingActivationStore, now: string, pageSize?: number) => {
  const pages: string[][] = [];
  for await (const page of store.due(now, pageSize)) pages.push(page.map((g) => g.id));
  return pages;
};

describe('pending activation store', () => {
  let tableName: string;
  let store: PendingActivationStore;
  beforeAll(async () => {
    tableName = await createControlTable(admin);
    store = createDynamoPendingActivationStore({ client: admin, tableName });
  });

  it('keeps one item per backfill with its NPNs as a set, on the byKind index at its next attempt, written once', async () => {
    await store.put(group('activation-2025-07-24-a'));
    const stored = await admin.send(new GetItemCommand({ TableName: tableName, Key: marshall({ pk: 'ACTIVATION#activation-2025-07-24-a', sk: 'PENDING' }) }));
    const { id: _id, npns: _npns, ...attributes } = group('activation-2025-07-24-a');
    expect(unmarshall(stored.Item!)).toEqual({
      ...attributes,
      npns: new Set(['100', '200', '300']),
      pk: 'ACTIVATION#activation-2025-07-24-a',
      sk: 'PENDING',
      kind: PENDING_ACTIVATION_KIND,
      startedAt: '2025-07-25T06:00:00.000Z',
    });
    // A repeated delivery keeps what a Finalize already took out.
    await store.resolve('activation-2025-07-24-a', ['200']);
    await store.put(group('activation-2025-07-24-a'));
    expect(await store.get('activation-2025-07-24-a')).toEqual(group('activation-2025-07-24-a', { npns: ['100', '300'] }));
    await expect(store.put(group('empty', { npns: [] }))).rejects.toThrow(/no NPNs/);
  });

  it('lists only the due groups, oldest due first, in pages, projected to what the retry decides on', async () => {
    await store.put(group('b', { nextAttemptAt: '2025-07-26T01:00:00.000Z' }));
    await store.put(group('c', { nextAttemptAt: '2025-07-25T07:00:00.000Z', executionArn: undefined }));
    expect(await dueIds(store, '2025-07-25T06:30:00.000Z')).toEqual([['activation-2025-07-24-a']]);
    expect(await dueIds(store, '2025-07-26T02:00:00.000Z', 2)).toEqual([['activation-2025-07-24-a', 'c'], ['b']]);
    const { value: firstPage } = await store.due('2025-07-26T02:00:00.000Z').next();
    const { npns: _npns, expiresAt: _expiresAt, ...decidedOn } = group('activation-2025-07-24-a');
    expect(firstPage?.[0]).toEqual(decidedOn);
  });

  it('takes resolved NPNs out (an emptied group has none left), forgets a group, and ignores a missing one', async () => {
    await store.resolve('c', ['100', '200', '300', '999']);
    expect((await store.get('c'))?.npns).toEqual([]);
    await store.forget('c');
    expect(await store.get('c')).toBeUndefined();
    await store.resolve('never-written', ['1']);
    expect(await store.get('never-written')).toBeUndefined();
  });

  it('reads an item written by 0.1 (one NPN per item) as a group of one', async () => {
    await admin.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({
          pk: 'ACTIVATION#4242',
          sk: 'PENDING',
          kind: PENDING_ACTIVATION_KIND,
          startedAt: '2025-07-20T10:00:00.000Z',
          npn: '4242',
          attempts: 2,
          firstSeenAt: '2025-07-20T10:00:00.000Z',
          nextAttemptAt: '2025-07-21T06:00:00.000Z',
          executionArn: 'arn:old',
          eventId: 'evt-old',
          expiresAt: 1_754_000_000,
        }),
      }),
    );
    expect((await dueIds(store, '2025-07-20T12:00:00.000Z'))[0]).toEqual(['4242']);
    expect(await store.get('4242')).toEqual({ id: '4242', npns: ['4242'], attempts: 2, firstSeenAt: '2025-07-20T10:00:00.000Z', nextAttemptAt: '2025-07-21T06:00:00.000Z', executionArn: 'arn:old', expiresAt: 1_754_000_000 });
  });
});
