import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerSyncClient } from '#producersync/client';
import { addSubscriptions, removeSubscriptions, waitForJob } from '#producersync/subscriptions';
import { startSimulator, type Simulator } from '#sim/server';
import { typeShardOf } from '#sync/change-index';
import { contentHash } from '#sync/content-hash';
import type { SyncPagesEvent } from '#sync/events';
import { engineDeps, freshEngineTables, reconcileEvent, runEndpointLoop, testClock, type EngineTables } from './support/sync-engine.ts';
import { readStream, scanAll, streamSummary } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let sim: Simulator;
const clock = testClock();

beforeAll(async () => {
  sim = await startSimulator({ npns: 40, seed: 8, rateLimit: { apiPerMinute: 100_000 }, subscriptionJobDelayMs: 5 });
});
afterAll(async () => {
  await sim?.close();
});

const api = () => createProducerSyncClient({ credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl } });
async function subscriptionChange(change: typeof addSubscriptions, npns: string[]): Promise<void> {
  const client = api();
  for (const job of await change(client, npns)) if (job.jobId) await waitForJob(client, job.jobId, { pollMs: 10 });
}

const backfill = (runId: string): SyncPagesEvent => ({ runId, endpoint: 'licenses', mode: 'backfill', updatedSince: null, npns: null });
const licenses = async (tables: EngineTables) => new Map((await scanAll(admin, tables.data)).filter((i) => i.recordType === 'licenses').map((i) => [`${i.pk as string}/${i.sk as string}`, i]));

