/**
 * Issue 8, ordering: an old day's run that arrives late (its pages fetched before the newer day's run
 * wrote) and re-runs of an old date never overwrite newer data; the same webhook delivered five times,
 * interleaved with other events and out of order, starts exactly one execution per event, through the
 * whole local pipeline (Svix-signed HTTP → webhook Lambda → SQS → dispatcher → Step Functions → sync).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsClient, sqsClient } from '#commons/clients';
import type { LocalService } from '#local/dynamodb-local';
import { startHttpFront, type HttpHandler } from '#local/http-front';
import { pollQueue } from '#local/pollers';
import type { SfnApi } from '#local/sfn-api';
import { runStateMachine } from '#local/state-machine';
import { createProducerSyncClient } from '#producersync/client';
import type { EndpointName } from '#producersync/endpoints';
import { initialCheckpoint } from '#sync/checkpoint';
import { currentPageUrl } from '#sync/cursor';
import type { SyncPagesEvent } from '#sync/events';
import type { PageSource } from '#sync/sync-pages';
import { handler as dispatcher } from '../lambdas/dispatcher/handler.ts';
import { runExecutionName } from '../lambdas/dispatcher/execution-name.ts';
import { handler as webhook } from '../lambdas/webhook/handler.ts';
import { useSfnApi } from './support/local-aws.ts';
import { recordScenario, registerSecrets } from './support/reliability-ledger.ts';
import {
  expectExactMatch,
  expectRunRecordAgrees,
  mismatchCount,
  newSecret,
  startSyncHarness,
  SYNC_ENDPOINTS,
  type SyncHarness,
  type Tables,
} from './support/reliability-harness.ts';
import { readStream } from './sync-fixtures.ts';

const FILE = 'reliability-ordering.test.ts';
let h: SyncHarness;
let front: LocalService;
let route: HttpHandler = async () => ({ statusCode: 503 });
const webhookSecret = newSecret('whsec_');

beforeAll(async () => {
  // The front exists first so the simulator can be told where to deliver its Svix-signed webhooks.
  front = await startHttpFront({ routes: { 'POST /webhooks/psapi': (event, context) => route(event, context) } });
  registerSecrets('webhook signing secret', [webhookSecret]);
  h = await startSyncHarness({ prefix: 'rel-order', sim: { npns: 10, seed: 41, webhook: { url: `${front.endpoint}/webhooks/psapi`, secret: webhookSecret } }, pageSize: 5 });
});
afterAll(async () => {
  await front?.stop();
  await h?.close();
});

const streamLength = async (tables: Tables) => (await readStream(h.admin, tables.data)).length;

/** Fetches now every page an incremental run of `runDate` would request, to serve them later unchanged. */
async function freezePages(runDate: string): Promise<Map<string, Awaited<ReturnType<PageSource['fetchPage']>>>> {
  const client = createProducerSyncClient({ credentials: h.credentials });
  const pages = new Map<string, Awaited<ReturnType<PageSource['fetchPage']>>>();
  for (const endpoint of SYNC_ENDPOINTS) {
    const event: SyncPagesEvent = { runId: 'frozen', endpoint, mode: 'incremental', updatedSince: runDate, npns: null };
    let url: string | null = currentPageUrl(event, initialCheckpoint('frozen', endpoint), { apiBaseUrl: h.sim.apiBaseUrl, pageSize: h.pageSize });
    while (url) {
      const page = await client.fetchPage(url);
      pages.set(url, page);
      url = page.nextUrl;
    }
  }
  return pages;
}

