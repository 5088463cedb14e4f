/**
 * The lifecycle soak (issue 12, "test it as a life"): one deployment on the local harness (the real
 * handlers, the synthesized state machine, DynamoDB Local, fauxqs), fed by the simulator's signed
 * webhooks, over 35 simulated days: an empty deployment whose first webhook brings the initial load, lost
 * webhooks and a stretch without any (the fallback catches up), duplicate, late and test deliveries, an
 * onboarding wave through npn.activated needing several executions, deactivations, changes without an
 * updatedAt bump and the weekly reconcile. After every day: the table holds exactly the ground truth up to
 * the watermark (everything once the day's run is in), the stream replays into the table with each change
 * once, and the watermark never runs ahead of what was synced.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDispatcherHandler } from '#dispatcher/handler';
import { newWebhookSecret, startHarness, type LocalHarness } from '#local/harness';
import { lambdaContext } from '#local/lambda-context';
import type { LambdaHandler } from '#local/state-machine';
import { createProducerSyncClient } from '#producersync/client';
import { DEFAULT_SYNC_ENDPOINTS, type EndpointName } from '#producersync/endpoints';
import { addSubscriptions, removeSubscriptions, waitForJob, type SubscriptionJobRef } from '#producersync/subscriptions';
import { startSimulator, type RecordRef, type Simulator } from '#sim/server';
import { UPDATES_AVAILABLE } from '#sim/events';
import { contentHash } from '#sync/content-hash';
import { createFinalizeHandler } from '#sync/finalize';
import { createPrepareHandler } from '#sync/prepare';
import { createDynamoRunStore } from '#sync/run-record';
import { createSyncPagesHandler } from '#sync/sync-pages';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { scanItems } from '../scripts/support/table-export.ts';
import { recordScenario } from './support/reliability-ledger.ts';

const DAYS = 35;
const HOUR = 3_600_000;
/** Sundays of the simulated month: the weekly reconcile runs at 06:00 (the default schedule). */
const RECONCILE_DAYS = new Set([7, 14, 21, 28, 35]);
/** Days whose updates_available AgentSync created but never delivered (Svix gave up). */
const LOST_DAYS = [4, 11];
/** Days without any webhook (an outage on AgentSync's side): the hourly freshness check catches up. */
const SILENT_DAYS = [15, 16, 17, 18];
/** Its event is held back and arrives after the next day's run: acknowledged as old. */
const LATE_DAY = 21;
/** Every day's event delivered four times (Svix retries of one message). */
const DUPLICATED_DAY = 8;
const TEST_EVENT_DAYS = [2, 25];
/** The onboarding wave: 600 NPNs (more than one execution takes), in three subscription jobs. */
const WAVE_DAY = 3;
const WAVE = Array.from({ length: 600 }, (_, i) => String(700_000_000 + i * 7));
const DEACTIVATION_DAY = 9;
/** The checks of the hourly freshness schedule the soak runs each day (every other hour is the same check again). */
const CHECK_HOURS = [5, 11, 17];

const runDateOf = (day: number) => new Date(Date.parse('2025-07-24T00:00:00Z') + day * 86_400_000).toISOString().slice(0, 10);

/**
 * The deployment's clock, shared by every handler: simulated days, each 24 hours. It runs behind the wall clock
 * (which the simulator's webhooks stamp their events with), so a webhook is always newer than a reconcile's
 * status writes, as in AWS where both read one clock.
 */
const clock = { ms: Date.now() - 100 * 86_400_000 };
const dayStart = clock.ms;
const at = (day: number, hour: number) => {
  clock.ms = dayStart + ((day - 1) * 24 + hour) * HOUR;
};
const now = () => clock.ms;

let harness: LocalHarness;
let sim: Simulator;
const stream: DynamoDBRecord[] = [];
const figures = { lost: 0, duplicates: 0, late: 0, testEvents: 0, catchUps: 0, corrected: 0, compared: 0, mismatches: 0 };