describe('a reconcile pass and its sweep', () => {
  it('writes only the drift, marks what the API no longer returns, resumably, and a second pass writes nothing', async () => {
    const tables = await freshEngineTables();
    const deps = engineDeps(sim, tables, clock);
    await runEndpointLoop(backfill('backfill-1'), deps, clock);
    const truthBefore = sim.groundTruth('licenses');

    // Drift the daily runs cannot see: content changed without an updatedAt bump, a producer no longer
    // subscribed, a stray item the API never returned, and one a former reconcile marked already.
    const noBump = sim.changeWithoutBump('licenses', [truthBefore[3]!.id as number, truthBefore[7]!.id as number]).filter((r) => r.endpoint === 'licenses');
    const gone = sim.subscribedNpns().find((npn) => truthBefore.some((r) => r.npn === npn && r.id !== truthBefore[3]!.id && r.id !== truthBefore[7]!.id))!;
    await subscriptionChange(removeSubscriptions, [gone]);
    const goneKeys = truthBefore.filter((r) => r.npn === gone).map((r) => `NPN#${gone}/licenses#${r.id as number}`);
    const old = new Date(clock.now() - 86_400_000).toISOString();
    const stray = { pk: 'NPN#99999999', sk: 'licenses#1', recordType: 'licenses', npn: '99999999', id: 1, updatedAt: '2024-01-01', deleted: false, contentHash: 'x', record: { id: 1 } };
    const marked = { ...stray, pk: 'NPN#99999998', npn: '99999998', missingFromSource: { reason: 'notReturnedBySource', since: old, runId: 'reconcile-0' } };
    // Written after the pass starts (by a concurrent run): never missing, even though the pass did not see it.
    const fresh = { ...stray, pk: 'NPN#99999997', npn: '99999997' };
    for (const item of [stray, marked]) await admin.send(new PutItemCommand({ TableName: tables.data, Item: marshall({ ...item, typeShard: typeShardOf('licenses', item.pk, item.sk), changedAt: old }) }));
    clock.offsetMs += 3_600_000;
    const passStartedAt = new Date(clock.now()).toISOString();
    await admin.send(new PutItemCommand({ TableName: tables.data, Item: marshall({ ...fresh, typeShard: typeShardOf('licenses', fresh.pk, fresh.sk), changedAt: new Date(clock.now() + 1).toISOString() }) }));
    const before = await licenses(tables);
    const streamBefore = (await readStream(admin, tables.data)).length;
    // One page or one index page per invocation: the pass and the sweep both resume from the checkpoint.
    const oneAtATime = engineDeps(sim, tables, clock, { timeBudgetMs: 1 });
    const { invocations } = await runEndpointLoop(reconcileEvent('reconcile-1', 'licenses', passStartedAt), oneAtATime, clock);
    const checkpoint = await deps.checkpoints.load('reconcile-1', 'licenses');
    expect(checkpoint).toMatchObject({ done: true, passComplete: true, modified: noBump.length, inserted: 0, deleted: 0, stale: 0, marked: goneKeys.length + 1 });
    expect(checkpoint!.sweep!.shard).toBe(16);
    expect(invocations.length).toBeGreaterThanOrEqual(checkpoint!.pages + 16);

    const after = await licenses(tables);
    const sinceMarked = (key: string) => (after.get(key)?.missingFromSource as { since?: string } | undefined)?.since;
    for (const key of [...goneKeys, 'NPN#99999999/licenses#1']) {
      expect(after.get(key)?.missingFromSource, key).toEqual({ reason: 'notReturnedBySource', since: expect.any(String), runId: 'reconcile-1' });
      expect(after.get(key)?.changedAt).toBe(sinceMarked(key));
    }
    expect(after.get('NPN#99999998/licenses#1')).toEqual(before.get('NPN#99999998/licenses#1'));
    expect(after.get('NPN#99999997/licenses#1')?.missingFromSource).toBeUndefined();
    for (const record of sim.groundTruth('licenses')) {
      const item = after.get(`NPN#${record.npn as string}/licenses#${record.id as number}`);
      expect(item?.contentHash).toBe(contentHash(record));
      expect(item?.missingFromSource).toBeUndefined();
    }
    // The stream: exactly the no-bump changes and the marks, each once; nothing for the unchanged rest.
    const changed = (await readStream(admin, tables.data)).slice(streamBefore);
    const noBumpKeys = noBump.map(({ id }) => truthBefore.find((r) => r.id === id)!).map((r) => `MODIFY NPN#${r.npn as string}/licenses#${r.id as number}`);
    expect(streamSummary(changed)).toEqual([...noBumpKeys, ...[...goneKeys, 'NPN#99999999/licenses#1'].map((k) => `MODIFY ${k}`)].sort());

    // The seen keys expire with the run (TTL) and stay compact: one item per shard and page.
    const seen = await admin.send(
      new QueryCommand({ TableName: tables.control, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)', ExpressionAttributeValues: marshall({ ':pk': 'RUN#reconcile-1', ':s': 'SEEN#licenses#' }) }),
    );
    expect(seen.Items).toHaveLength(checkpoint!.pages * 16);
    expect(seen.Items!.every((item) => Number(unmarshall(item).expiresAt) > clock.now() / 1000)).toBe(true);

    // A second pass finds nothing new but the item written during the first (now older than the pass, and
    // still not returned): one mark, no other write.
    clock.offsetMs += 3_600_000;
    await runEndpointLoop(reconcileEvent('reconcile-2', 'licenses', new Date(clock.now()).toISOString()), deps, clock);
    expect(await deps.checkpoints.load('reconcile-2', 'licenses')).toMatchObject({ done: true, marked: 1, inserted: 0, modified: 0, deleted: 0 });
    expect(streamSummary((await readStream(admin, tables.data)).slice(streamBefore + changed.length))).toEqual(['MODIFY NPN#99999997/licenses#1']);
    const third = await readStream(admin, tables.data);
    await runEndpointLoop(reconcileEvent('reconcile-3', 'licenses', new Date(clock.now() + 1000).toISOString()), deps, clock);
    expect(await deps.checkpoints.load('reconcile-3', 'licenses')).toMatchObject({ done: true, marked: 0, inserted: 0, modified: 0, deleted: 0 });
    expect(await readStream(admin, tables.data)).toHaveLength(third.length);

    // Subscribed again, the producer's records come back with the next day: the incremental run un-marks them.
    await subscriptionChange(addSubscriptions, [gone]);
    const day = await sim.advanceDay({ changeFraction: 0 });
    await runEndpointLoop({ runId: 'day-2', endpoint: 'licenses', mode: 'incremental', updatedSince: day.runDate, npns: null }, deps, clock);
    const back = await licenses(tables);
    for (const key of goneKeys) expect(back.get(key)?.missingFromSource, key).toBeUndefined();
  });
});
