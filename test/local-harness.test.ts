import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { newWebhookSecret, startHarness, type Ingest, type LocalHarness } from '#local/harness';
import { outcomeOf, runExecution } from '../scripts/local-deployment/outcome.ts';
import { compareWithTruth, describeComparison, readSyncedRecords } from '../scripts/support/table-export.ts';

/** The wiring behind `npm run local`, at a small population. */
describe('local harness: the app with its ingest', () => {
  let harness: LocalHarness;
  let ingest: Ingest;
  let sim: Simulator;

  beforeAll(async () => {
    harness = await startHarness({ dynamoEndpoint: inject('dynamoEndpoint') });
    const secret = newWebhookSecret();
    await harness.setWebhookSecret(secret);
    ingest = await harness.startIngest();
    sim = await startSimulator({ npns: 60, seed: 3, webhook: { url: ingest.webhookUrl, secret } });
    harness.onStop(() => sim.close());
    await harness.useProducerSyncApi({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('backfill, then the signed webhook runs the day through queue, dispatcher and state machine; the stream carries exactly its writes', async () => {
    const backfill = await runExecution(harness, 'test-backfill', { mode: 'backfill' });
    expect(backfill.status).toBe('SUCCEEDED');
    expect(backfill.run?.totals?.inserted).toBeGreaterThan(0);

    const changes: DynamoDBRecord[] = [];
    await harness.followChanges((records) => void changes.push(...records));
    const day = await sim.advanceDay();
    expect(day.webhookStatus).toBe(202);
    await harness.settle(60_000);

    const executions = harness.sfn.executions();
    expect(executions.map((e) => e.name)).toEqual(['test-backfill', `run-${day.runDate}-${day.eventId}`]);
    expect(JSON.parse(executions[1]!.input)).toEqual({ mode: 'incremental', runDate: day.runDate });
    const incremental = await outcomeOf(harness, executions[1]!.executionArn);
    expect(incremental.status).toBe('SUCCEEDED');
    const totals = incremental.run!.totals!;
    const written = (totals.inserted ?? 0) + (totals.modified ?? 0) + (totals.deleted ?? 0);
    expect(written).toBeGreaterThan(0);
    expect(changes.length).toBe(written);
    expect(changes.every((c) => c.eventName === 'INSERT' || c.eventName === 'MODIFY')).toBe(true);

    const truth = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => [endpoint, sim.groundTruth(endpoint)]));
    const comparison = compareWithTruth(await readSyncedRecords(harness.dynamo, harness.resources.dataTable), truth);
    expect(describeComparison(comparison)).toMatch(/: 0 missing, 0 extra, 0 different$/);
  }, 120_000);

  it('refuses a webhook with a bad signature and starts nothing', async () => {
    const before = harness.sfn.executions().length;
    const body = JSON.stringify({ id: 'whe_forged', type: 'producersync.updates_available', timestamp: new Date().toISOString(), data: { runDate: sim.today } });
    const response = await fetch(ingest.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'svix-id': 'whe_forged', 'svix-timestamp': String(Math.floor(Date.now() / 1000)), 'svix-signature': 'v1,Zm9yZ2Vk' },
      body,
    });
    expect(response.status).toBe(401);
    await harness.settle(30_000);
    expect(harness.sfn.executions().length).toBe(before);
  });
});
