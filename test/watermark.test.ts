import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDynamoWatermarkStore, INITIAL_LOAD_IN_FLIGHT_MS, initialLoadInFlight, newestDate, watermarkAgeHours, type WatermarkStore } from '#sync/watermark';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let store: WatermarkStore;

beforeEach(async () => {
  store = createDynamoWatermarkStore({ client: admin, tableName: await createControlTable(admin) });
});

const T0 = Date.parse('2025-07-24T23:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('the watermark store', () => {
  it('starts empty and only ever moves forward', async () => {
    expect(await store.load()).toEqual({});
    expect(await store.advance('2025-07-24', { runId: 'run-a', at: iso(T0) })).toBe(true);
    expect(await store.advance('2025-07-23', { runId: 'run-old', at: iso(T0 + 1) })).toBe(false);
    expect(await store.advance('2025-07-24', { runId: 'run-same', at: iso(T0 + 2) })).toBe(false);
    expect(await store.load()).toEqual({ watermark: '2025-07-24', advancedAt: iso(T0), advancedBy: 'run-a' });
    expect(await store.advance('2025-07-26', { runId: 'run-b', at: iso(T0 + 3) })).toBe(true);
    expect(await store.load()).toMatchObject({ watermark: '2025-07-26', advancedBy: 'run-b' });
    await expect(store.advance('2025-02-30', { runId: 'x', at: iso(T0) })).rejects.toThrow(/yyyy-MM-dd/);
  });

  it('writes firstSeenAt once', async () => {
    expect(await store.noteFirstSeen(iso(T0))).toBe(iso(T0));
    expect(await store.noteFirstSeen(iso(T0 + 3_600_000))).toBe(iso(T0));
    expect((await store.load()).firstSeenAt).toBe(iso(T0));
  });

  it('lets one initial load run at a time: the same run may claim again, another only once it finished or went stale', async () => {
    const first = { runId: 'initial-1', startedAt: iso(T0) };
    expect(await store.claimInitialLoad(first, T0)).toEqual({ claimed: true });
    expect(await store.claimInitialLoad(first, T0 + 1000)).toEqual({ claimed: true });
    expect(await store.claimInitialLoad({ runId: 'initial-2', startedAt: iso(T0 + 60_000) }, T0 + 60_000)).toEqual({ claimed: false, inFlight: 'initial-1' });
    // A load that never finished (its execution failed for good) stops blocking after the executions' timeout.
    const late = T0 + INITIAL_LOAD_IN_FLIGHT_MS + 1;
    expect(await store.claimInitialLoad({ runId: 'initial-3', startedAt: iso(late) }, late)).toEqual({ claimed: true });
    await store.finishInitialLoad('initial-1', iso(late)); // not the current one: changes nothing
    expect((await store.load()).initialLoad).toEqual({ runId: 'initial-3', startedAt: iso(late) });
    await store.finishInitialLoad('initial-3', iso(late + 1));
    expect((await store.load()).initialLoad).toEqual({ runId: 'initial-3', startedAt: iso(late), finishedAt: iso(late + 1) });
    expect(await store.claimInitialLoad({ runId: 'initial-4', startedAt: iso(late + 2) }, late + 2)).toEqual({ claimed: true });
  });

  it('remembers the last catch-up', async () => {
    await store.noteCatchUp({ runId: 'catch-up-2025-07-26T06', startedAt: iso(T0) });
    expect((await store.load()).catchUp).toEqual({ runId: 'catch-up-2025-07-26T06', startedAt: iso(T0) });
  });
});

describe('the watermark rules', () => {
  it('age: since it advanced, else since the first check, else unknown', () => {
    expect(watermarkAgeHours({}, T0)).toBeUndefined();
    expect(watermarkAgeHours({ firstSeenAt: iso(T0) }, T0 + 2 * 3_600_000)).toBe(2);
    expect(watermarkAgeHours({ firstSeenAt: iso(T0), watermark: '2025-07-24', advancedAt: iso(T0 + 3_600_000) }, T0 + 4 * 3_600_000)).toBe(3);
  });

  it('an initial load is in flight until it finished, at most the executions timeout', () => {
    const load = { runId: 'i', startedAt: iso(T0) };
    expect(initialLoadInFlight({ initialLoad: load }, T0 + 1)).toEqual(load);
    expect(initialLoadInFlight({ initialLoad: { ...load, finishedAt: iso(T0 + 1) } }, T0 + 2)).toBeUndefined();
    expect(initialLoadInFlight({ initialLoad: load }, T0 + INITIAL_LOAD_IN_FLIGHT_MS)).toBeUndefined();
    expect(initialLoadInFlight({}, T0)).toBeUndefined();
  });

  it('the newest updatedAt read ignores the missing-date placeholder, non-dates and dates past the ceiling', () => {
    const records = [{ updatedAt: '2025-07-20' }, { updatedAt: '0000-00-00' }, { updatedAt: null }, {}, 'x', { updatedAt: '2025-07-22' }, { updatedAt: '2099-01-01' }, { updatedAt: '2025-02-30' }];
    expect(newestDate(records, '2025-07-25')).toBe('2025-07-22');
    expect(newestDate(records, '2025-07-25', '2025-07-23')).toBe('2025-07-23');
    expect(newestDate([{ updatedAt: '0000-00-00' }], '2025-07-25')).toBeUndefined();
  });
});
