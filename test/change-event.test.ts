/** Change events built from the records of a real DynamoDB Local stream (the shape Lambda hands the publisher). */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { changeEventOf, MAX_MESSAGE_BYTES, messageBodyOf, messageBytes } from '#feed/change-event';
import { createStreamReader, streamArnOf, toLambdaRecord } from '#local/stream-reader';
import { itemsOf } from './support/stored-items.ts';
import { createDataTable } from './sync-fixtures.ts';

const dynamo = new DynamoDBClient({});
let tableName: string;
let records: DynamoDBRecord[];
const { item, status } = itemsOf('15645555');
const license = (extra: Record<string, unknown> = {}, attributes: Record<string, unknown> = {}) =>
  ({ ...item('licenses', 7, { forState: 'TX', active: true, ...extra }), ...attributes });

beforeAll(async () => {
  tableName = await createDataTable(dynamo);
  const put = (value: object) => dynamo.send(new PutItemCommand({ TableName: tableName, Item: marshall(value, { removeUndefinedValues: true }) }));
  await put(license({ updatedAt: '2025-07-01' }, { contentHash: 'a'.repeat(64) }));
  await put(license({ updatedAt: '2025-07-24' }, { contentHash: 'b'.repeat(64), changedAt: '2025-07-24T23:00:00.000Z' }));
  await put(license({ updatedAt: '2025-07-25', niprDeleted: true }, { contentHash: 'c'.repeat(64) }));
  await put(item('entities', 1, { type: 'INDIVIDUAL' }));
  await put(status('DEACTIVATED', '2025-07-26'));
  await dynamo.send(new DeleteItemCommand({ TableName: tableName, Key: marshall({ pk: 'NPN#15645555', sk: 'licenses#7' }) }));
  const streamArn = await streamArnOf(dynamo, tableName);
  records = (await createStreamReader({ streamArn }).read()).map((r) => toLambdaRecord(r, streamArn));
});

describe('change event', () => {
  it('names the change, the fields teams filter on, the item and what it was before', () => {
    const events = records.map(changeEventOf);
    expect(events.map((e) => [e.change, e.eventName, e.recordType, e.forState])).toEqual([
      ['created', 'INSERT', 'licenses', 'TX'],
      ['updated', 'MODIFY', 'licenses', 'TX'],
      ['soft-deleted', 'MODIFY', 'licenses', 'TX'],
      ['created', 'INSERT', 'entities', undefined],
      ['npn-status', 'INSERT', 'npnStatus', undefined],
      ['removed', 'REMOVE', 'licenses', 'TX'],
    ]);
    for (const [i, event] of events.entries()) {
      expect(event).toMatchObject({ type: 'producersync.change', version: 1, id: records[i]!.eventID, npn: '15645555', sequenceNumber: records[i]!.dynamodb!.SequenceNumber });
      expect(event.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    }
    const [created, updated, deleted, , statusChange, removed] = events;
    expect(created!.previous).toBeUndefined();
    expect(created!.item).toMatchObject({ sk: 'licenses#7', contentHash: 'a'.repeat(64), record: { forState: 'TX' } });
    expect(updated).toMatchObject({ key: { pk: 'NPN#15645555', sk: 'licenses#7' }, item: { changedAt: '2025-07-24T23:00:00.000Z' }, previous: { updatedAt: '2025-07-01', contentHash: 'a'.repeat(64), deleted: false } });
    expect(deleted).toMatchObject({ item: { deleted: true }, previous: { changedAt: '2025-07-24T23:00:00.000Z' } });
    expect(statusChange!.item).toMatchObject({ status: 'DEACTIVATED', statusDate: '2025-07-26' });
    // A removal carries the item as it was.
    expect(removed).toMatchObject({ item: { deleted: true, contentHash: 'c'.repeat(64) }, previous: { contentHash: 'c'.repeat(64) } });
  });

  it('sends an item too large for one message as a reference, the rest of the event intact', () => {
    const event = changeEventOf(records[0]!);
    expect(messageBodyOf(event)).toEqual({ body: JSON.stringify(event), itemOmitted: false });
    const big = { ...event, item: { ...event.item, record: { filler: 'x'.repeat(MAX_MESSAGE_BYTES) } } };
    const { body, itemOmitted } = messageBodyOf(big);
    expect(itemOmitted).toBe(true);
    expect(messageBytes(body)).toBeLessThan(2_000);
    const { item: _dropped, ...rest } = event;
    expect(JSON.parse(body)).toEqual({ ...rest, itemOmitted: 'too-large' });
  });

  it('refuses a record that is no data-table change', () => {
    expect(() => changeEventOf({ ...records[0]!, eventID: undefined })).toThrow(/has no eventID/);
    expect(() => changeEventOf({ eventName: undefined, dynamodb: {} } as DynamoDBRecord)).toThrow(/unexpected stream eventName/);
  });
});
