/**
 * Issue 8, poison messages: events the dispatcher cannot handle are received exactly the configured
 * number of times (the real app's redrive policy), then sit in the dead-letter queue, which is the
 * metric the synthesized DLQ alarm watches. Re-driven to the source queue once the cause is fixed,
 * each is processed once: one execution, a synced table equal to the ground truth, and a later Svix
 * retry of the same event starts nothing new. A true poison message goes back to the DLQ, not lost.
 */
import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsClient, sqsClient } from '#commons/clients';
import type { LocalService } from '#local/dynamodb-local';
import { startHttpFront, type HttpHandler } from '#local/http-front';
import { pollQueue, type Poller } from '#local/pollers';
import type { SfnApi } from '#local/sfn-api';
import { runStateMachine } from '#local/state-machine';
import { resolveIntrinsics, resourcesOfType } from '#local/template';
import { handler as dispatcher } from '../lambdas/dispatcher/handler.ts';
import { runExecutionName } from '../lambdas/dispatcher/execution-name.ts';
import { handler as webhook } from '../lambdas/webhook/handler.ts';
import { useSfnApi } from './support/local-aws.ts';
import { recordScenario, registerSecrets } from './support/reliability-ledger.ts';
import { expectExactMatch, mismatchCount, newSecret, startSyncHarness, type SyncHarness, type Tables } from './support/reliability-harness.ts';

const FILE = 'reliability-poison.test.ts';
let h: SyncHarness;
let front: LocalService;
let sfn: SfnApi;
let tables: Tables;
let queueUrl: string;
let dlqUrl: string;
let stateMachineArn: string;
const webhookSecret = newSecret('whsec_');
/** Dispatcher deliveries per event id: how often each message was received. */
const receives = new Map<string, number>();

const countingDispatcher = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  for (const record of event.Records) {
    const id = record.messageAttributes?.eventId?.stringValue ?? 'unknown';
    receives.set(id, (receives.get(id) ?? 0) + 1);
  }
  return (await dispatcher(event)) as SQSBatchResponse;
};

beforeAll(async () => {
  front = await startHttpFront({ routes: { 'POST /webhooks/psapi': (event, context) => (webhook as HttpHandler)(event, context) } });
  registerSecrets('webhook signing secret', [webhookSecret]);
  h = await startSyncHarness({ prefix: 'rel-poison', sim: { npns: 8, seed: 51, webhook: { url: `${front.endpoint}/webhooks/psapi`, secret: webhookSecret } }, pageSize: 5 });
  const { resources } = h.resources;
  stateMachineArn = resources.SyncStateMachine!.arn;
  queueUrl = resources.EventsQueue!.url!;
  dlqUrl = resources.EventsDeadLetterQueue!.url!;
  // The deployed visibility timeout is 6 dispatcher timeouts (minutes): keep the redrive policy, wait 1 s per receive.
  await sqsClient().send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: '1' } }));
  await secretsClient().send(new PutSecretValueCommand({ SecretId: resources.WebhookSigningSecret!.arn, SecretString: webhookSecret }));
  tables = await h.freshTables();
  Object.assign(process.env, h.resources.functionEnv.WebhookFunction, h.resources.functionEnv.DispatcherFunction, {
    DATA_TABLE_NAME: tables.data,
    CONTROL_TABLE_NAME: tables.control,
  });
  sfn = await useSfnApi(h.local, { stateMachines: { [stateMachineArn]: h.asl }, handlers: h.handlers(h.syncPagesHandler(tables)) });
});
afterAll(async () => {
  await front?.stop();
  await h?.close();
});

async function visible(url: string): Promise<number> {
  const attributes = (await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes;
  return Number(attributes?.ApproximateNumberOfMessages);
}

async function receiveAll(url: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const out = await sqsClient().send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], VisibilityTimeout: 60 }),
    );
    if (!out.Messages?.length) return messages;
    messages.push(...out.Messages);
  }
}

/** fauxqs has no StartMessageMoveTask: move by hand, body and attributes unchanged, deleting only what was re-sent. */
async function redriveDlq(): Promise<string[]> {
  const moved = await receiveAll(dlqUrl);
  for (const message of moved) {
    await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body!, MessageAttributes: message.MessageAttributes }));
  }
  if (moved.length > 0) {
    await sqsClient().send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: moved.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return moved.map((m) => m.MessageAttributes?.eventId?.StringValue ?? '');
}

/** Receives until both queues are quiet: messages failing every receive end in the DLQ. */
async function drainUntilDeadLettered(poller: Poller, expectInDlq: number): Promise<void> {
  for (let i = 0; i < 40 && (await visible(dlqUrl)) < expectInDlq; i++) await new Promise((resolve) => setTimeout(resolve, 500));
  await poller.drain(30_000);
}

