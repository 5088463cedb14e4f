/**
 * Issue 8, webhook abuse: forged, replayed-after-tolerance, tampered, wrong-secret, header-less,
 * non-JSON, huge and deeply nested requests through the local HTTP front to the real webhook Lambda
 * are all refused, and none reaches the queue; 200 concurrent valid deliveries are all acknowledged
 * within 5 s and exactly those 200 are queued.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { secretsClient, sqsClient } from '#commons/clients';
import type { LocalService } from '#local/dynamodb-local';
import { startHttpFront, type HttpHandler } from '#local/http-front';
import { handler as webhook, MAX_BODY_BYTES } from '../lambdas/webhook/handler.ts';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';
import { recordScenario, registerSecrets } from './support/reliability-ledger.ts';
import { newSecret } from './support/reliability-harness.ts';

const FILE = 'reliability-webhook-abuse.test.ts';
const CONCURRENT_DELIVERIES = 200;
const ANSWER_WITHIN_MS = 5_000;

let local: LocalAws;
let front: LocalService;
let queueUrl: string;
const signingSecret = newSecret('whsec_');
/** Event ids of every delivery that should be on the queue. */
const expectedOnQueue = new Set<string>();

beforeAll(async () => {
  local = await useLocalAws();
  registerSecrets('webhook signing secret', [signingSecret]);
  const suffix = randomUUID().slice(0, 8);
  queueUrl = (await sqsClient().send(new CreateQueueCommand({ QueueName: `abuse-events-${suffix}`, Attributes: { VisibilityTimeout: '300' } }))).QueueUrl!;
  const secretId = `abuse-webhook-${suffix}`;
  await secretsClient().send(new CreateSecretCommand({ Name: secretId, SecretString: signingSecret }));
  // The deployed handler, configured as the stack configures it.
  process.env.WEBHOOK_SECRET_ARN = secretId;
  process.env.EVENTS_QUEUE_URL = queueUrl;
  front = await startHttpFront({ routes: { 'POST /webhooks/psapi': webhook as HttpHandler } });
});
afterAll(async () => {
  await front?.stop();
  await local?.cleanup();
});

const event = (eventId = `whe_${randomBytes(8).toString('hex')}`, data: Record<string, unknown> = { runDate: '2025-07-24' }) => ({
  eventId,
  body: JSON.stringify({ id: eventId, type: 'producersync.updates_available', timestamp: new Date().toISOString(), data }),
});

function sign(msgId: string, body: string, opts: { secret?: string; at?: Date } = {}): Record<string, string> {
  const at = opts.at ?? new Date();
  return {
    'content-type': 'application/json',
    'svix-id': msgId,
    'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
    'svix-signature': new Webhook(opts.secret ?? signingSecret).sign(msgId, at, body),
  };
}

