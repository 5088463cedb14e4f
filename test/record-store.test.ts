import { DynamoDBClient, GetItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { typeShardOf } from '#sync/change-index';
import { batchWriteBaseline, createDynamoRecordStore } from '#sync/dynamo-record-store';
import { createDynamoQuarantine } from '#sync/quarantine';
import type { DataItem } from '#sync/record-store';
import { validateRecord } from '#sync/record-validation';
import { createControlTable, createDataTable, readStream, scanAll, streamSummary } from './sync-fixtures.ts';

type Intercept = (command: string, input: Record<string, unknown>) => Record<string, unknown> | undefined;

/**
 * A client that counts the commands it sends, and lets a test rewrite a command's output or
 * answer a command itself (`intercept`) without it reaching DynamoDB.
 */
function countingClient(rewrite?: (command: string, output: Record<string, unknown>) => void, intercept?: Intercept) {
  const client = new DynamoDBClient({});
  const sent: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '?';
      sent[name] = (sent[name] ?? 0) + 1;
      const answer = intercept?.(name, args.input as Record<string, unknown>);
      if (answer) return { output: { $metadata: {}, ...answer } as never, response: {} };
      const result = await next(args);
      rewrite?.(name, result.output as unknown as Record<string, unknown>);
      return result;
    },
    { step: 'initialize' },
  );
  return { client, sent };
}

const lic = (id: number, updatedAt: string, extra: Record<string, unknown> = {}) => ({
  id,
  npn: String(10000000 + (id % 3)),
  forState: 'CO',
  updatedAt,
  niprDeleted: false,
  ...extra,
});

let dataTable: string;
let controlTable: string;
/** The record store's clock (changedAt). */
let clockMs = Date.parse('2025-07-25T10:00:00.000Z');
const admin = new DynamoDBClient({});

async function freshStore(rewrite?: (command: string, output: Record<string, unknown>) => void) {
  const { client, sent } = countingClient(rewrite);
  dataTable = await createDataTable(admin);
  const store = createDynamoRecordStore({
    client,
    tableName: dataTable,
    quarantine: createDynamoQuarantine({ client, tableName: controlTable, runId: 'run-1' }),
    now: () => clockMs,
  });
  return { store, sent };
}

beforeAll(async () => {
  controlTable = await createControlTable(admin);
});

