import { randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { Webhook } from 'svix';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '#commons/logger';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import { startSqs } from '#local/fauxqs';
import { startHttpFront } from '#local/http-front';
import { startSecretsManager } from '#local/secrets-manager';
import type { LocalService } from '#local/dynamodb-local';
import { lambdaContext } from '#local/lambda-context';
import { createWebhookHandler, handler as defaultHandler, MAX_BODY_BYTES, type WebhookRequest, type WebhookResponse } from '#webhook/handler';
import { createSigningSecretStore } from '#webhook/signing-secret';
import { captureLogLines, captureMetricLines, expectLambdaContextOnEveryLine } from './log-capture.ts';

logger.setLogLevel('SILENT');

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

let sqsService: LocalService;
let secretsService: LocalService;
let sqs: SQSClient;
let secretsManager: SecretsManagerClient;
let front: LocalService;
let queueUrl: string;
let secretId: string;
let signingSecret: string;

beforeAll(async () => {
  [sqsService, secretsService] = await Promise.all([startSqs(), startSecretsManager()]);
  applyEnv(localAwsEnv({ sqs: sqsService.endpoint, secrets: secretsService.endpoint }));
  sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  secretsManager = new SecretsManagerClient({});
  // The route calls the per-test handler (its own queue and secret) set in beforeEach.
  front = await startHttpFront({ routes: { 'POST /webhooks/psapi': (event) => current(event) } });
});
afterAll(async () => {
  await Promise.all([front?.stop(), sqsService?.stop(), secretsService?.stop()]);
});

let current: (event: WebhookRequest, context?: Context) => Promise<WebhookResponse>;
beforeEach(async () => {
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `events-${randomUUID().slice(0, 8)}` }))).QueueUrl!;
  signingSecret = newSecret();
  secretId = `webhook-${randomUUID().slice(0, 8)}`;
  await secretsManager.send(new CreateSecretCommand({ Name: secretId, SecretString: signingSecret }));
  // No refresh throttle, so the rotation test need not wait.
  current = createWebhookHandler({ secrets: createSigningSecretStore({ client: secretsManager, secretId, minRefreshIntervalMs: 0 }), queueUrl });
});

const sample = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ id: `whe_${randomUUID()}`, type: 'producersync.updates_available', timestamp: new Date().toISOString(), data: { runDate: '2025-07-24' }, ...overrides });