async function post(body: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${front.endpoint}/webhooks/psapi`, { method: 'POST', headers, body });
  await response.arrayBuffer();
  return response.status;
}

const without = (headers: Record<string, string>, name: string) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));

async function queueDepth(): Promise<number> {
  const attributes = (await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes;
  return Number(attributes?.ApproximateNumberOfMessages) + Number(attributes?.ApproximateNumberOfMessagesNotVisible);
}

describe('webhook abuse', () => {
  it('refuses every forged, replayed, tampered, unsigned, malformed, huge or deeply nested request, and queues none of them', async () => {
    const valid = event();
    const validHeaders = sign(valid.eventId, valid.body);
    expect(await post(valid.body, validHeaders)).toBe(202);
    expectedOnQueue.add(valid.eventId);

    const nested = (depth: number) => `{"id":"whe_deep","type":"producersync.updates_available","data":{"runDate":"2025-07-24","x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const huge = event(undefined, { runDate: '2025-07-24', pad: 'x'.repeat(MAX_BODY_BYTES) });
    const notJson = 'runDate=2025-07-24&id=whe_form';
    const other = event();
    const cases: Array<[string, string, Record<string, string>, number]> = [
      ['forged signature', other.body, { ...sign(other.eventId, other.body), 'svix-signature': `v1,${randomBytes(32).toString('base64')}` }, 401],
      ['signed with the wrong secret', other.body, sign(other.eventId, other.body, { secret: newSecret('whsec_') }), 401],
      ['tampered body', valid.body.replace('2025-07-24', '2025-07-25'), validHeaders, 401],
      ['another event under a captured signature', other.body, validHeaders, 401],
      ['svix-signature missing', other.body, without(sign(other.eventId, other.body), 'svix-signature'), 401],
      ['svix-timestamp missing', other.body, without(sign(other.eventId, other.body), 'svix-timestamp'), 401],
      ['svix-id missing', other.body, without(sign(other.eventId, other.body), 'svix-id'), 401],
      ['no headers at all', other.body, {}, 401],
      ['timestamp 10 minutes in the future', other.body, sign(other.eventId, other.body, { at: new Date(Date.now() + 600_000) }), 401],
      ['not JSON, unsigned', notJson, { 'content-type': 'application/x-www-form-urlencoded' }, 401],
      ['not JSON, correctly signed', notJson, sign('whe_form', notJson), 400],
      ['JSON without an id, correctly signed', '{"type":"producersync.updates_available","data":{"runDate":"2025-07-24"}}', sign('whe_noid', '{"type":"producersync.updates_available","data":{"runDate":"2025-07-24"}}'), 400],
      ['huge body (over 256 KB), correctly signed', huge.body, sign(huge.eventId, huge.body), 413],
      ['huge body (2 MB), unsigned', 'x'.repeat(2_000_000), { 'content-type': 'application/json' }, 413],
      ['nested 100 deep, correctly signed', nested(100), sign('whe_deep', nested(100)), 400],
      ['nested 100,000 deep, correctly signed', nested(100_000), sign('whe_deep', nested(100_000)), 400],
      ['nested 100,000 deep, unsigned', nested(100_000), { 'content-type': 'application/json' }, 401],
    ];
    const outcomes: string[] = [];
    for (const [name, body, headers, expected] of cases) outcomes.push(`${name}: ${await post(body, headers)} (want ${expected})`);

    // The captured valid delivery replayed after Svix's 5-minute tolerance.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      outcomes.push(`replayed after tolerance: ${await post(valid.body, validHeaders)} (want 401)`);
    } finally {
      vi.useRealTimers();
    }
    expect(outcomes).toEqual([...cases.map(([name, , , expected]) => `${name}: ${expected} (want ${expected})`), 'replayed after tolerance: 401 (want 401)']);

    // Only the one valid delivery is on the queue.
    expect(await queueDepth()).toBe(1);
    recordScenario({ file: FILE, scenario: 'invalid deliveries refused, none queued', faultsInjected: cases.length + 1, runs: cases.length + 2, recordsCompared: 1, mismatches: (await queueDepth()) - 1 });
  });

  it(`acknowledges ${CONCURRENT_DELIVERIES} concurrent valid deliveries within 5 s each and queues exactly those`, async () => {
    const depthBefore = await queueDepth();
    const deliveries = Array.from({ length: CONCURRENT_DELIVERIES }, () => event());
    const startedAt = performance.now();
    const answered = await Promise.all(
      deliveries.map(async ({ eventId, body }) => {
        const status = await post(body, sign(eventId, body));
        return { eventId, status, ms: performance.now() - startedAt };
      }),
    );
    expect(answered.filter((a) => a.status !== 202)).toEqual([]);
    const slowest = Math.max(...answered.map((a) => a.ms));
    expect(slowest).toBeLessThan(ANSWER_WITHIN_MS);
    for (const { eventId } of deliveries) expectedOnQueue.add(eventId);
    expect((await queueDepth()) - depthBefore).toBe(CONCURRENT_DELIVERIES);

    // Everything on the queue is one of the valid deliveries, each exactly once.
    const seen: string[] = [];
    for (let empty = 0; empty < 2; ) {
      const out = await sqsClient().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }));
      const messages: Message[] = out.Messages ?? [];
      if (messages.length === 0) empty++;
      for (const m of messages) seen.push(m.MessageAttributes?.eventId?.StringValue ?? `unknown:${m.Body?.slice(0, 40)}`);
    }
    expect(seen.sort()).toEqual([...expectedOnQueue].sort());
    const unexpected = seen.filter((id) => !expectedOnQueue.has(id)).length + (seen.length - new Set(seen).size);
    recordScenario({
      file: FILE,
      scenario: `${CONCURRENT_DELIVERIES} concurrent valid deliveries (slowest ${Math.round(slowest)} ms)`,
      faultsInjected: 0,
      runs: CONCURRENT_DELIVERIES,
      recordsCompared: seen.length,
      mismatches: unexpected,
    });
  });
});
