import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CEILING_RECORDS_PER_SECOND, logWrites, peakWritesPerSecond } from '../bench/support/partition-load.ts';
import { startSimulator, type Simulator } from '#sim/server';
import { LEGACY_DATA_TABLE_INDEX } from '#lib/data-stack';
import { TYPE_SHARDS } from '#sync/change-index';
import { engineDeps, freshEngineTables, runEndpointLoop, testClock } from './support/sync-engine.ts';

/** DynamoDB's write ceiling per partition key value, and the share of it the model keeps free. */
const PARTITION_WRITES_PER_SECOND = 1_000;
const HEADROOM = 0.5;
/** The two biggest types; 400 NPNs give each more than one full page. */
const ENDPOINTS = ['licenses', 'appointments'] as const;
/**
 * Writes are counted over one page's time at the ceiling (0.2 s) and scaled to a second: stricter than a
 * one-second window (a second averages five pages), and it needs only one full page of each type, so the
 * model stays small. 1,800 NPNs with one-second windows give about 350 a second on the busiest shard.
 */
const WINDOW_SECONDS = 0.2;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ npns: 400, seed: 21, rateLimit: { apiPerMinute: 1_000_000 } });
});
afterAll(async () => {
  await sim?.close();
});

describe('partition load of a backfill at the API ceiling (issue 14.3)', () => {
  it('keeps every key value of the table and of the change index far below 1,000 writes a second, where the old index by record type would take them all', async () => {
    for (const endpoint of ENDPOINTS) expect(sim.groundTruth(endpoint).length).toBeGreaterThan(1_000);
    const clock = testClock();
    const tables = await freshEngineTables();
    const client = new DynamoDBClient({});
    // pk: the table; typeShard: the change index; recordType: what 0.1.0's byTypeUpdatedAt was keyed on.
    const writes = logWrites(client, { tableName: tables.data, keyAttributes: ['pk', 'typeShard', 'recordType'] });
    const deps = engineDeps(sim, tables, clock, { dynamo: client, pageSize: 1_000 });
    deps.source = writes.countPages(deps.source);
    // One endpoint at a time: each takes the whole budget, the worst case for a key shared by one type.
    for (const endpoint of ENDPOINTS) await runEndpointLoop({ runId: 'load-1', endpoint, mode: 'backfill', updatedSince: null, npns: null }, deps, clock);
    const records = ENDPOINTS.reduce((n, endpoint) => n + sim.groundTruth(endpoint).length, 0);
    expect(writes.log.writes).toHaveLength(records);

    const peaks = peakWritesPerSecond(writes.log, { windowSeconds: WINDOW_SECONDS });
    const limit = PARTITION_WRITES_PER_SECOND * HEADROOM;
    expect(peaks.pk!.writesPerSecond).toBeLessThan(limit);
    expect(peaks.typeShard!.writesPerSecond).toBeLessThan(limit);
    // Near an even share of the ceiling per shard (5,000 / 16 ≈ 312), not one hot value.
    expect(peaks.typeShard!.writesPerSecond).toBeLessThan((CEILING_RECORDS_PER_SECOND / TYPE_SHARDS) * 1.6);
    // The index it replaces: every write of a pass on one value, five times DynamoDB's ceiling.
    expect(LEGACY_DATA_TABLE_INDEX).toBe('byTypeUpdatedAt');
    expect(peaks.recordType!.writesPerSecond).toBeGreaterThanOrEqual(CEILING_RECORDS_PER_SECOND);
    console.info(`partition load at ${CEILING_RECORDS_PER_SECOND} records/s: ${JSON.stringify(peaks)}`);
  });
});
