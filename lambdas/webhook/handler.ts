/**
 * The webhook Lambda (`producersync-webhook`): API Gateway → `receiveWebhook` with the signing
 * secret from WEBHOOK_SECRET_ARN and the queue EVENTS_QUEUE_URL.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { requiredEnv } from '#commons/env';
import { addLambdaContext } from '#commons/logger';
import { secretsClient } from '#commons/secrets-client';
import { sqsClient } from '#commons/sqs-client';
import type { QueueMessage } from '#webhook/queue-message';
import { receiveWebhook, type WebhookRequest, type WebhookResponse } from '#webhook/receive';
import { createSigningSecretStore, type SigningSecretStore } from '#webhook/signing-secret';

export { MAX_BODY_BYTES, type WebhookRequest, type WebhookResponse } from '#webhook/receive';

/** What the handler may be given instead of reading it from the environment (tests, the local pipeline). */
export interface WebhookHandlerDeps {
  /** @default the secret WEBHOOK_SECRET_ARN, cached per container */
  secrets?: SigningSecretStore;
  /** @default EVENTS_QUEUE_URL */
  queueUrl?: string;
}

/** A webhook handler; the signing-secret store is built on first use and kept for the container. */
export function createWebhookHandler(deps: WebhookHandlerDeps = {}): (event: WebhookRequest, context?: Context) => Promise<WebhookResponse> {
  let secrets = deps.secrets;
  return async (event, context) => {
    addLambdaContext(context);
    secrets ??= createSigningSecretStore({ client: secretsClient(), secretId: requiredEnv('WEBHOOK_SECRET_ARN') });
    const send = (message: QueueMessage) => sqsClient().send(new SendMessageCommand({ QueueUrl: deps.queueUrl ?? requiredEnv('EVENTS_QUEUE_URL'), ...message }));
    return receiveWebhook(event, { secrets, send });
  };
}

/** The deployed handler. */
export const handler = createWebhookHandler();
