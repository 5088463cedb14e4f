import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '#sim/server';
import { createDynamoRunLeases, LEASE_MS } from '#sync/run-lease';
import { RECONCILE_YIELD_SECONDS, syncPages } from '#sync/sync-pages';
import { engineDeps, freshEngineTables, reconcileEvent, runEndpointLoop, testClock } from './support/sync-engine.ts';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});

describe('active-run leases', () => {
  it('are live until released or LEASE_MS after the last hold', async () => {
    const leases = createDynamoRunLeases({ client: admin, tableName: await createControlTable(admin) });
    const t0 = Date.parse('2025-07-24T23:00:00Z');
    await leases.hold('run-a', t0);
    await leases.hold('run-b', t0);
    expect((await leases.active(t0 + 1)).sort()).toEqual(['run-a', 'run-b']);
    await leases.release('run-b');
    expect(await leases.active(t0 + 1)).toEqual(['run-a']);
    expect(await leases.active(t0 + LEASE_MS)).toEqual([]);
    await leases.hold('run-a', t0 + LEASE_MS - 1); // renewed by its next SyncPages invocation
    expect(await leases.active(t0 + LEASE_MS + 1)).toEqual(['run-a']);
  });
});

describe('a reconcile never delays another run', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ npns: 20, seed: 6, rateLimit: { apiPerMinute: 100_000 } });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('yields (a Wait, no request) while a run holds its lease, and goes on once the run ended', async () => {
    const clock = testClock();
    const tables = await freshEngineTables();
    const deps = engineDeps(sim, tables, clock);
    // The daily run's SyncPages holds the lease while it pages.
    await syncPages({ runId: 'run-daily', endpoint: 'entities', mode: 'incremental', updatedSince: sim.today, npns: null }, deps);
    expect(await deps.leases.active(clock.now())).toEqual(['run-daily']);

    sim.clearRequests();
    const event = reconcileEvent('reconcile-y', 'entities', new Date(clock.now()).toISOString());
    expect(await syncPages(event, deps)).toMatchObject({ done: false, waitSeconds: RECONCILE_YIELD_SECONDS, pages: 0 });
    expect(sim.requests.filter((r) => r.kind === 'api')).toHaveLength(0);

    // The run finished (Finalize released its lease): the reconcile pages and sweeps to the end.
    await deps.leases.release('run-daily');
    const { invocations } = await runEndpointLoop(event, deps, clock);
    expect(invocations.at(-1)).toMatchObject({ done: true });
    expect(await deps.checkpoints.load('reconcile-y', 'entities')).toMatchObject({ done: true, recordsSeen: sim.groundTruth('entities').length });
    // A reconcile holds no lease of its own.
    expect(await deps.leases.active(clock.now())).toEqual([]);
  });
});
