import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '#commons/logger';
import { createDynamoPendingActivationStore } from '#dispatcher/pending-activations';
import { createProducerSyncClient } from '#producersync/client';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { startSimulator, type Simulator } from '#sim/server';
import { npnsFound, withNpnsFound } from '#sync/backfill-npns';
import { createDynamoCheckpointStore, initialCheckpoint } from '#sync/checkpoint';
import type { SyncPagesEvent } from '#sync/events';
import { handler as finalize } from '#sync/finalize';
import { createSyncDeps, syncPages } from '#sync/sync-pages';
import { createControlTable, createDataTable } from './sync-fixtures.ts';

logger.setLogLevel('SILENT');

const admin = new DynamoDBClient({});

describe('noting which listed NPNs returned records', () => {
  const checkpoint = initialCheckpoint('run-1', 'licenses');

  it('adds the NPNs of a page that the run listed, whatever their JSON type, and nothing for runs without a list', () => {
    const listed = { npns: ['100', '200', '300'] };
    const once = withNpnsFound(checkpoint, listed, [{ npn: '200' }, { npn: 100 }, { npn: '999' }, { id: 1 }, null]);
    expect(once.npnsWithRecords).toEqual(['100', '200']);
    expect(withNpnsFound(once, listed, [{ npn: '200' }])).toBe(once);
    expect(withNpnsFound(once, listed, [{ npn: '300' }]).npnsWithRecords).toEqual(['100', '200', '300']);
    expect(withNpnsFound(checkpoint, { npns: null }, [{ npn: '100' }])).toBe(checkpoint);
    expect(npnsFound([once, undefined, { ...checkpoint, npnsWithRecords: ['300', '100'] }])).toEqual(['100', '200', '300']);
  });
});

describe('an activation backfill resolves its pending group', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ npns: 30, seed: 5, rateLimit: { apiPerMinute: 100_000 } });
  });
  afterAll(async () => {
    await sim?.close();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('sync-pages notes the NPNs each endpoint returned records for, and Finalize takes exactly those out of the group', async () => {
    const [data, control] = await Promise.all([createDataTable(admin), createControlTable(admin)]);
    vi.stubEnv('CONTROL_TABLE_NAME', control);
    const withData = sim.subscribedNpns().slice(0, 3);
    const npns = [...withData, '88888888'];
    const runId = 'activation-2025-07-24-test';
    const deps = createSyncDeps({
      client: admin,
      dataTableName: data,
      controlTableName: control,
      source: createProducerSyncClient({
        credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
        rateBudget: createLocalRateBudget({ perMinute: 600_000 }),
      }),
      apiBaseUrl: sim.apiBaseUrl,
      pageSize: 5,
    });
    const endpoints: SyncPagesEvent[] = DEFAULT_SYNC_ENDPOINTS.map((endpoint) => ({ runId, endpoint, mode: 'backfill', updatedSince: null, npns }));
    const results = [];
    for (const event of endpoints) {
      let result = await syncPages(event, deps);
      while (!result.done) result = await syncPages(event, deps);
      results.push(result);
    }
    const checkpoints = createDynamoCheckpointStore({ client: admin, tableName: control });
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
      const truthNpns = [...new Set(sim.groundTruth(endpoint, { npns }).map((r) => String(r.npn)))].sort();
      if (endpoint === 'entities') expect(truthNpns).toEqual([...withData].sort());
      expect((await checkpoints.load(runId, endpoint))?.npnsWithRecords ?? [], endpoint).toEqual(truthNpns);
    }

    const pending = createDynamoPendingActivationStore({ client: admin, tableName: control });
    await pending.put({ id: runId, npns, attempts: 1, firstSeenAt: '2025-07-24T10:00:00.000Z', nextAttemptAt: '2025-07-25T06:00:00.000Z', expiresAt: 1 });
    const prepared = { runId, mode: 'backfill' as const, updatedSince: null, npns, endpoints };
    expect(await finalize({ ...prepared, results })).toMatchObject({ status: 'SUCCEEDED' });
    expect((await pending.get(runId))?.npns).toEqual(['88888888']);
    // RecordRun runs again after ResumeFailed: the same NPNs go out again, nothing else changes.
    await finalize({ ...prepared, results });
    expect((await pending.get(runId))?.npns).toEqual(['88888888']);
  });
});
