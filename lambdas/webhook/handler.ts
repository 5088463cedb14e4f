import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { sqsClient } from '#commons/clients';
import { requiredEnv } from '#commons/env';
import { logger } from '#commons/logger';
import { metrics } from '#commons/metrics';
import { createSigningSecretStore, type SigningSecretStore } from './signing-secret.ts';
import { messageIdHeader, normalizeHeaders, verifyWebhook, type VerifyResult } from './verify.ts';
import { parseWebhookEvent } from './webhook-event.ts';

/**
 * POST /webhooks/psapi: verify the Svix signature, check the envelope, queue it for the dispatcher, answer 202.
 * Bad input never gets a 5xx (Svix would retry it for a day); only a queue outage does, so Svix retries.
 * No ProducerSync call happens here: AgentSync wants an answer within 5 seconds.
 */
export const MAX_BODY_BYTES = 256 * 1024;
/** SQS counts the body plus every attribute name, type and value against this. */
const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

export type WebhookRequest = Pick<APIGatewayProxyEventV2 | APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'>;
export type WebhookResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

export interface WebhookHandlerDeps {
  secrets?: SigningSecretStore;
  queueUrl?: string;
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

async function verifyWithRotation(body: Buffer, headers: Record<string, string>, store: SigningSecretStore): Promise<VerifyResult> {
  let result: VerifyResult = { ok: false, reason: 'bad-signature' };
  for (const secret of await store.secrets()) {
    result = verifyWebhook(body, headers, secret);
    if (result.ok || result.reason !== 'bad-signature') return result;
  }
  // Every cached secret failed on the signature itself: the secret may have been rotated.
  if (await store.refresh()) {
    const [newest] = await store.secrets();
    if (newest) result = verifyWebhook(body, headers, newest);
  }
  return result;
}

function countVerifyFailure(reason: string): void {
  metrics.addMetric('WebhookVerifyFailures', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.warn('webhook signature verification failed', { reason });
}

const attributeBytes = (attributes: Record<string, string>): number =>
  Object.entries(attributes).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value), 0);

export function createWebhookHandler(deps: WebhookHandlerDeps = {}): (event: WebhookRequest) => Promise<WebhookResponse> {
  let store = deps.secrets;
  return async (event) => {
    // A warm container keeps the previous delivery's id: drop it before anything is logged.
    logger.removeKeys(['correlation_id']);
    const body = rawBody(event);
    if (!body || body.length > MAX_BODY_BYTES) return respond(413, { accepted: false, error: `body larger than ${MAX_BODY_BYTES} bytes` });

    const headers = normalizeHeaders(event.headers);
    store ??= createSigningSecretStore({ secretId: requiredEnv('WEBHOOK_SECRET_ARN') });
    let verified: VerifyResult;
    try {
      verified = await verifyWithRotation(body, headers, store);
    } catch (error) {
      logger.error('could not load the webhook signing secret', { error: (error as Error).name });
      return respond(503, { accepted: false, error: 'temporarily unavailable' });
    }
    const messageId = messageIdHeader(headers);
    if (!verified.ok && verified.reason !== 'malformed-json') {
      countVerifyFailure(verified.reason);
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
    const attributes = { eventId, eventType: parsed.event.type };
    if (body.length + attributeBytes(attributes) > SQS_MAX_MESSAGE_BYTES) {
      return respond(400, { accepted: false, error: 'event too large to queue' });
    }

    try {
      await sqsClient().send(
        new SendMessageCommand({
          QueueUrl: deps.queueUrl ?? requiredEnv('EVENTS_QUEUE_URL'),
          MessageBody: body.toString('utf8'),
          MessageAttributes: {
            eventId: { DataType: 'String', StringValue: eventId },
            eventType: { DataType: 'String', StringValue: parsed.event.type },
          },
        }),
      );
    } catch (error) {
      const name = (error as Error).name;
      // Characters SQS refuses will be refused on every retry too.
      if (name === 'InvalidMessageContents') return respond(400, { accepted: false, error: 'body contains characters SQS does not accept' });
      logger.error('could not queue the webhook event', { eventId, error: name, message: (error as Error).message });
      return respond(503, { accepted: false, error: 'temporarily unavailable' });
    }
    logger.info('webhook event queued', { eventId, eventType: parsed.event.type });
    return respond(202, { accepted: true, eventId });
  };
}

export const handler = createWebhookHandler();
