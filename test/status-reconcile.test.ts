import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { startSimulator, type Simulator } from '#sim/server';
import { SUBSCRIPTION_LIST_SHAPES } from '#sim/subscription-list';
import { NPN_STATUS_TARGET } from '#sync/events';
import { engineDeps, freshEngineTables, reconcileEvent, runEndpointLoop, testClock } from './support/sync-engine.ts';
import { readStream, scanAll, streamSummary } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('a reconcile of the NPN status items against the subscription list', () => {
  it.each(SUBSCRIPTION_LIST_SHAPES)('fixes exactly the drift, whatever the list looks like (%s)', async (shape) => {
    // The paged shape answers in pages of 250: 260 NPNs take two, and the page past the end.
    sim = await startSimulator({ npns: shape === 'paged' ? 260 : 40, seed: 4, subscriptionList: shape, rateLimit: { apiPerMinute: 100_000 } });
    const clock = testClock();
    const tables = await freshEngineTables();
    const statuses = createDynamoNpnStatusStore({ client: admin, tableName: tables.data, now: () => clock.now() });
    const [subscribedDeactivated, subscribedActive] = sim.subscribedNpns();
    const old = new Date(clock.now() - 86_400_000).toISOString();
    const set = (npn: string, status: 'ACTIVE' | 'DEACTIVATED', eventTimestamp: string) => statuses.write({ npn, status, eventId: `evt-${npn}`, eventTimestamp });
    await set(subscribedDeactivated!, 'DEACTIVATED', old);
    await set(subscribedActive!, 'ACTIVE', old);
    await set('1000000001', 'ACTIVE', old); // no longer subscribed
    await set('1000000002', 'DEACTIVATED', old); // not subscribed, and says so
    const streamBefore = (await readStream(admin, tables.data)).length;

    clock.offsetMs += 60_000;
    const passStartedAt = new Date(clock.now()).toISOString();
    // A webhook handled during the pass: it wins over the list read before it.
    clock.offsetMs += 1;
    await set('1000000003', 'ACTIVE', new Date(clock.now()).toISOString());
    const deps = engineDeps(sim, tables, clock);
    const event = reconcileEvent('reconcile-s', NPN_STATUS_TARGET, passStartedAt);
    await runEndpointLoop(event, deps, clock);

    const subscribed = sim.subscribedNpns();
    expect(await deps.checkpoints.load('reconcile-s', NPN_STATUS_TARGET)).toMatchObject({
      done: true,
      recordsSeen: subscribed.length,
      inserted: subscribed.length - 2,
      modified: 1,
      unchanged: 1,
      marked: 1,
      // Paged: 250 + 10, then the page past the end (no NPNs, next token 0).
      pages: shape === 'paged' ? 3 : 1,
    });
    const items = new Map((await scanAll(admin, tables.data)).filter((i) => i.sk === 'STATUS').map((i) => [i.npn as string, i]));
    for (const npn of subscribed) expect(items.get(npn)?.status, npn).toBe('ACTIVE');
    expect(items.get(subscribedDeactivated!)).toMatchObject({ status: 'ACTIVE', reason: 'reconcile', eventId: 'reconcile-reconcile-s', eventTimestamp: passStartedAt });
    expect(items.get(subscribedActive!)).toMatchObject({ eventId: `evt-${subscribedActive!}` });
    expect(items.get('1000000001')).toMatchObject({ status: 'DEACTIVATED', reason: 'reconcile', statusDate: passStartedAt.slice(0, 10) });
    expect(items.get('1000000002')).toMatchObject({ status: 'DEACTIVATED', eventId: 'evt-1000000002' });
    expect(items.get('1000000003')).toMatchObject({ status: 'ACTIVE', eventId: 'evt-1000000003' });
    const changes = streamSummary((await readStream(admin, tables.data)).slice(streamBefore + 1));
    expect(changes).toHaveLength(subscribed.length - 2 + 1 + 1);

    // The next pass reads the list after that webhook, which still does not hold its NPN: DEACTIVATED. Then
    // nothing is left to fix, and a pass writes nothing.
    for (const [runId, marked] of [['reconcile-s2', 1], ['reconcile-s3', 0]] as const) {
      clock.offsetMs += 60_000;
      const streamAfter = (await readStream(admin, tables.data)).length;
      await runEndpointLoop(reconcileEvent(runId, NPN_STATUS_TARGET, new Date(clock.now()).toISOString()), deps, clock);
      expect(await deps.checkpoints.load(runId, NPN_STATUS_TARGET)).toMatchObject({ done: true, inserted: 0, modified: 0, marked });
      expect(await readStream(admin, tables.data)).toHaveLength(streamAfter + marked);
    }
    expect((await statuses.statuses(['1000000003'])).get('1000000003')).toBe('DEACTIVATED');
  });
});