beforeAll(async () => {
  harness = await startHarness({
    dynamoEndpoint: inject('dynamoEndpoint'),
    // The real handlers, on the deployment's clock.
    handlers: {
      PrepareFunction: createPrepareHandler({ now }) as LambdaHandler,
      SyncPagesFunction: createSyncPagesHandler({ now }) as LambdaHandler,
      FinalizeFunction: createFinalizeHandler({ now }) as LambdaHandler,
      DispatcherFunction: createDispatcherHandler({ now }) as LambdaHandler,
    },
    // Simulated time: no Wait state sleeps (a reconcile's yield, a throttle).
    waitOverride: 0,
    environment: { API_REQUESTS_PER_MINUTE: '600000', PAGE_SIZE: '200' },
  });
  const secret = newWebhookSecret();
  await harness.setWebhookSecret(secret);
  const { webhookUrl } = await harness.startIngest();
  sim = await startSimulator({
    npns: 60,
    seed: 12,
    webhook: { url: webhookUrl, secret },
    webhookLoss: { runDates: LOST_DAYS.map(runDateOf) },
    noBumpFraction: 0.002,
    newNpnData: 'minimal',
    maxNpnsPerEvent: 250,
    subscriptionJobDelayMs: 5,
    rateLimit: { apiPerMinute: 1_000_000 },
  });
  harness.onStop(() => sim.close());
  await harness.followChanges((records) => void stream.push(...records), { startingPosition: 'TRIM_HORIZON' });
}, 120_000);
afterAll(async () => {
  await harness?.stop();
});

const dispatcher = () => harness.handlers.DispatcherFunction!;
/** What EventBridge does at a rule's time: invoke the dispatcher with the rule's input. */
const scheduled = (action: string) => dispatcher()({ source: 'producersync.schedule', action }, lambdaContext('producersync-dispatcher')) as Promise<Record<string, unknown>>;
const watermark = async () => (await createDynamoWatermarkStore({ client: harness.dynamo, tableName: harness.resources.controlTable }).load()).watermark;
const runs = () => createDynamoRunStore({ client: harness.dynamo, tableName: harness.resources.controlTable });
const api = () => createProducerSyncClient({ credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl } });

/** Waits until `probe` is true (a webhook the simulator delivers in the background), then for the deployment to settle. */
async function settleWhen(probe: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; !(await probe()); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await harness.settle(60_000);
}

/** A subscription change, as an operator makes it, and the webhook it fires handled. */
async function changeSubscriptions(change: typeof addSubscriptions, npns: string[], arrived: () => Promise<boolean> | boolean): Promise<void> {
  const client = api();
  const jobs: SubscriptionJobRef[] = await change(client, npns);
  for (const job of jobs) if (job.jobId) await waitForJob(client, job.jobId, { pollMs: 5 });
  await settleWhen(arrived, 'the subscription change webhook');
}

/** What the soak has to allow for, day after day. */
const state = {
  /** Records changed without an updatedAt bump since the last reconcile: the copy may still hold the old content. */
  noBump: new Map<string, RecordRef>(),
  /** NPNs no longer subscribed: their items stay; a reconcile after the removal marks them. */
  removed: new Set<string>(),
  removedBeforeReconcile: new Set<string>(),
  /** Per item, the image it last streamed (replaying the stream must give the table). */
  replica: new Map<string, Record<string, unknown>>(),
  streamed: 0,
};

const keyOf = (item: Record<string, unknown>) => `${item.pk as string}|${item.sk as string}`;
const withoutChangedAt = ({ changedAt: _changedAt, ...rest }: Record<string, unknown>) => rest;

