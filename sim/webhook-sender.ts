import { randomBytes } from 'node:crypto';
import { Webhook } from 'svix';

export interface WebhookTarget {
  url: string;
  /** Svix signing secret, `whsec_<base64>`. */
  secret: string;
}

export interface WebhookDelivery {
  status: number;
  /** The event's `id` in the body. */
  eventId: string;
  /** The `svix-id` header (Svix's message id); equals eventId except for portal test events. */
  messageId: string;
}

/** The body AgentSync sends: `{id, type, timestamp, data}`. */
export interface WebhookEvent {
  id: string;
  type: string;
  /** ISO 8601, UTC. */
  timestamp: string;
  data: unknown;
}

/** A delivery ready to POST: what a test can hand to the webhook handler without any HTTP. */
export interface SignedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
  eventId: string;
  messageId: string;
}

export const newEventId = (): string => `whe_${randomBytes(12).toString('hex')}`;
/** A fresh Svix-style message id (what the portal puts in svix-id for every "Send Example"). */
export const newMessageId = (): string => `msg_${randomBytes(14).toString('hex')}`;

/**
 * Signs an event the way Svix does: over `${svix-id}.${svix-timestamp}.${body}` with the
 * endpoint's secret. The svix-id is the event id unless `messageId` says otherwise, so a
 * re-send with the same event id is a retry of the same message (what receivers deduplicate on).
 */
export function signWebhook(target: WebhookTarget, event: WebhookEvent, opts: { messageId?: string; signedAt?: Date } = {}): SignedWebhook {
  const messageId = opts.messageId ?? event.id;
  const signedAt = opts.signedAt ?? new Date();
  const body = JSON.stringify(event);
  return {
    url: target.url,
    headers: {
      'content-type': 'application/json',
      'svix-id': messageId,
      'svix-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
      'svix-signature': new Webhook(target.secret).sign(messageId, signedAt, body),
    },
    body,
    eventId: event.id,
    messageId,
  };
}

/** POSTs a signed delivery. Network failures report status 0 instead of throwing: a down receiver is a delivery outcome. */
export async function deliverWebhook(signed: SignedWebhook): Promise<WebhookDelivery> {
  const outcome = { eventId: signed.eventId, messageId: signed.messageId };
  try {
    const response = await fetch(signed.url, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
      // AgentSync requires an answer within 5 s; Svix gives up on slower endpoints.
      signal: AbortSignal.timeout(15_000),
    });
    await response.arrayBuffer();
    return { status: response.status, ...outcome };
  } catch {
    return { status: 0, ...outcome };
  }
}

/** Delivers one AgentSync-style event now, signed with the event's own timestamp. */
export function sendSignedWebhook(
  target: WebhookTarget,
  type: string,
  data: unknown,
  opts: { eventId?: string; timestamp?: Date } = {},
): Promise<WebhookDelivery> {
  const timestamp = opts.timestamp ?? new Date();
  const event: WebhookEvent = { id: opts.eventId ?? newEventId(), type, timestamp: timestamp.toISOString(), data };
  return deliverWebhook(signWebhook(target, event, { signedAt: timestamp }));
}
