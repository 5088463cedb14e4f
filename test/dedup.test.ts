import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoEventDedup, EVENT_TTL_DAYS, onceForEvent, type EventDedup } from '#dispatcher/dedup';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let tableName: string;
const NOW = Date.parse('2025-07-24T22:51:05.206Z');
let dedup: EventDedup;

beforeAll(async () => {
  tableName = await createControlTable(admin);
  dedup = createDynamoEventDedup({ client: admin, tableName, now: () => NOW });
});

const item = async (eventId: string) => {
  const out = await admin.send(new GetItemCommand({ TableName: tableName, Key: marshall({ pk: `EVENT#${eventId}`, sk: 'EVENT' }), ConsistentRead: true }));
  return out.Item ? unmarshall(out.Item) : undefined;
};

/** The item a claim at `nowMs` leaves. */
const claimedItem = (eventId: string, type: string, nowMs: number, extra: Record<string, unknown> = {}) => ({
  pk: `EVENT#${eventId}`,
  sk: 'EVENT',
  type,
  status: 'PENDING',
  claimedAt: new Date(nowMs).toISOString(),
  expiresAt: Math.floor(nowMs / 1000) + EVENT_TTL_DAYS * 86_400,
  ...extra,
});

describe('event dedup store', () => {
  it('claims an event as PENDING with a 30-day TTL, marks it DONE with its execution, then refuses it', async () => {
    expect(await dedup.claim('evt-1', 'producersync.updates_available')).toEqual({ outcome: 'claimed', npnsDone: 0 });
    expect(await item('evt-1')).toEqual(claimedItem('evt-1', 'producersync.updates_available', NOW));
    expect((await item('evt-1'))?.claimedAt).toBe('2025-07-24T22:51:05.206Z');
    await dedup.markDone('evt-1', { executionArn: 'arn:aws:states:us-east-1:0:execution:sync:run-1' });
    expect(await item('evt-1')).toMatchObject({ status: 'DONE', doneAt: '2025-07-24T22:51:05.206Z', executionArn: 'arn:aws:states:us-east-1:0:execution:sync:run-1' });
    expect((await dedup.claim('evt-1', 'producersync.updates_available')).outcome).toBe('already-done');
  });

  it('lets a PENDING claim be taken again (a crash between claim and action is retried)', async () => {
    await admin.send(new PutItemCommand({ TableName: tableName, Item: marshall({ pk: 'EVENT#evt-2', sk: 'EVENT', status: 'PENDING', type: 't' }) }));
    expect(await dedup.claim('evt-2', 't')).toEqual({ outcome: 'claimed', npnsDone: 0 });
    await dedup.markDone('evt-2');
    expect(await item('evt-2')).toMatchObject({ status: 'DONE' });
    expect((await item('evt-2'))?.executionArn).toBeUndefined();
  });

  it('keeps the progress of an event worked in steps across claims, and its claim data current', async () => {
    expect(await dedup.claim('evt-5', 'producersync.npn.activated')).toEqual({ outcome: 'claimed', npnsDone: 0 });
    await dedup.saveProgress('evt-5', 1500);
    const later = createDynamoEventDedup({ client: admin, tableName, now: () => NOW + 360_000 });
    expect(await later.claim('evt-5', 'producersync.npn.activated')).toEqual({ outcome: 'claimed', npnsDone: 1500 });
    expect(await item('evt-5')).toEqual(claimedItem('evt-5', 'producersync.npn.activated', NOW + 360_000, { npnsDone: 1500 }));
    await later.markDone('evt-5');
    expect(await later.claim('evt-5', 'producersync.npn.activated')).toEqual({ outcome: 'already-done', npnsDone: 0 });
  });
});

describe('onceForEvent', () => {
  it('runs the work for a new or unfinished event and skips a finished one', async () => {
    const runs: string[] = [];
    const work = (id: string) => async () => {
      runs.push(id);
      await dedup.markDone(id);
      return id;
    };
    expect(await onceForEvent(dedup, { eventId: 'evt-3', type: 't' }, work('evt-3'))).toBe('evt-3');
    expect(await onceForEvent(dedup, { eventId: 'evt-3', type: 't' }, work('evt-3'))).toBeUndefined();
    // Work that failed leaves the claim PENDING: the next delivery runs it again.
    await expect(onceForEvent(dedup, { eventId: 'evt-4', type: 't' }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await onceForEvent(dedup, { eventId: 'evt-4', type: 't' }, work('evt-4'))).toBe('evt-4');
    expect(runs).toEqual(['evt-3', 'evt-4']);
  });
});
