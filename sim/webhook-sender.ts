import { randomBytes } from 'node:crypto';
import { Webhook } from 'svix';

export interface WebhookTarget {
  url: string;
  /** Svix signing secret, `whsec_<base64>`. */
  secret: string;
}

export interface WebhookDelivery {
  status: number;
  eventId: string;
}

export const newEventId = (): string => `whe_${randomBytes(12).toString('hex')}`;

/**
 * Delivers one AgentSync-style event the way Svix does: JSON body `{id, type, timestamp, data}`
 * signed over `${svix-id}.${svix-timestamp}.${body}`. The svix-id is the event id, so a re-send
 * with the same eventId is a retry of the same message (what receivers deduplicate on).
 * Network failures report status 0 instead of throwing: a down receiver is a delivery outcome.
 */
export async function sendSignedWebhook(
  target: WebhookTarget,
  type: string,
  data: unknown,
  opts: { eventId?: string; timestamp?: Date } = {},
): Promise<WebhookDelivery> {
  const eventId = opts.eventId ?? newEventId();
  const timestamp = opts.timestamp ?? new Date();
  const body = JSON.stringify({ id: eventId, type, timestamp: timestamp.toISOString(), data });
  const signature = new Webhook(target.secret).sign(eventId, timestamp, body);
  try {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'svix-id': eventId,
        'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'svix-signature': signature,
      },
      body,
      // AgentSync requires an answer within 5 s; Svix gives up on slower endpoints.
      signal: AbortSignal.timeout(15_000),
    });
    await response.arrayBuffer();
    return { status: response.status, eventId };
  } catch {
    return { status: 0, eventId };
  }
}
