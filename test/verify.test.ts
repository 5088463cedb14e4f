import { randomBytes } from 'node:crypto';
import { Webhook } from 'svix';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SigningSecretStore } from '#webhook/signing-secret';
import { messageIdHeader, normalizeHeaders, verifyWebhook, verifyWithRotation } from '#webhook/verify';

/**
 * The Standard Webhooks known-answer vector, as published with the specification's reference
 * libraries (standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts, "sign
 * function works"), and reproduced by Svix's own libraries.
 */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;

const vectorHeaders = (prefix: 'svix' | 'webhook' = 'svix', overrides: Partial<Record<'id' | 'timestamp' | 'signature', string>> = {}) => ({
  [`${prefix}-id`]: overrides.id ?? VECTOR.id,
  [`${prefix}-timestamp`]: overrides.timestamp ?? String(VECTOR.timestamp),
  [`${prefix}-signature`]: overrides.signature ?? VECTOR.signature,
});

/** The clock of the vector: the moment it was signed. */
const atVectorTime = () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(VECTOR.timestamp * 1000);
};

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const signed = (secret: string, body: string, id = 'msg_1', at = new Date()) => ({
  'svix-id': id,
  'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
  'svix-signature': new Webhook(secret).sign(id, at, body),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('verifyWebhook: the Standard Webhooks known-answer vector', () => {
  it('is what the svix library signs', () => {
    expect(new Webhook(VECTOR.secret).sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), VECTOR.body)).toBe(VECTOR.signature);
  });

  it('verifies at the time it was signed, with either header family and in any case', () => {
    atVectorTime();
    const expected = { ok: true, messageId: VECTOR.id, payload: { test: 2432232314 } };
    expect(verifyWebhook(VECTOR.body, vectorHeaders('svix'), VECTOR.secret)).toEqual(expected);
    expect(verifyWebhook(Buffer.from(VECTOR.body), vectorHeaders('webhook'), VECTOR.secret)).toEqual(expected);
    const mixedCase = normalizeHeaders(Object.fromEntries(Object.entries(vectorHeaders('webhook')).map(([k, v]) => [k.toUpperCase(), v])));
    expect(verifyWebhook(VECTOR.body, mixedCase, VECTOR.secret)).toEqual(expected);
    // Rotation: the header may list several signatures, space-separated.
    expect(verifyWebhook(VECTOR.body, vectorHeaders('svix', { signature: `v1,${randomBytes(32).toString('base64')} ${VECTOR.signature}` }), VECTOR.secret)).toEqual(expected);
  });

  it.each([
    ['a body one byte different', { body: '{"test": 2432232315}' }],
    ['a body with a space added', { body: `${VECTOR.body} ` }],
    ['another message id', { id: 'msg_p5jXN8AQM9LWM0D4loKWxJeK' }],
    ['another timestamp (one second later)', { timestamp: String(VECTOR.timestamp + 1) }],
    ['another secret', { secret: newSecret() }],
  ])('refuses %s as a bad signature', (_case, change: { body?: string; id?: string; timestamp?: string; secret?: string }) => {
    atVectorTime();
    const headers = vectorHeaders('svix', { ...(change.id ? { id: change.id } : {}), ...(change.timestamp ? { timestamp: change.timestamp } : {}) });
    expect(verifyWebhook(change.body ?? VECTOR.body, headers, change.secret ?? VECTOR.secret)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses the vector today: its timestamp is years outside the 5-minute tolerance', () => {
    expect(verifyWebhook(VECTOR.body, vectorHeaders(), VECTOR.secret)).toEqual({ ok: false, reason: 'stale-timestamp' });
  });
});

describe('verifyWebhook', () => {
  it('classifies failures', () => {
    const secret = newSecret();
    const body = JSON.stringify({ id: 'e1', type: 't', data: {} });
    expect(verifyWebhook(body, signed(secret, body), secret)).toMatchObject({ ok: true, messageId: 'msg_1' });
    expect(verifyWebhook(body, {}, secret)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifyWebhook(`${body} `, signed(secret, body), secret)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyWebhook(body, signed(secret, body, 'msg_1', new Date(Date.now() - 3600_000)), secret)).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(verifyWebhook(body, signed(secret, body, 'msg_1', new Date(Date.now() + 3600_000)), secret)).toEqual({ ok: false, reason: 'stale-timestamp' });
    // A genuine sender with a body that is not JSON: a bad request, not a forgery.
    expect(verifyWebhook('not json', signed(secret, 'not json'), secret)).toEqual({ ok: false, reason: 'malformed-json' });
  });

  it('reads the message id from either header family and drops empty headers', () => {
    expect(messageIdHeader(normalizeHeaders({ 'Svix-Id': 'msg_a' }))).toBe('msg_a');
    expect(messageIdHeader(normalizeHeaders({ 'webhook-id': 'msg_b', 'svix-id': '' }))).toBe('msg_b');
    expect(normalizeHeaders({ A: 'x', b: undefined, c: '' })).toEqual({ a: 'x' });
  });
});

describe('verifyWithRotation', () => {
  /** The store contract over fixed values: what Secrets Manager would hold before and after a rotation. */
  function rotatingStore(initial: string, afterRefresh?: string): SigningSecretStore & { refreshes: number } {
    let known = [initial];
    return {
      refreshes: 0,
      async secrets() {
        return known;
      },
      async refresh() {
        this.refreshes++;
        if (!afterRefresh || known.includes(afterRefresh)) return false;
        known = [afterRefresh, ...known];
        return true;
      },
    };
  }

  it('accepts the cached secret, re-reads once when every cached one fails, and never for other failures', async () => {
    const [oldSecret, newer] = [newSecret(), newSecret()];
    const body = '{"id":"e1","type":"t","data":{}}';
    const store = rotatingStore(oldSecret, newer);
    expect(await verifyWithRotation(Buffer.from(body), signed(oldSecret, body), store)).toMatchObject({ ok: true });
    expect(store.refreshes).toBe(0);
    expect(await verifyWithRotation(Buffer.from(body), signed(newer, body), store)).toMatchObject({ ok: true });
    expect(store.refreshes).toBe(1);
    // Both are kept: deliveries still signed with the old secret keep working.
    expect(await verifyWithRotation(Buffer.from(body), signed(oldSecret, body), store)).toMatchObject({ ok: true });
    expect(await verifyWithRotation(Buffer.from(body), {}, store)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(await verifyWithRotation(Buffer.from(body), signed(newSecret(), body), store)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(store.refreshes).toBe(2);
  });
});