describe('DynamoRecordStore', () => {
  it('inserts, then writes nothing at all for an unchanged page', async () => {
    const { store, sent } = await freshStore();
    const page = [lic(1, '2024-01-01'), lic(2, '2024-01-02'), lic(3, '2024-01-03')];
    expect(await store.applyPage('licenses', page)).toEqual({ inserted: 3, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 0 });
    const items = await scanAll(admin, dataTable);
    expect(items).toHaveLength(3);
    const { changedAt, ...stored } = items.find((i) => i.sk === 'licenses#1')!;
    expect(stored).toEqual({ ...(validateRecord('licenses', page[0]) as { item: DataItem }).item });
    // changedAt: the time of the write, from the store's clock.
    expect(changedAt).toBe('2025-07-25T10:00:00.000Z');

    const putsBefore = sent.PutItemCommand ?? 0;
    const streamBefore = await readStream(admin, dataTable);
    // Same records, keys in another order: same content.
    const reordered = page.map((r) => Object.fromEntries(Object.entries(r).reverse()));
    expect(await store.applyPage('licenses', reordered)).toEqual({ inserted: 0, modified: 0, unchanged: 3, deleted: 0, stale: 0, quarantined: 0 });
    expect(sent.PutItemCommand ?? 0).toBe(putsBefore);
    expect(sent.BatchWriteItemCommand ?? 0).toBe(0);
    const streamAfter = await readStream(admin, dataTable);
    expect(streamAfter).toHaveLength(streamBefore.length);
    expect(streamSummary(streamAfter)).toEqual(['INSERT NPN#10000000/licenses#3', 'INSERT NPN#10000001/licenses#1', 'INSERT NPN#10000002/licenses#2']);
  });

  it('writes changed content and newer dates, never an older date', async () => {
    const { store } = await freshStore();
    await store.applyPage('licenses', [lic(1, '2024-01-01'), lic(2, '2024-01-01'), lic(3, '2024-03-01', { forState: 'AL' })]);
    const outcome = await store.applyPage('licenses', [
      lic(1, '2024-01-01', { forState: 'TX' }), // same date, different content
      lic(2, '2024-02-01'), // newer date
      lic(3, '2024-02-01', { forState: 'NV' }), // older than stored
    ]);
    expect(outcome).toEqual({ inserted: 0, modified: 2, unchanged: 0, deleted: 0, stale: 1, quarantined: 0 });
    const byId = new Map((await scanAll(admin, dataTable)).map((i) => [i.id, i]));
    expect((byId.get(1)?.record as { forState: string }).forState).toBe('TX');
    expect(byId.get(2)?.updatedAt).toBe('2024-02-01');
    expect(byId.get(3)).toMatchObject({ updatedAt: '2024-03-01', record: { forState: 'AL' } });
    expect(streamSummary(await readStream(admin, dataTable)).filter((s) => s.startsWith('MODIFY'))).toEqual([
      'MODIFY NPN#10000001/licenses#1',
      'MODIFY NPN#10000002/licenses#2',
    ]);
  });

  it('soft-deletes: keeps the item with deleted=true and counts it, also when first seen deleted', async () => {
    const { store } = await freshStore();
    await store.applyPage('licenses', [lic(1, '2024-01-01')]);
    const outcome = await store.applyPage('licenses', [lic(1, '2024-01-05', { niprDeleted: true }), lic(2, '2024-01-05', { niprDeleted: true })]);
    expect(outcome).toEqual({ inserted: 0, modified: 0, unchanged: 0, deleted: 2, stale: 0, quarantined: 0 });
    const items = await scanAll(admin, dataTable);
    expect(items.map((i) => [i.id, i.deleted, (i.record as { niprDeleted: boolean }).niprDeleted]).sort()).toEqual([
      [1, true, true],
      [2, true, true],
    ]);
    // Still deleted and changed again: an ordinary modification, not a second deletion.
    expect(await store.applyPage('licenses', [lic(1, '2024-01-06', { niprDeleted: true })])).toMatchObject({ modified: 1, deleted: 0 });
  });

  it('clears a reconcile mark when the source returns the record again, and indexes an item written before the change index, each once', async () => {
    const { store, sent } = await freshStore();
    await store.applyPage('licenses', [lic(1, '2024-01-01'), lic(2, '2024-01-01')]);
    const key = (id: number) => ({ pk: { S: `NPN#${10000000 + (id % 3)}` }, sk: { S: `licenses#${id}` } });
    // 1: marked missing by a reconcile; 2: as 0.1.0 wrote it (no typeShard, no changedAt).
    await admin.send(
      new UpdateItemCommand({
        TableName: dataTable,
        Key: key(1),
        UpdateExpression: 'SET missingFromSource = :m',
        ExpressionAttributeValues: { ':m': { M: { reason: { S: 'notReturnedBySource' }, since: { S: '2025-07-20T06:00:00.000Z' }, runId: { S: 'rec-1' } } } },
      }),
    );
    await admin.send(new UpdateItemCommand({ TableName: dataTable, Key: key(2), UpdateExpression: 'REMOVE typeShard, changedAt' }));
    const streamBefore = (await readStream(admin, dataTable)).length;
    clockMs += 86_400_000;

    expect(await store.applyPage('licenses', [lic(1, '2024-01-01'), lic(2, '2024-01-01')])).toEqual({ inserted: 0, modified: 2, unchanged: 0, deleted: 0, stale: 0, quarantined: 0 });
    const items = new Map((await scanAll(admin, dataTable)).map((i) => [i.id, i]));
    expect(items.get(1)?.missingFromSource).toBeUndefined();
    expect(items.get(1)?.changedAt).toBe('2025-07-26T10:00:00.000Z');
    expect(items.get(2)).toMatchObject({ typeShard: typeShardOf('licenses', 'NPN#10000002', 'licenses#2'), changedAt: '2025-07-26T10:00:00.000Z' });
    const stream = (await readStream(admin, dataTable)).slice(streamBefore);
    expect(streamSummary(stream)).toEqual(['MODIFY NPN#10000001/licenses#1', 'MODIFY NPN#10000002/licenses#2']);
    // The record itself is the same: consumers keyed on pk + sk + contentHash see nothing new.
    expect(stream.map((r) => r.dynamodb?.NewImage?.contentHash?.S)).toEqual(stream.map((r) => r.dynamodb?.OldImage?.contentHash?.S));

    const puts = sent.PutItemCommand;
    expect(await store.applyPage('licenses', [lic(1, '2024-01-01'), lic(2, '2024-01-01')])).toMatchObject({ unchanged: 2, modified: 0 });
    expect(sent.PutItemCommand).toBe(puts);
    clockMs -= 86_400_000;
  });

  it('quarantines bad records with their reason and stores the rest of the page', async () => {
    const { store } = await freshStore();
    const bad = [{ ...lic(7, '2024-01-01'), id: 'seven' }, { id: 8, updatedAt: '2024-01-01' }, 'not a record'];
    const outcome = await store.applyPage('licenses', [lic(1, '2024-01-01'), ...bad, lic(2, '2024-01-01')]);
    expect(outcome).toEqual({ inserted: 2, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 3 });
    expect((await scanAll(admin, dataTable)).map((i) => i.id).sort()).toEqual([1, 2]);
    const quarantined = (
      await admin.send(
        new QueryCommand({
          TableName: controlTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :q)',
          ExpressionAttributeValues: { ':pk': { S: 'RUN#run-1' }, ':q': { S: 'QUARANTINE#licenses#' } },
        }),
      )
    ).Items?.map((i) => unmarshall(i));
    expect(quarantined?.map((q) => [q.reason, JSON.parse(q.raw as string)]).sort()).toEqual(
      [
        ['id is not an integer number', bad[0]],
        ['npn is missing or not a string of digits', bad[1]],
        ['record is not a JSON object', 'not a record'],
      ].sort(),
    );
  });

  it('quarantines records DynamoDB cannot hold instead of failing the page', async () => {
    const { store } = await freshStore();
    const deep = (levels: number): unknown => (levels === 0 ? 'leaf' : { next: deep(levels - 1) });
    const outcome = await store.applyPage('licenses', [
      lic(1, '2024-01-01', { score: Number.POSITIVE_INFINITY }), // JSON.parse('1e400') gives Infinity
      lic(2, '2024-01-01', { nested: deep(40) }), // deeper than DynamoDB's 32 levels
      lic(3, '2024-01-01'),
    ]);
    expect(outcome).toEqual({ inserted: 1, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 2 });
    expect((await scanAll(admin, dataTable)).map((i) => i.id)).toEqual([3]);
    const reasons = (await scanAll(admin, controlTable)).map((q) => String(q.reason));
    expect(reasons).toContain('record cannot be stored in DynamoDB: Special numeric value Infinity is not allowed');
    expect(reasons.some((r) => r.startsWith('record rejected by DynamoDB: Nesting Levels have exceeded'))).toBe(true);
  });

  it('keeps the newer copy when a page carries the same record twice', async () => {
    const { store } = await freshStore();
    const outcome = await store.applyPage('licenses', [
      lic(1, '2024-02-01', { forState: 'NEW' }),
      lic(1, '2024-01-01', { forState: 'OLD' }), // older: superseded
      lic(2, '2024-01-01'),
      lic(2, '2024-01-01'), // identical
      lic(3, '2024-01-01', { forState: 'FIRST' }),
      lic(3, '2024-01-01', { forState: 'LATER' }), // same date, other content: the later one on the page wins
    ]);
    expect(outcome).toEqual({ inserted: 3, modified: 0, unchanged: 1, deleted: 0, stale: 2, quarantined: 0 });
    const record = async (sk: string, npn: string) =>
      unmarshall((await admin.send(new GetItemCommand({ TableName: dataTable, Key: { pk: { S: `NPN#${npn}` }, sk: { S: sk } } }))).Item!).record;
    expect(await record('licenses#1', '10000001')).toMatchObject({ forState: 'NEW' });
    expect(await record('licenses#3', '10000000')).toMatchObject({ forState: 'LATER' });
  });

  it('quarantines a record with a "__proto__" key, which the AWS SDK cannot marshal, and stores the rest of the page', async () => {
    const { store } = await freshStore();
    const withProto = JSON.parse('{"id":7,"npn":"10000001","updatedAt":"2024-01-01","__proto__":{"x":1}}') as Record<string, unknown>;
    expect(await store.applyPage('licenses', [withProto, lic(8, '2024-01-01')])).toEqual({ inserted: 1, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 1 });
    const quarantined = await admin.send(
      new QueryCommand({ TableName: controlTable, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :q)', ExpressionAttributeValues: { ':pk': { S: 'RUN#run-1' }, ':q': { S: 'QUARANTINE#licenses#' } } }),
    );
    const kept = (quarantined.Items ?? []).map((item) => unmarshall(item)).find((item) => String(item.raw).includes('__proto__'));
    expect(kept).toMatchObject({ raw: '{"id":7,"npn":"10000001","updatedAt":"2024-01-01","__proto__":{"x":1}}', reason: expect.stringMatching(/^record rejected by DynamoDB/) });
  });

  it('classifies a lost race from the condition failure: two stores applying one page insert each record once', async () => {
    const { store: first } = await freshStore();
    const second = createDynamoRecordStore({ client: new DynamoDBClient({}), tableName: dataTable, quarantine: { put: async () => {} } });
    const page = Array.from({ length: 60 }, (_, i) => lic(i + 1, '2024-01-01'));
    const [a, b] = await Promise.all([first.applyPage('licenses', page), second.applyPage('licenses', page)]);
    expect(a.inserted + b.inserted).toBe(60);
    expect(a.unchanged + b.unchanged).toBe(60);
    expect((await readStream(admin, dataTable)).length).toBe(60);
  });

  it('counts a record as stale when the stored copy became newer after the read (ReturnValuesOnConditionCheckFailure)', async () => {
    let hideStored = false;
    const { store, sent } = await freshStore((command, output) => {
      // Simulates a newer version landing between our BatchGetItem and our PutItem.
      if (command === 'BatchGetItemCommand' && hideStored) output.Responses = {};
    });
    await store.applyPage('licenses', [lic(1, '2024-05-01'), lic(2, '2024-01-01')]);
    hideStored = true;
    const outcome = await store.applyPage('licenses', [lic(1, '2024-04-01', { forState: 'OLD' }), lic(2, '2024-01-01')]);
    expect(outcome).toEqual({ inserted: 0, modified: 0, unchanged: 1, deleted: 0, stale: 1, quarantined: 0 });
    expect(sent.PutItemCommand).toBe(4);
    expect((await scanAll(admin, dataTable)).find((i) => i.id === 1)).toMatchObject({ updatedAt: '2024-05-01' });
  });

  it('retries BatchGetItem UnprocessedKeys instead of treating those records as new', async () => {
    let first = true;
    const { store, sent } = await freshStore((command, output) => {
      if (command !== 'BatchGetItemCommand' || !first) return;
      first = false;
      const [table, rows] = Object.entries(output.Responses as Record<string, Record<string, unknown>[]>)[0]!;
      const unprocessed = rows.splice(0, Math.floor(rows.length / 2));
      output.UnprocessedKeys = { [table]: { Keys: unprocessed.map((r) => ({ pk: r.pk, sk: r.sk })) } };
    });
    const page = Array.from({ length: 150 }, (_, i) => lic(i + 1, '2024-01-01'));
    await store.applyPage('licenses', page);
    const puts = sent.PutItemCommand;
    first = true;
    expect(await store.applyPage('licenses', page)).toMatchObject({ unchanged: 150, inserted: 0 });
    expect(sent.PutItemCommand).toBe(puts);
  });
});

describe('batchWriteBaseline', () => {
  it('writes every item, retrying UnprocessedItems', async () => {
    let first = true;
    const { client, sent } = countingClient(undefined, (command, input) => {
      if (command !== 'BatchWriteItemCommand' || !first) return undefined;
      first = false;
      // DynamoDB wrote nothing of this request: all of it comes back unprocessed.
      return { UnprocessedItems: input.RequestItems };
    });
    const table = await createDataTable(admin);
    const items = Array.from({ length: 60 }, (_, i) => (validateRecord('licenses', lic(i + 1, '2024-01-01')) as { item: DataItem }).item);
    await batchWriteBaseline(client, table, items);
    expect(await scanAll(admin, table)).toHaveLength(60);
    expect(sent.BatchWriteItemCommand).toBe(4); // 3 chunks of at most 25, one of them sent twice
  });
});