/** After a day: the copy, the stream and the watermark. Returns the records compared. */
async function verifyDay(day: number): Promise<number> {
  const wm = await watermark();
  const today = sim.today;
  expect(wm, `day ${day}: the watermark exists after the initial load`).toBeDefined();
  // Never ahead of AgentSync's data.
  expect(wm! <= today, `day ${day}: watermark ${wm} after ${today}`).toBe(true);

  const items = await scanItems(harness.dynamo, harness.resources.dataTable);
  const byKey = new Map(items.map((item) => [keyOf(item), item]));
  let compared = 0;
  const truthKeys = new Set<string>();
  for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
    for (const record of sim.groundTruth(endpoint)) {
      const key = `NPN#${record.npn as string}|${endpoint}#${record.id as number}`;
      truthKeys.add(key);
      // Up to the watermark the copy is complete: what the watermark claims was really synced.
      if ((record.updatedAt as string) > wm!) continue;
      const item = byKey.get(key);
      if (state.noBump.has(`${endpoint}#${record.id as number}`)) {
        expect(item, `day ${day}: ${key} (changed without a bump) is kept`).toBeDefined();
        continue;
      }
      compared++;
      expect(item?.contentHash, `day ${day}: ${key}`).toBe(contentHash(record));
      expect(item?.record, `day ${day}: ${key}`).toEqual(record);
      expect(item?.missingFromSource, `day ${day}: ${key} is returned by the source`).toBeUndefined();
    }
  }
  // Nothing extra but what the source stopped returning, marked once a reconcile has seen it gone.
  for (const item of items) {
    if (item.sk === 'STATUS' || truthKeys.has(keyOf(item))) continue;
    const npn = item.npn as string;
    expect(state.removed.has(npn), `day ${day}: ${keyOf(item)} is neither in the truth nor of a removed NPN`).toBe(true);
    if (state.removedBeforeReconcile.has(npn)) expect(item.missingFromSource, `day ${day}: ${keyOf(item)} marked`).toMatchObject({ reason: 'notReturnedBySource' });
  }
  // NPN statuses: every removed NPN deactivated, every wave NPN active.
  const statuses = new Map(items.filter((item) => item.sk === 'STATUS').map((item) => [item.npn as string, item.status as string]));
  for (const npn of state.removed) expect(statuses.get(npn), `day ${day}: ${npn}`).toBe('DEACTIVATED');
  if (day >= WAVE_DAY) for (const npn of WAVE) expect(statuses.get(npn), `day ${day}: wave ${npn}`).toBe('ACTIVE');

  // The stream (read to its end by the day's settle): each change once (no record repeats the image before
  // it), and replaying it gives the table.
  for (const record of stream.slice(state.streamed)) {
    const key = `${record.dynamodb!.Keys!.pk!.S}|${record.dynamodb!.Keys!.sk!.S}`;
    const image = record.dynamodb?.NewImage ? unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) : undefined;
    const previous = state.replica.get(key);
    expect(image, `day ${day}: ${key} removed`).toBeDefined();
    if (previous) expect(withoutChangedAt(image!), `day ${day}: ${key} written without a change`).not.toEqual(withoutChangedAt(previous));
    state.replica.set(key, image!);
  }
  state.streamed = stream.length;
  expect(state.replica.size, `day ${day}: the stream holds every item`).toBe(items.length);
  for (const item of items) expect(state.replica.get(keyOf(item)), `day ${day}: ${keyOf(item)} as streamed`).toEqual(item);
  return compared;
}

/** The weekly reconcile: the schedule's action, then every no-bump change and every removed NPN is accounted for. */
async function reconcile(day: number): Promise<void> {
  at(day, 6);
  const started = await scheduled('reconcile');
  expect(started).toMatchObject({ started: true });
  // A scheduled action goes straight to the dispatcher: only its executions to wait for, no queue.
  await harness.sfn.waitForAll();
  const run = await runs().load(started.runId as string);
  expect(run, `day ${day}: reconcile`).toMatchObject({ status: 'SUCCEEDED', mode: 'reconcile' });
  figures.corrected += run!.totals?.corrected ?? 0;
  state.noBump.clear();
  for (const npn of state.removed) state.removedBeforeReconcile.add(npn);
}

/** One simulated day: the hourly checks, the day's events, AgentSync's update at 23:00 and its webhook. */
async function liveDay(day: number): Promise<void> {
  for (const hour of CHECK_HOURS) {
    at(day, hour);
    const check = await scheduled('check-freshness');
    if (day === 1) expect(check.action, `day 1 ${hour}:00: no credentials yet`).toBe('waiting-for-credentials');
    if (check.action === 'catch-up-started') figures.catchUps++;
    if (hour === 5) await scheduled('retry-pending-activations');
    await harness.sfn.waitForAll();
  }
  if (RECONCILE_DAYS.has(day)) await reconcile(day);

  at(day, 20);
  if (day === 1) {
    // The operator puts the credentials in; the next webhook brings the initial load.
    await harness.useProducerSyncApi({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });
  }
  if (TEST_EVENT_DAYS.includes(day)) {
    // The portal's "Send Example": its old example runDate is not newer than the watermark.
    const before = harness.sfn.executions().length;
    expect((await sim.sendTestEvent()).status).toBe(202);
    await harness.settle(60_000);
    expect(harness.sfn.executions()).toHaveLength(before);
    figures.testEvents++;
  }
  if (day === WAVE_DAY) {
    // Three jobs of 200: three npn.activated events, three backfills. (One job of 600 waits on the `onboard` work.)
    for (let i = 0; i < WAVE.length; i += 200) {
      const before = harness.sfn.executions().length;
      await changeSubscriptions(addSubscriptions, WAVE.slice(i, i + 200), () => harness.sfn.executions().length > before);
    }
  }
  if (day === DEACTIVATION_DAY) {
    const gone = sim.subscribedNpns().filter((npn) => !WAVE.includes(npn)).slice(10, 15);
    for (const npn of gone) state.removed.add(npn);
    const statusOf = async (npn: string) =>
      (await harness.dynamo.send(new GetItemCommand({ TableName: harness.resources.dataTable, Key: { pk: { S: `NPN#${npn}` }, sk: { S: 'STATUS' } }, ConsistentRead: true }))).Item?.status?.S;
    await changeSubscriptions(removeSubscriptions, gone, async () => (await Promise.all(gone.map(statusOf))).every((s) => s === 'DEACTIVATED'));
  }

  at(day, 23);
  const silent = SILENT_DAYS.includes(day) || day === LATE_DAY;
  const result = await sim.advanceDay({ deliverWebhook: !silent });
  for (const ref of result.withoutBump) state.noBump.set(`${ref.endpoint}#${ref.id}`, ref);
  if (result.webhookLost) figures.lost++;
  if (!silent && !result.webhookLost) expect(result.webhookStatus, `day ${day}: webhook`).toBe(202);
  if (day === DUPLICATED_DAY) {
    for (let i = 0; i < 3; i++) expect((await sim.sendWebhook(UPDATES_AVAILABLE, { runDate: result.runDate }, { eventId: result.eventId })).status).toBe(202);
    figures.duplicates += 3;
  }
  if (day === LATE_DAY + 1) {
    // The event of the day before, delivered after this day's: not newer than the watermark, no pull.
    await harness.settle(60_000);
    expect((await sim.sendWebhook(UPDATES_AVAILABLE, { runDate: runDateOf(LATE_DAY) })).status).toBe(202);
    figures.late++;
  }
  await harness.settle(120_000);

  // A day whose webhook arrived is fully synced by its run: the watermark is the day itself.
  if (!silent && !result.webhookLost) expect(await watermark(), `day ${day}`).toBe(result.runDate);
}