function signedHeaders(body: string, opts: { secret?: string; msgId?: string; at?: Date; prefix?: 'svix' | 'webhook' } = {}): Record<string, string> {
  const msgId = opts.msgId ?? `msg_${randomUUID()}`;
  const at = opts.at ?? new Date();
  const prefix = opts.prefix ?? 'svix';
  return {
    'content-type': 'application/json',
    [`${prefix}-id`]: msgId,
    [`${prefix}-timestamp`]: String(Math.floor(at.getTime() / 1000)),
    [`${prefix}-signature`]: new Webhook(opts.secret ?? signingSecret).sign(msgId, at, body),
  };
}

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${front.endpoint}/webhooks/psapi`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function queued(): Promise<Message[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }));
  return out.Messages ?? [];
}

describe('webhook handler', () => {
  it('accepts a signed event: 202, queued verbatim with eventId and eventType attributes', async () => {
    const body = sample();
    const headers = signedHeaders(body, { msgId: 'msg_2abc' });
    const res = await post(body, headers);
    expect(res).toEqual({ status: 202, json: { accepted: true, eventId: 'msg_2abc' } });
    const messages = await queued();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Body).toBe(body);
    expect(messages[0]!.MessageAttributes?.eventId?.StringValue).toBe('msg_2abc');
    expect(messages[0]!.MessageAttributes?.eventType?.StringValue).toBe('producersync.updates_available');
  });

  it('logs the accepted event under its id as correlation_id, and does not carry it into the next delivery', async () => {
    const body = sample();
    const lines = await captureLogLines(async () => {
      expect(await current({ headers: signedHeaders(body, { msgId: 'msg_correlated' }), body, isBase64Encoded: false }, lambdaContext('producersync-webhook'))).toMatchObject({ statusCode: 202 });
      expect(await current({ headers: signedHeaders(body, { secret: newSecret() }), body, isBase64Encoded: false }, lambdaContext('producersync-webhook'))).toMatchObject({ statusCode: 401 });
    });
    expectLambdaContextOnEveryLine(lines, 'producersync-webhook');
    expect(lines.find((l) => l.message === 'webhook event queued')).toMatchObject({ correlation_id: 'msg_correlated', eventId: 'msg_correlated' });
    const rejected = lines.find((l) => l.message === 'webhook signature verification failed');
    expect(rejected).toBeDefined();
    expect(rejected!.correlation_id).toBeUndefined();
    expect(JSON.stringify(lines)).not.toContain(signingSecret);
  });

  it('accepts webhook-* header names, mixed-case names and a base64 body', async () => {
    const body = sample({ type: 'producersync.npn.activated', data: { npn: '19855109' } });
    expect((await post(body, signedHeaders(body, { prefix: 'webhook' }))).status).toBe(202);
    const mixed = Object.fromEntries(Object.entries(signedHeaders(body)).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v]));
    expect((await post(body, mixed)).status).toBe(202);
    // fetch lower-cases names on the wire, so call the handler with the sender's case too (REST v1 keeps it).
    expect((await current({ headers: mixed, body, isBase64Encoded: false })).statusCode).toBe(202);
    // API Gateway base64-encodes bodies it treats as binary; the signature covers the decoded bytes.
    const base64 = await current({ headers: signedHeaders(body), body: Buffer.from(body).toString('base64'), isBase64Encoded: true });
    expect(base64.statusCode).toBe(202);
    const messages = await queued();
    expect(messages).toHaveLength(4);
    expect(new Set(messages.map((m) => m.Body))).toEqual(new Set([body]));
  });

  it.each([
    ['forged signature', (body: string) => ({ ...signedHeaders(body), 'svix-signature': `v1,${randomBytes(32).toString('base64')}` })],
    ['wrong secret', (body: string) => signedHeaders(body, { secret: newSecret() })],
    ['stale timestamp', (body: string) => signedHeaders(body, { at: new Date(Date.now() - 6 * 60_000) })],
    ['future timestamp', (body: string) => signedHeaders(body, { at: new Date(Date.now() + 6 * 60_000) })],
    ['missing signature header', (body: string) => { const h = signedHeaders(body); delete h['svix-signature']; return h; }],
    ['no signature headers at all', () => ({ 'content-type': 'application/json' })],
  ])('rejects %s with 401 and queues nothing', async (_name, headersFor) => {
    const body = sample();
    let res: Awaited<ReturnType<typeof post>> | undefined;
    const metrics = await captureMetricLines(async () => {
      res = await post(body, headersFor(body));
    });
    expect(res).toEqual({ status: 401, json: { accepted: false, error: 'invalid signature' } });
    expect(await queued()).toHaveLength(0);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ WebhookVerifyFailures: 1 });
  });

  it('rejects a tampered body with 401', async () => {
    const body = sample();
    const headers = signedHeaders(body);
    let status = 0;
    await captureMetricLines(async () => {
      status = (await post(body.replace('2025-07-24', '2025-07-25'), headers)).status;
    });
    expect(status).toBe(401);
    expect(await queued()).toHaveLength(0);
  });

  it('accepts both the old and the new secret across a rotation', async () => {
    const oldSecret = signingSecret;
    const first = sample();
    expect((await post(first, signedHeaders(first))).status).toBe(202); // caches the old secret
    const rotated = newSecret();
    await secretsManager.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify({ signingSecret: rotated }) }));
    const signedNew = sample();
    expect((await post(signedNew, signedHeaders(signedNew, { secret: rotated }))).status).toBe(202);
    const signedOld = sample();
    expect((await post(signedOld, signedHeaders(signedOld, { secret: oldSecret }))).status).toBe(202);
    const stranger = sample();
    await captureMetricLines(async () => {
      expect((await post(stranger, signedHeaders(stranger, { secret: newSecret() }))).status).toBe(401);
    });
    expect(await queued()).toHaveLength(3);
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['a JSON array', '[1,2,3]'],
    ['no id', JSON.stringify({ type: 'producersync.updates_available', data: { runDate: '2025-07-24' } })],
    ['no type', JSON.stringify({ id: 'e1', data: {} })],
    ['data not an object', JSON.stringify({ id: 'e1', type: 'producersync.npn.activated', data: 'x' })],
    ['updates_available without runDate', JSON.stringify({ id: 'e1', type: 'producersync.updates_available', data: {} })],
    ['updates_available with a bad runDate', JSON.stringify({ id: 'e1', type: 'producersync.updates_available', data: { runDate: '2025-02-30' } })],
    ['deeply nested JSON', JSON.stringify({ id: 'e1', type: 't', data: JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100)) })],
  ])('answers 400 for a correctly signed body that is %s', async (_name, body) => {
    const res = await post(body, signedHeaders(body));
    expect(res.status).toBe(400);
    expect(res.json.accepted).toBe(false);
    expect(await queued()).toHaveLength(0);
  });

  it('queues unknown event types for the dispatcher to acknowledge', async () => {
    const body = sample({ type: 'producersync.something_new', data: { x: 1 } });
    expect((await post(body, signedHeaders(body))).status).toBe(202);
    expect((await queued())[0]?.MessageAttributes?.eventType?.StringValue).toBe('producersync.something_new');
  });

  it('answers 413 for a body over 256 KB before verifying, and 400 when only the queue limit is exceeded', async () => {
    const huge = sample({ data: { runDate: '2025-07-24', pad: 'x'.repeat(MAX_BODY_BYTES) } });
    const res = await post(huge, signedHeaders(huge));
    expect(res.status).toBe(413);
    const base = sample({ data: { runDate: '2025-07-24', pad: '' } });
    const edge = base.replace('"pad":""', `"pad":"${'x'.repeat(MAX_BODY_BYTES - base.length)}"`);
    expect(Buffer.byteLength(edge)).toBe(MAX_BODY_BYTES);
    expect((await post(edge, signedHeaders(edge))).status).toBe(400);
    expect(await queued()).toHaveLength(0);
  });

  it('answers 503 when the queue is unavailable, so Svix retries', async () => {
    const broken = createWebhookHandler({ secrets: createSigningSecretStore({ client: secretsManager, secretId }), queueUrl: `${queueUrl}-missing` });
    const body = sample();
    const out = await broken({ headers: signedHeaders(body), body, isBase64Encoded: false });
    expect(out.statusCode).toBe(503);
  });

  it('answers 503 when the signing secret cannot be read, without naming it', async () => {
    const noSecret = createWebhookHandler({ secrets: createSigningSecretStore({ client: secretsManager, secretId: 'does-not-exist' }), queueUrl });
    const body = sample();
    const out = await noSecret({ headers: signedHeaders(body), body, isBase64Encoded: false });
    expect(out.statusCode).toBe(503);
    expect(out.body).not.toContain(signingSecret);
    expect(await queued()).toHaveLength(0);
  });

  it('the exported handler reads WEBHOOK_SECRET_ARN and EVENTS_QUEUE_URL', async () => {
    process.env.WEBHOOK_SECRET_ARN = secretId;
    process.env.EVENTS_QUEUE_URL = queueUrl;
    const body = sample();
    const out = await defaultHandler({ headers: signedHeaders(body), body, isBase64Encoded: false });
    expect(out.statusCode).toBe(202);
    expect(await queued()).toHaveLength(1);
  });
});
