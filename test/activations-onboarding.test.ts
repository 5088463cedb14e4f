/**
 * An onboarding wave through the real sync (issue 12.7): new subscriptions whose npn.activated events
 * reach the dispatcher through the signed webhook and the queue, backfills run by the synthesized
 * state machine with the real handlers, data that AgentSync only has a cycle later, and the hourly
 * retry that finishes the job. The table ends equal to the simulator's ground truth with no pending item.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sfnClient } from '#commons/clients';
import { logger } from '#commons/logger';
import { RETRY_DELAY_MS, retryPendingActivations } from '#dispatcher/activations';
import { createDispatcherDeps } from '#dispatcher/deps';
import { createDynamoPendingActivationStore, type PendingGroup } from '#dispatcher/pending-activations';
import { newWebhookSecret, startHarness, type LocalHarness } from '#local/harness';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { sleep } from '#producersync/retry';
import { startSimulator, type Simulator } from '#sim/server';
import { fetchToken } from '#sim/testing';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { runExecution } from '../scripts/local-deployment/outcome.ts';
import { compareWithTruth, describeComparison, readSyncedRecords } from '../scripts/support/table-export.ts';

logger.setLogLevel('SILENT');

const NEW_NPNS = 640;

describe('an onboarding wave through npn.activated and the real sync', () => {
  let harness: LocalHarness;
  let sim: Simulator;

  beforeAll(async () => {
    harness = await startHarness({ dynamoEndpoint: inject('dynamoEndpoint'), waitOverride: 0 });
    const secret = newWebhookSecret();
    await harness.setWebhookSecret(secret);
    const ingest = await harness.startIngest();
    // New NPNs carry few records (an entity, a license with its LOA, an address), announced 250 to an event.
    sim = await startSimulator({ npns: 40, seed: 11, webhook: { url: ingest.webhookUrl, secret }, newNpnData: 'minimal', maxNpnsPerEvent: 250 });
    harness.onStop(() => sim.close());
    await harness.useProducerSyncApi({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });
  });
  afterAll(async () => {
    await harness?.stop();
  });

  const tableMatchesTruth = async () => {
    const truth = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => [endpoint, sim.groundTruth(endpoint)]));
    return describeComparison(compareWithTruth(await readSyncedRecords(harness.dynamo, harness.resources.dataTable), truth));
  };
  const pendingGroups = async (): Promise<PendingGroup[]> => {
    const store = createDynamoPendingActivationStore({ client: harness.dynamo, tableName: harness.resources.controlTable });
    const groups: PendingGroup[] = [];
    for await (const page of store.due('9999-12-31T00:00:00.000Z')) for (const due of page) groups.push((await store.get(due.id))!);
    return groups;
  };
  const backfillInputs = (from: number) =>
    harness.sfn
      .executions()
      .slice(from)
      .map((e) => JSON.parse(e.input) as { mode?: string; npns?: string[] })
      .filter((input) => input.mode === 'backfill' && input.npns);

  it('backfills the wave in executions of at most 500, gets its data a cycle later, and the retry leaves nothing pending', async () => {
    expect((await runExecution(harness, 'initial-load', { mode: 'backfill' })).status).toBe('SUCCEEDED');
    const newNpns = Array.from({ length: NEW_NPNS }, (_, i) => String(80_000_000 + i));

    // The subscription PUT completes as a job; the simulator then fires npn.activated to the webhook.
    const token = await fetchToken(sim);
    const put = await fetch(`${sim.apiBaseUrl}/v1/accounts/subscriptions`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(newNpns),
    });
    expect(put.status).toBe(200);
    const before = harness.sfn.executions().length;
    for (let waited = 0; backfillInputs(before).flatMap((input) => input.npns!).length < NEW_NPNS; waited += 100) {
      if (waited > 60_000) throw new Error('the activation backfills did not start');
      await sleep(100);
    }
    await harness.settle(120_000);
    const first = backfillInputs(before);
    expect(first.length).toBeGreaterThan(1);
    expect(first.every((input) => input.npns!.length <= MAX_BACKFILL_NPNS)).toBe(true);
    expect(first.flatMap((input) => input.npns!).sort()).toEqual(newNpns);
    expect(harness.sfn.executions().slice(before).every((e) => e.status === 'SUCCEEDED')).toBe(true);
    // AgentSync has no data for them yet: every NPN is still pending.
    expect((await pendingGroups()).flatMap((g) => g.npns).sort()).toEqual(newNpns);

    // The next NIPR cycle loads them; the daily webhook's incremental run brings their records.
    const day = await sim.advanceDay();
    expect(day.npnsLoaded).toBe(NEW_NPNS);
    expect(day.webhookStatus).toBe(202);
    await harness.settle(120_000);
    expect(await tableMatchesTruth()).toMatch(/: 0 missing, 0 extra, 0 different$/);

    // The hourly retry, once 20 h have passed: the backfills find the records, and Finalize resolves every NPN.
    const deps = createDispatcherDeps({
      dynamo: harness.dynamo,
      sfn: sfnClient(),
      dataTableName: harness.resources.dataTable,
      controlTableName: harness.resources.controlTable,
      stateMachineArn: harness.resources.stateMachineArn,
    });
    const retryFrom = harness.sfn.executions().length;
    const retry = await retryPendingActivations(deps, Date.now() + RETRY_DELAY_MS + 60_000);
    expect(retry).toMatchObject({ retried: NEW_NPNS, deactivated: 0, gaveUp: 0 });
    expect(retry.executions).toHaveLength(Math.ceil(NEW_NPNS / MAX_BACKFILL_NPNS));
    await harness.settle(120_000);
    expect(harness.sfn.executions().slice(retryFrom).every((e) => e.status === 'SUCCEEDED')).toBe(true);
    expect((await pendingGroups()).flatMap((g) => g.npns)).toEqual([]);

    // The next run deletes the emptied groups without backfilling anything.
    expect(await retryPendingActivations(deps, Date.now() + 2 * RETRY_DELAY_MS + 120_000)).toMatchObject({ resolved: retry.executions.length, retried: 0 });
    expect(await pendingGroups()).toEqual([]);
    expect(await tableMatchesTruth()).toMatch(/: 0 missing, 0 extra, 0 different$/);
    console.log(`onboarding wave of ${NEW_NPNS} NPNs: ${first.length} activation backfills (${first.map((i) => i.npns!.length).join(', ')}), ${retry.executions.length} retry backfills`);
  }, 240_000);
});
