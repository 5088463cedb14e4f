/**
 * Onboarding at any size (issue 12.7), through the real dispatcher on DynamoDB Local, fauxqs and the
 * Step Functions stand-in (recording executions without running them): executions sized to what
 * Prepare accepts, waves of one-NPN events, the time budget and resumption, every payload shape
 * through the signed webhook, and the hourly retry measured in requests (a 50,000-NPN wave:
 * test/activations-bulk.test.ts).
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { dynamoClient } from '#commons/dynamo-client';
import { logger } from '#commons/logger';
import { sfnClient } from '#commons/sfn-client';
import { GIVE_UP_AFTER_MS, RETRY_DELAY_MS, retryPendingActivations } from '#dispatcher/activations';
import { createDispatcherDeps, type DispatcherDeps } from '#dispatcher/deps';
import { dispatchBatch } from '#dispatcher/dispatch';
import { handler } from '#dispatcher/handler';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { createDynamoPendingActivationStore } from '#dispatcher/pending-activations';
import type { TimeBudget } from '#dispatcher/time-budget';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { startSqs } from '#local/fauxqs';
import { startSecretsManager } from '#local/secrets-manager';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import { ACTIVATION_PAYLOAD_SHAPES, activationData } from '#sim/events';
import { deliverWebhook, newEventId, signWebhook } from '#sim/webhook-sender';
import { parseSyncInput } from '#sync/sync-input';
import {
  batch,
  countdownBudget,
  countRequests,
  createDataTableWithoutStream,
  getItem,
  NOOP_ASL,
  pendingGroups as pendingGroupsOf,
  sqsRecord,
  startWebhookRoute,
  STATE_MACHINE_ARN,
  stopRunning,
  webhookEvent,
  type RequestCount,
  type WebhookRoute,
} from './support/dispatcher-fixtures.ts';
import { createControlTable } from './sync-fixtures.ts';

logger.setLogLevel('SILENT');

const ACTIVATED = 'producersync.npn.activated';
const DEACTIVATED = 'producersync.npn.deactivated';
const npnRange = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => String(from + i));

let sfn: SfnApi;
let services: LocalService[];
let admin: DynamoDBClient;
let tables: { dataTableName: string; controlTableName: string };
/** Requests the handler's shared clients send. */
let dynamoRequests: RequestCount;
let sfnRequests: RequestCount;
let executionsBefore = 0;
const executions = () => sfn.executions().slice(executionsBefore);
const inputs = () => executions().map((e) => JSON.parse(e.input) as { mode: string; npns: string[] });
const stopAll = () => stopRunning(executions());
const depsWith = (budget?: TimeBudget): DispatcherDeps =>
  createDispatcherDeps({ dynamo: dynamoClient(), sfn: sfnClient(), ...tables, stateMachineArn: STATE_MACHINE_ARN, ...(budget ? { budget } : {}) });
const pending = () => createDynamoPendingActivationStore({ client: admin, tableName: tables.controlTableName });
const statuses = (npns: readonly string[]) => createDynamoNpnStatusStore({ client: admin, tableName: tables.dataTableName }).statuses(npns);

const pendingGroups = () => pendingGroupsOf(admin, tables.controlTableName);

beforeAll(async () => {
  sfn = await startSfnApi({ stateMachines: { [STATE_MACHINE_ARN]: NOOP_ASL } });
  services = [sfn, await startSqs(), await startSecretsManager()];
  applyEnv(localAwsEnv({ dynamo: inject('dynamoEndpoint'), sfn: sfn.endpoint, sqs: services[1]!.endpoint, secrets: services[2]!.endpoint }));
  admin = new DynamoDBClient({});
  dynamoRequests = countRequests(dynamoClient());
  sfnRequests = countRequests(sfnClient());
});
afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
});
beforeEach(async () => {
  tables = { dataTableName: await createDataTableWithoutStream(admin), controlTableName: await createControlTable(admin) };
  Object.assign(process.env, { DATA_TABLE_NAME: tables.dataTableName, CONTROL_TABLE_NAME: tables.controlTableName, STATE_MACHINE_ARN });
  executionsBefore = sfn.executions().length;
  dynamoRequests.reset();
  sfnRequests.reset();
});

