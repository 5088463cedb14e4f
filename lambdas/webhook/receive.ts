/**
 * Receiving one webhook delivery (POST /webhooks/psapi): verify the Svix signature on the raw body,
 * check the envelope, queue it for the dispatcher, answer 202. Bad input never gets a 5xx (Svix
 * would retry it for a day); only a secret or queue outage does, so Svix retries. No ProducerSync
 * call happens here: AgentSync wants an answer within 5 seconds.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { queueMessage, type QueueMessage } from '#webhook/queue-message';
import type { SigningSecretStore } from '#webhook/signing-secret';
import { messageIdHeader, normalizeHeaders, verifyWithRotation, type VerifyResult } from '#webhook/verify';
import { parseWebhookEvent } from '#webhook/webhook-event';

/** Largest body accepted (413 above), the SQS message limit. */
export const MAX_BODY_BYTES = 256 * 1024;

/** The parts of an API Gateway (HTTP API or REST) request the webhook reads. */
export type WebhookRequest = Pick<APIGatewayProxyEventV2 | APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'>;
/** The answer to the sender. */
export type WebhookResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** What receiving a delivery needs. */
export interface ReceiveDeps {
  secrets: SigningSecretStore;
  /** Sends the message to the events queue; throws the SDK's error. */
  send(message: QueueMessage): Promise<unknown>;
}

const respond = (statusCode: number, body: Record<string, unknown>): WebhookResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The body exactly as sent, or null when it is already known to be over the limit. */
function rawBody(event: WebhookRequest): Buffer | null {
  const body = event.body ?? '';
  if (event.isBase64Encoded) {
    // Skip decoding a body whose encoded form already proves it is too large.
    if (Math.floor((body.length * 3) / 4) - 2 > MAX_BODY_BYTES) return null;
    return Buffer.from(body, 'base64');
  }
  if (body.length > MAX_BODY_BYTES) return null;
  return Buffer.from(body, 'utf8');
}

/** Verifies, checks and queues one delivery; the status tells Svix whether to retry. */
export async function receiveWebhook(event: WebhookRequest, deps: ReceiveDeps): Promise<WebhookResponse> {
  // A warm container keeps the previous delivery's id: drop it before anything is logged.
  logger.removeKeys(['correlation_id']);
  const body = rawBody(event);
  if (!body || body.length > MAX_BODY_BYTES) return respond(413, { accepted: false, error: `body larger than ${MAX_BODY_BYTES} bytes` });

  const headers = normalizeHeaders(event.headers);
  let verified: VerifyResult;
  try {
    verified = await verifyWithRotation(body, headers, deps.secrets);
  } catch (error) {
    logger.error('could not load the webhook signing secret', { error: (error as Error).name });
    return respond(503, { accepted: false, error: 'temporarily unavailable' });
  }
  const messageId = messageIdHeader(headers);
  if (!verified.ok && verified.reason !== 'malformed-json') {
    publishCounts({ WebhookVerifyFailures: 1 });
    logger.warn('webhook signature verification failed', { reason: verified.reason });
    return respond(401, { accepted: false, error: 'invalid signature' });
  }
  if (!verified.ok) {
    logger.warn('signed webhook body is not JSON', { messageId });
    return respond(400, { accepted: false, error: 'body is not valid JSON' });
  }

  const parsed = parseWebhookEvent(verified.payload);
  if (!parsed.ok) {
    logger.warn('signed webhook has an unexpected shape', { messageId, problem: parsed.problem });
    return respond(400, { accepted: false, error: parsed.problem });
  }
  const eventId = verified.messageId || parsed.event.id;
  // The dispatcher and the sync run (execution `run-<runDate>-<eventId>`) carry the same id.
  logger.setCorrelationId(eventId);
  const message = queueMessage(body, eventId, parsed.event.type);
  if (!message) return respond(400, { accepted: false, error: 'event too large to queue' });

  try {
    await deps.send(message);
  } catch (error) {
    const name = (error as Error).name;
    // Characters SQS refuses will be refused on every retry too.
    if (name === 'InvalidMessageContents') return respond(400, { accepted: false, error: 'body contains characters SQS does not accept' });
    logger.error('could not queue the webhook event', { eventId, error: name, message: (error as Error).message });
    return respond(503, { accepted: false, error: 'temporarily unavailable' });
  }
  logger.info('webhook event queued', { eventId, eventType: parsed.event.type });
  return respond(202, { accepted: true, eventId });
}
