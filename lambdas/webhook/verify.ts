/**
 * Svix signature verification on the exact raw body, against the signing secret and the one it
 * replaced. Svix has sent `svix-*` headers for years; newer deployments send the Standard Webhooks
 * `webhook-*` names, so both are accepted in any case.
 */
import { Webhook, WebhookVerificationError } from 'svix';
import type { SigningSecretStore } from '#webhook/signing-secret';

/** Why a delivery was refused (logged as `reason`, answered 401). */
export type VerifyFailureReason = 'missing-headers' | 'bad-signature' | 'stale-timestamp';

/** The verified payload, or why verification failed. */
export type VerifyResult =
  | { ok: true; messageId: string; payload: unknown }
  | { ok: false; reason: VerifyFailureReason }
  // The signature matched but the body is not JSON: the sender is genuine, the request is bad (400, not 401).
  | { ok: false; reason: 'malformed-json' };

/** Request headers as API Gateway hands them over. */
export type HeaderMap = Record<string, string | undefined>;

const HEADER_NAMES = {
  id: ['svix-id', 'webhook-id'],
  timestamp: ['svix-timestamp', 'webhook-timestamp'],
  signature: ['svix-signature', 'webhook-signature'],
} as const;

/** Lower-cases header names (API Gateway v1 keeps the sender's case) and drops empty values. */
export function normalizeHeaders(headers: HeaderMap | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== '') out[name.toLowerCase()] = value;
  }
  return out;
}

function pick(headers: Record<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headers[name];
    if (value) return value;
  }
  return undefined;
}

/** The Svix message id (identical on every retry of one message), if the request carries one. */
export function messageIdHeader(headers: Record<string, string>): string | undefined {
  return pick(headers, HEADER_NAMES.id);
}

/**
 * Verifies `rawBody` against one signing secret. `headers` must already be normalized.
 * The svix library checks the timestamp (5-minute tolerance) before the signature and parses the
 * body only after a signature matched.
 */
export function verifyWebhook(rawBody: Buffer | string, headers: Record<string, string>, signingSecret: string): VerifyResult {
  const id = pick(headers, HEADER_NAMES.id);
  const timestamp = pick(headers, HEADER_NAMES.timestamp);
  const signature = pick(headers, HEADER_NAMES.signature);
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing-headers' };
  try {
    const payload = new Webhook(signingSecret).verify(rawBody, {
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': signature,
    });
    return { ok: true, messageId: id, payload };
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      return { ok: false, reason: /timestamp too (old|new)/i.test(error.message) ? 'stale-timestamp' : 'bad-signature' };
    }
    // JSON.parse runs only after a signature matched: SyntaxError, or RangeError on absurd nesting.
    if (error instanceof SyntaxError || error instanceof RangeError) return { ok: false, reason: 'malformed-json' };
    throw error;
  }
}

/**
 * Verifies against every cached secret (newest first); when all of them fail on the signature
 * itself the secret may have been rotated, so the store re-reads it once and the newest is tried.
 */
export async function verifyWithRotation(body: Buffer, headers: Record<string, string>, store: SigningSecretStore): Promise<VerifyResult> {
  let result: VerifyResult = { ok: false, reason: 'bad-signature' };
  for (const secret of await store.secrets()) {
    result = verifyWebhook(body, headers, secret);
    if (result.ok || result.reason !== 'bad-signature') return result;
  }
  if (await store.refresh()) {
    const [newest] = await store.secrets();
    if (newest) result = verifyWebhook(body, headers, newest);
  }
  return result;
}