describe('activation backfills', () => {
  it('sizes an activation of 1,201 NPNs into executions Prepare accepts, and a redelivery starts nothing', async () => {
    const npns = npnRange(10_000_000, 1201);
    const evt = webhookEvent(ACTIVATED, { npns });
    expect((await handler(batch(sqsRecord(evt)))).batchItemFailures).toEqual([]);
    expect(inputs().map((input) => input.npns.length).sort()).toEqual([201, 500, 500]);
    for (const input of inputs()) expect(() => parseSyncInput(input)).not.toThrow();
    expect(inputs().flatMap((input) => input.npns).sort()).toEqual(npns);
    const groups = await pendingGroups();
    expect(groups.map((g) => g.npns.length).sort()).toEqual([201, 500, 500]);
    expect(new Set(groups.map((g) => g.executionArn))).toEqual(new Set(executions().map((e) => e.executionArn)));
    const dedup = await getItem(admin, tables.controlTableName, `EVENT#${evt.id}`, 'EVENT');
    expect(dedup).toMatchObject({ status: 'DONE' });
    expect(executions().map((e) => e.executionArn)).toContain(dedup!.executionArn);
    expect([...(await statuses(npns)).values()].filter((s) => s === 'ACTIVE')).toHaveLength(1201);
    // Status items 100 to a transaction (the last step's single leftover NPN as a PutItem), one pending group per 500 NPNs.
    expect(dynamoRequests.byCommand).toMatchObject({ TransactWriteItemsCommand: 12, PutItemCommand: 4 });

    // Svix delivers it again (same event id), in another message.
    expect((await handler(batch(sqsRecord(evt)))).batchItemFailures).toEqual([]);
    expect(executions()).toHaveLength(3);
  });

  it('gives a wave of one-NPN events in one batch shared executions of 500', async () => {
    const npns = npnRange(20_000_000, 1000);
    const events = npns.map((npn) => webhookEvent(ACTIVATED, { npn }));
    expect((await handler(batch(...events.map((e) => sqsRecord(e))))).batchItemFailures).toEqual([]);
    expect(inputs().map((input) => input.npns.length)).toEqual([500, 500]);
    expect(inputs().flatMap((input) => input.npns).sort()).toEqual(npns);
    for (const e of [events[0]!, events[999]!]) expect(await getItem(admin, tables.controlTableName, `EVENT#${e.id}`, 'EVENT')).toMatchObject({ status: 'DONE' });
    // Per event a claim and a done mark; per 100 NPNs a transaction; per 500 a pending group.
    expect(dynamoRequests.byCommand).toEqual({ UpdateItemCommand: 2000, TransactWriteItemsCommand: 10, PutItemCommand: 2 });
  });

  it('stops at the time budget and resumes each event where it stopped when SQS delivers it again', async () => {
    // Each invocation may take one step (2,000 NPNs): the 2,250-NPN event needs two deliveries, the deactivation of 2,100 two more.
    const route: WebhookRoute = await startWebhookRoute({
      handler: (event: SQSEvent) => dispatchBatch(depsWith(countdownBudget(1)), event.Records),
      maxReceiveCount: 3,
    });
    try {
      const npns = npnRange(30_000_000, 2250);
      const activation = webhookEvent(ACTIVATED, npns);
      expect(await route.deliver(JSON.stringify(activation), activation.id)).toBe(202);
      await route.poller.drain(60_000);
      expect(inputs().map((input) => input.npns.length).sort()).toEqual([250, 500, 500, 500, 500]);
      expect(new Set(executions().map((e) => e.name)).size).toBe(5);
      expect(inputs().flatMap((input) => input.npns).sort()).toEqual(npns);
      expect((await pendingGroups()).map((g) => g.npns.length).sort()).toEqual([250, 500, 500, 500, 500]);
      expect(await getItem(admin, tables.controlTableName, `EVENT#${activation.id}`, 'EVENT')).toMatchObject({ status: 'DONE', npnsDone: 2000 });

      const deactivation = webhookEvent(DEACTIVATED, { npns: npns.slice(0, 2100) }, { timestamp: new Date(Date.now() + 1000).toISOString() });
      expect(await route.deliver(JSON.stringify(deactivation), deactivation.id)).toBe(202);
      await route.poller.drain(60_000);
      const stored = await statuses(npns);
      expect([...stored.values()].filter((s) => s === 'DEACTIVATED')).toHaveLength(2100);
      expect(await getItem(admin, tables.controlTableName, `EVENT#${deactivation.id}`, 'EVENT')).toMatchObject({ status: 'DONE', npnsDone: 2000 });
      expect(await route.visible(route.dlqUrl)).toBe(0);
      expect(executions()).toHaveLength(5);
    } finally {
      await route.stop();
    }
  }, 120_000);

  it('reads every activation payload shape through the signed webhook, queue and dispatcher', async () => {
    const route = await startWebhookRoute({ handler, maxReceiveCount: 2 });
    try {
      for (const [i, shape] of ACTIVATION_PAYLOAD_SHAPES.entries()) {
        const npns = npnRange(40_000_000 + i * 10, 3);
        const before = executions().length;
        for (const data of activationData(shape, npns)) {
          const signed = signWebhook(route.target, { id: newEventId(), type: ACTIVATED, timestamp: new Date().toISOString(), data });
          expect((await deliverWebhook(signed)).status, shape).toBe(202);
        }
        await route.poller.drain(60_000);
        expect(executions().slice(before).flatMap((e) => JSON.parse(e.input).npns).sort(), shape).toEqual(npns);
        expect([...(await statuses(npns)).values()], shape).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
      }
      // A deactivation whose data is the list itself.
      const npns = npnRange(40_000_000, 3);
      const signed = signWebhook(route.target, { id: newEventId(), type: DEACTIVATED, timestamp: new Date(Date.now() + 1000).toISOString(), data: activationData('list', npns)[0] });
      expect((await deliverWebhook(signed)).status).toBe(202);
      await route.poller.drain(60_000);
      expect([...(await statuses(npns)).values()]).toEqual(['DEACTIVATED', 'DEACTIVATED', 'DEACTIVATED']);
      expect(await route.visible(route.dlqUrl)).toBe(0);
    } finally {
      await route.stop();
    }
  }, 120_000);
});