describe('ordering', () => {
  it('a late run of an older day and re-runs of an old date do not overwrite newer data', async () => {
    const tables = await h.freshTables();
    const backfill = await runStateMachine(h.asl, { mode: 'backfill' }, { handlers: h.handlers(h.syncPagesHandler(tables)), executionName: 'order-backfill' });
    expect(backfill.status, backfill.cause).toBe('SUCCEEDED');

    // Day 1 changes; its run fetches its pages but is held up (a slow or redelivered run)...
    const day1 = await h.sim.advanceDay({ changeFraction: 0.4, deliverWebhook: false });
    const frozenDay1 = await freezePages(day1.runDate);
    // ...while day 2 changes again (many of the same records) and its run lands first.
    const day2 = await h.sim.advanceDay({ changeFraction: 0.4, deliverWebhook: false });
    const day2Run = await runStateMachine(h.asl, { runDate: day2.runDate }, { handlers: h.handlers(h.syncPagesHandler(tables)), executionName: `order-${day2.runDate}` });
    expect(day2Run.status, day2Run.cause).toBe('SUCCEEDED');

    // What the late day-1 run must refuse: its copies of records that changed again on day 2.
    const currentById = new Map<string, string>();
    for (const endpoint of SYNC_ENDPOINTS) for (const r of h.sim.groundTruth(endpoint)) currentById.set(`${endpoint}#${r.id as number}`, r.updatedAt as string);
    let expectedStale = 0;
    for (const [url, page] of frozenDay1) {
      const endpoint = new URL(url).pathname.split('/').pop() as EndpointName;
      for (const r of page.records as { id: number; updatedAt: string }[]) if ((currentById.get(`${endpoint}#${r.id}`) ?? '') > r.updatedAt) expectedStale++;
    }
    expect(expectedStale).toBeGreaterThan(0);

    const replay: PageSource = {
      async fetchPage(url) {
        const page = frozenDay1.get(url);
        if (!page) throw new Error(`no frozen page for ${url}`);
        return page;
      },
    };
    const lateHandler = h.syncPagesHandler(tables, { wrap: (deps) => ({ ...deps, source: replay }) });
    const streamBeforeLate = await streamLength(tables);
    const late = await runStateMachine(h.asl, { runDate: day1.runDate }, { handlers: h.handlers(lateHandler), executionName: `order-${day1.runDate}-late` });
    expect(late.status, late.cause).toBe('SUCCEEDED');
    const lateRecord = await h.runRecord(tables, `order-${day1.runDate}-late`);
    expect(lateRecord.totals.stale).toBe(expectedStale);
    const lateWrites = lateRecord.totals.inserted + lateRecord.totals.modified + lateRecord.totals.deleted;
    // The late run wrote only day-1 changes that day 2 did not supersede; the stream carries exactly those.
    expect((await streamLength(tables)) - streamBeforeLate).toBe(lateWrites);
    const afterLate = await h.compare(tables);
    expectExactMatch(afterLate, h.truthCount());

    // Re-running the old date against the live API, and replaying its stale pages once more, change nothing.
    const streamBeforeReruns = await streamLength(tables);
    const rerun = await runStateMachine(h.asl, { runDate: day1.runDate }, { handlers: h.handlers(h.syncPagesHandler(tables)), executionName: `order-${day1.runDate}-rerun` });
    expect(rerun.status, rerun.cause).toBe('SUCCEEDED');
    const rerunRecord = await h.runRecord(tables, `order-${day1.runDate}-rerun`);
    expect(rerunRecord.totals).toMatchObject({ inserted: 0, modified: 0, deleted: 0, stale: 0, unchanged: rerunRecord.totals.recordsSeen });
    const replayAgain = await runStateMachine(h.asl, { runDate: day1.runDate }, { handlers: h.handlers(lateHandler), executionName: `order-${day1.runDate}-replay` });
    expect(replayAgain.status, replayAgain.cause).toBe('SUCCEEDED');
    const replayRecord = await h.runRecord(tables, `order-${day1.runDate}-replay`);
    expect(replayRecord.totals).toMatchObject({ inserted: 0, modified: 0, deleted: 0, stale: expectedStale });
    expect(await streamLength(tables)).toBe(streamBeforeReruns);
    const final = await h.compare(tables);
    expectExactMatch(final, h.truthCount());

    recordScenario({
      file: FILE,
      scenario: 'late old-day run, old-date re-run and replay',
      faultsInjected: 3,
      runs: 5,
      recordsCompared: afterLate.compared + final.compared,
      mismatches: mismatchCount(afterLate) + mismatchCount(final),
    });
  });

  it('the same webhook 5 times, interleaved with other events and out of order, starts exactly one execution per event', async () => {
    const tables = await h.freshTables();
    const { resources } = h;
    const stateMachineArn = resources.resources.SyncStateMachine!.arn;
    const queueUrl = resources.resources.EventsQueue!.url!;
    const dlqUrl = resources.resources.EventsDeadLetterQueue!.url!;
    await secretsClient().send(new PutSecretValueCommand({ SecretId: resources.resources.WebhookSigningSecret!.arn, SecretString: webhookSecret }));
    Object.assign(process.env, resources.functionEnv.WebhookFunction, resources.functionEnv.DispatcherFunction, {
      DATA_TABLE_NAME: tables.data,
      CONTROL_TABLE_NAME: tables.control,
      STATE_MACHINE_ARN: stateMachineArn,
    });
    route = webhook as HttpHandler;
    const sfn: SfnApi = await useSfnApi(h.local, { stateMachines: { [stateMachineArn]: h.asl }, handlers: h.handlers(h.syncPagesHandler(tables)) });
    const poller = pollQueue({ queueUrl, handler: dispatcher, waitTimeSeconds: 0 });
    try {
      const baseline = await runStateMachine(h.asl, { mode: 'backfill' }, { handlers: h.handlers(h.syncPagesHandler(tables)), executionName: 'order-baseline' });
      expect(baseline.status, baseline.cause).toBe('SUCCEEDED');
      const day1 = await h.sim.advanceDay({ deliverWebhook: false });
      const day2 = await h.sim.advanceDay({ deliverWebhook: false });
      const npn = h.sim.subscribedNpns()[0]!;

      const events = [
        { eventId: 'whe_day2', type: 'producersync.updates_available', data: { runDate: day2.runDate } },
        { eventId: 'whe_day1', type: 'producersync.updates_available', data: { runDate: day1.runDate } },
        { eventId: 'whe_activated', type: 'producersync.npn.activated', data: { npn } },
      ];
      // Day 2 first (out of order); then each event 5 times, interleaved, in concurrent bursts as Svix retries would arrive.
      const deliveries = [events[0]!, ...Array.from({ length: 5 }, () => [events[1]!, events[2]!, events[0]!]).flat(), events[1]!, events[2]!].slice(0, 15);
      expect(deliveries.filter((e) => e === events[0])).toHaveLength(5);
      expect(deliveries.filter((e) => e === events[1])).toHaveLength(5);
      expect(deliveries.filter((e) => e === events[2])).toHaveLength(5);
      const statuses: number[] = [];
      for (let i = 0; i < deliveries.length; i += 3) {
        const burst = deliveries.slice(i, i + 3).map((e) => h.sim.sendWebhook(e.type, e.data, { eventId: e.eventId }));
        statuses.push(...(await Promise.all(burst)).map((d) => d.status));
      }
      expect(statuses).toEqual(Array(15).fill(202));

      await poller.drain(30_000);
      await sfn.waitForAll();
      const executions = sfn.executions();
      const byName = executions.map((e) => e.name).sort();
      expect(byName).toHaveLength(3);
      expect(byName).toContain(runExecutionName(day1.runDate, 'whe_day1'));
      expect(byName).toContain(runExecutionName(day2.runDate, 'whe_day2'));
      expect(executions.map((e) => JSON.parse(e.input) as unknown)).toContainEqual({ mode: 'backfill', npns: [npn] });
      expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      for (const { eventId } of events) {
        const dedup = await h.admin.send(new GetItemCommand({ TableName: tables.control, Key: { pk: { S: `EVENT#${eventId}` }, sk: { S: 'EVENT' } }, ConsistentRead: true }));
        expect(unmarshall(dedup.Item!)).toMatchObject({ status: 'DONE' });
      }
      for (const name of byName) expect((await h.runRecord(tables, name)).status).toBe('SUCCEEDED');
      const day1Record = await h.runRecord(tables, runExecutionName(day1.runDate, 'whe_day1'));
      expect(day1Record).toMatchObject({ mode: 'incremental', runDate: day1.runDate });
      const backfillRecord = await h.runRecord(tables, executions.find((e) => e.input.includes('backfill'))!.name);
      expectRunRecordAgrees(backfillRecord, h.sim, { npns: [npn] });

      for (const url of [queueUrl, dlqUrl]) {
        const attributes = (await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes;
        expect(attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
      }
      const comparison = await h.compare(tables);
      expectExactMatch(comparison, h.truthCount());
      recordScenario({
        file: FILE,
        scenario: '3 events x5 deliveries, interleaved, out of order',
        faultsInjected: 12 + 1,
        runs: executions.length + 1,
        recordsCompared: comparison.compared,
        mismatches: mismatchCount(comparison),
      });
    } finally {
      await poller.stop();
      route = async () => ({ statusCode: 503 });
    }
  });
});