describe('a deployment over 35 simulated days', () => {
  it('stays equal to the source: initial load, lost and missing webhooks, duplicates, an onboarding wave, deactivations, drift and weekly reconciles', async () => {
    for (let day = 1; day <= DAYS; day++) {
      await liveDay(day);
      figures.compared += await verifyDay(day);
    }
    // One more reconcile the morning after: every record is then exactly the source's, the last drift included.
    await reconcile(DAYS + 1);
    await harness.settle(60_000);
    figures.compared += await verifyDay(DAYS + 1);
    expect(state.noBump.size).toBe(0);

    const executions = harness.sfn.executions();
    expect(executions.filter((e) => e.status !== 'SUCCEEDED').map((e) => `${e.name} ${e.status}`)).toEqual([]);
    const first = executions[0]!;
    // The first webhook brought the initial load; nothing ran before it.
    expect(first.name).toMatch(new RegExp(`^run-${runDateOf(1)}-`));
    expect(await runs().load(first.name)).toMatchObject({ initialLoad: true, mode: 'backfill', status: 'SUCCEEDED' });
    // The wave's three events, three backfills; its data came with the next daily run, so one retry
    // backfill per 500 pending NPNs finds it and its Finalize resolves them (no query per NPN).
    expect(executions.filter((e) => /^activation-\d/.test(e.name))).toHaveLength(3);
    expect(executions.filter((e) => e.name.startsWith('activation-retry-'))).toHaveLength(Math.ceil(WAVE.length / 500));
    // One run per delivered day (duplicates, late and test events started nothing), the catch-ups, the reconciles.
    const daily = executions.filter((e) => e.name.startsWith('run-'));
    expect(daily).toHaveLength(DAYS - LOST_DAYS.length - SILENT_DAYS.length - 1);
    expect(figures.catchUps).toBeGreaterThanOrEqual(2);
    expect(executions.filter((e) => e.name.startsWith('catch-up-'))).toHaveLength(figures.catchUps);
    expect(figures.corrected).toBeGreaterThan(0);
    expect(figures.lost).toBe(LOST_DAYS.length);

    recordScenario({
      file: 'soak-lifecycle.test.ts',
      scenario: `${DAYS} simulated days: ${figures.lost} webhooks lost, ${SILENT_DAYS.length} days without any, ${figures.catchUps} catch-ups, ${figures.corrected} drift corrected by ${RECONCILE_DAYS.size + 1} reconciles`,
      faultsInjected: figures.lost + SILENT_DAYS.length + figures.duplicates + figures.late + figures.testEvents,
      runs: executions.length,
      recordsCompared: figures.compared,
      mismatches: figures.mismatches,
    });
    console.info(`soak: ${JSON.stringify({ days: DAYS, executions: executions.length, ...figures })}`);
  }, 600_000);
});