describe('retry-pending-activations', () => {
  it('works thousands of pending NPNs with a request per execution, not per NPN, and regroups them by the shared size', async () => {
    const npns = npnRange(50_000_000, 3000);
    await handler(batch(sqsRecord(webhookEvent(ACTIVATED, { npns }))));
    const groups = await pendingGroups();
    expect(groups).toHaveLength(6);
    // The first group's NPNs all returned records, 100 of the second's (what the backfills' Finalize notes); 50 NPNs were deactivated since.
    await pending().resolve(groups[0]!.id, groups[0]!.npns);
    await pending().resolve(groups[1]!.id, groups[1]!.npns.slice(0, 100));
    const deactivated = groups[2]!.npns.slice(0, 50);
    await handler(batch(sqsRecord(webhookEvent(DEACTIVATED, { npns: deactivated }, { timestamp: new Date(Date.now() + 1000).toISOString() }))));

    // Before the retry delay nothing is due: the index lists nothing.
    dynamoRequests.reset();
    expect(await handler({ source: 'producersync.schedule', action: 'retry-pending-activations' })).toMatchObject({ groups: 0, retried: 0 });
    expect(dynamoRequests.total()).toBe(1);
    // Due, but the backfills still run.
    expect(await retryPendingActivations(depsWith(), Date.now() + RETRY_DELAY_MS + 1000)).toMatchObject({ groups: 6, waiting: 6, retried: 0 });

    await stopAll();
    const before = executions().length;
    dynamoRequests.reset();
    sfnRequests.reset();
    const summary = await retryPendingActivations(depsWith(), Date.now() + RETRY_DELAY_MS + 1000);
    expect(summary).toMatchObject({ groups: 6, resolved: 1, deactivated: 50, retried: 2350, waiting: 0, gaveUp: 0, more: false });
    const retried = inputs().slice(before);
    expect(retried.map((input) => input.npns.length)).toEqual([500, 500, 500, 500, 350]);
    const expected = groups.slice(1).flatMap((g, i) => (i === 0 ? g.npns.slice(100) : g.npns)).filter((npn) => !deactivated.includes(npn));
    expect(retried.flatMap((input) => input.npns).sort()).toEqual(expected.sort());
    // 2,350 NPNs: one index page, a GetItem per due group, status reads 100 NPNs a request, a put per new group, a delete per old one.
    expect(dynamoRequests.byCommand).toEqual({ QueryCommand: 1, GetItemCommand: 6, BatchGetItemCommand: 24, PutItemCommand: 5, DeleteItemCommand: 6 });
    expect(sfnRequests.byCommand).toEqual({ DescribeExecutionCommand: 6, StartExecutionCommand: 5 });
    const regrouped = await pendingGroups();
    expect(regrouped.map((g) => g.attempts)).toEqual([2, 2, 2, 2, 2]);
    expect(regrouped.every((g) => g.firstSeenAt === groups[0]!.firstSeenAt)).toBe(true);

    // A week after the activation, with still no data, the retries stop.
    await stopAll();
    expect(await retryPendingActivations(depsWith(), Date.now() + GIVE_UP_AFTER_MS + 1000)).toMatchObject({ groups: 5, gaveUp: 2350, retried: 0 });
    expect(await pendingGroups()).toEqual([]);
  }, 120_000);

  it('stops at the time budget part-way and leaves the rest for the next run, without backfilling an NPN twice', async () => {
    await handler(batch(sqsRecord(webhookEvent(ACTIVATED, { npns: npnRange(60_000_000, 1250) }))));
    await stopAll();
    const before = executions().length;
    const later = Date.now() + RETRY_DELAY_MS + 1000;
    // Budget for the listing and one step of 500.
    const first = await retryPendingActivations(depsWith(countdownBudget(2)), later);
    expect(first).toMatchObject({ retried: 500, more: true });
    // The group split by the step keeps only what was not backfilled again.
    expect((await pendingGroups()).map((g) => [g.attempts, g.npns.length]).sort()).toEqual([[1, 250], [1, 500], [2, 500]]);
    await stopAll();
    const second = await retryPendingActivations(depsWith(), later);
    expect(second).toMatchObject({ retried: 750, more: false });
    const retried = inputs().slice(before).flatMap((input) => input.npns);
    expect(new Set(retried).size).toBe(1250);
    expect(retried).toHaveLength(1250);
  }, 120_000);

  it('reads pending items written by 0.1 (one per NPN) and regroups them', async () => {
    const firstSeenAt = new Date(Date.now() - RETRY_DELAY_MS - 60_000).toISOString();
    for (const npn of ['700', '701', '702']) {
      await admin.send(
        new PutItemCommand({
          TableName: tables.controlTableName,
          Item: marshall({ pk: `ACTIVATION#${npn}`, sk: 'PENDING', kind: 'pendingActivation', startedAt: firstSeenAt, npn, attempts: 1, firstSeenAt, nextAttemptAt: firstSeenAt, eventId: 'e', expiresAt: 1 }),
        }),
      );
    }
    expect(await retryPendingActivations(depsWith())).toMatchObject({ groups: 3, retried: 3 });
    expect(inputs()).toEqual([{ mode: 'backfill', npns: ['700', '701', '702'] }]);
    expect((await pendingGroups()).map((g) => g.npns)).toEqual([['700', '701', '702']]);
  });
});