describe('poison messages', () => {
  it('reach the DLQ after the configured receives, raise the alarm metric, and are processed once when re-driven', async () => {
    // The template's redrive policy and alarm, as synthesized.
    const queueResource = resourcesOfType(h.resources.stacks, 'AWS::SQS::Queue').find((q) => q.constructId === 'EventsQueue')!;
    const maxReceiveCount = Number((queueResource.resource.Properties!.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount);
    expect(maxReceiveCount).toBeGreaterThan(1);
    const alarm = resourcesOfType(h.resources.stacks, 'AWS::CloudWatch::Alarm').find((a) => a.logicalId.includes('DeadLetterQueueNotEmpty'))!;
    const alarmProps = alarm.resource.Properties as Record<string, unknown>;
    const dimensions = resolveIntrinsics(alarmProps.Dimensions, { stacks: h.resources.stacks, stack: alarm.stack, physical: h.resources.physical });
    expect({ ...alarmProps, Dimensions: dimensions }).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'QueueName', Value: h.resources.resources.EventsDeadLetterQueue!.name }],
    });

    const baseline = await runStateMachine(h.asl, { mode: 'backfill' }, { handlers: h.handlers(h.syncPagesHandler(tables)), executionName: 'poison-baseline' });
    expect(baseline.status, baseline.cause).toBe('SUCCEEDED');
    const day = await h.sim.advanceDay({ deliverWebhook: false });

    // A state machine ARN that does not resolve (a bad deploy) makes every start fail; an activation without an NPN never works.
    process.env.STATE_MACHINE_ARN = `${stateMachineArn}-${randomUUID().slice(0, 4)}`;
    const dailyId = 'whe_poison_daily';
    const poisonId = 'whe_poison_no_npn';
    expect((await h.sim.sendWebhook('producersync.updates_available', { runDate: day.runDate }, { eventId: dailyId })).status).toBe(202);
    expect((await h.sim.sendWebhook('producersync.npn.activated', {}, { eventId: poisonId })).status).toBe(202);

    const poller = pollQueue({ queueUrl, handler: countingDispatcher, waitTimeSeconds: 0 });
    try {
      await drainUntilDeadLettered(poller, 2);
      expect(Object.fromEntries(receives)).toEqual({ [dailyId]: maxReceiveCount, [poisonId]: maxReceiveCount });
      expect(await visible(queueUrl)).toBe(0);
      // The alarm's metric: above its threshold of 0.
      expect(await visible(dlqUrl)).toBe(2);
      expect(sfn.executions()).toHaveLength(0);

      // Fix the cause, then re-drive the DLQ to the source queue.
      process.env.STATE_MACHINE_ARN = stateMachineArn;
      receives.clear();
      expect((await redriveDlq()).sort()).toEqual([poisonId, dailyId].sort());
      await drainUntilDeadLettered(poller, 1);
      await sfn.waitForAll();

      // The daily event was processed once; the true poison is back in the DLQ (still alarming), not lost.
      expect(receives.get(dailyId)).toBe(1);
      expect(receives.get(poisonId)).toBe(maxReceiveCount);
      expect(await visible(dlqUrl)).toBe(1);
      const executions = sfn.executions();
      expect(executions.map((e) => [e.name, e.status])).toEqual([[runExecutionName(day.runDate, dailyId), 'SUCCEEDED']]);

      // A late Svix retry of the same event is acknowledged without a second execution.
      expect((await h.sim.sendWebhook('producersync.updates_available', { runDate: day.runDate }, { eventId: dailyId })).status).toBe(202);
      await poller.drain(30_000);
      expect(sfn.executions()).toHaveLength(1);
      expect(receives.get(dailyId)).toBe(2);
    } finally {
      await poller.stop();
    }
    const record = await h.runRecord(tables, runExecutionName(day.runDate, dailyId));
    expect(record).toMatchObject({ status: 'SUCCEEDED', mode: 'incremental', runDate: day.runDate });
    expect(record.totals.inserted + record.totals.modified + record.totals.deleted).toBeGreaterThan(0);
    const comparison = await h.compare(tables);
    expectExactMatch(comparison, h.truthCount());
    recordScenario({
      file: FILE,
      scenario: `2 poison events, ${maxReceiveCount} receives each, DLQ re-drive`,
      faultsInjected: 2,
      runs: 2,
      recordsCompared: comparison.compared,
      mismatches: mismatchCount(comparison),
    });
  });
});
