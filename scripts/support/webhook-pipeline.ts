/**
 * The ingest half of the app on a local stack: the HTTP API stand-in routes the webhook to the real webhook
 * handler (Svix verification against the WebhookSigningSecret), which queues it on fauxqs; a queue poller
 * feeds the real dispatcher, which starts the sync on the Step Functions stand-in; a stream poller hands
 * the data table's change records to a consumer.
 */
import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBRecord } from 'aws-lambda';
import { secretsClient } from '#commons/clients';
import { startHttpFront, type HttpHandler } from '#local/http-front';
import { pollQueue, pollStream, type Poller } from '#local/pollers';
import type { WebhookTarget } from '#sim/webhook-sender';
import type { LocalStack } from './local-stack.ts';

export interface WebhookPipeline {
  /** Where AgentSync (the simulator) delivers events, and the Svix secret to sign them with. */
  readonly webhookTarget: WebhookTarget;
  /**
   * Hands every data-table change made from now on to `onChanges`, in stream order (the stream consumer).
   * Resolves once the poller holds its shard iterators. Call it once the table has items: DynamoDB Local
   * fails a LATEST iterator taken on a still empty shard as soon as the first record arrives.
   */
  followChanges(onChanges: (records: DynamoDBRecord[]) => void | Promise<void>): Promise<void>;
  /** Resolves once every delivered event is dispatched, every execution has ended and the followed stream is read to its end. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startWebhookPipeline(stack: LocalStack): Promise<WebhookPipeline> {
  const { resources } = stack;
  const signingSecret = `whsec_${randomBytes(24).toString('base64')}`;
  await secretsClient().send(new PutSecretValueCommand({ SecretId: resources.webhookSecretArn, SecretString: signingSecret }));

  // Loaded here so the Powertools settings made by startLocalStack apply to them.
  const [{ createWebhookHandler }, { handler: dispatch }] = await Promise.all([
    import('../../lambdas/webhook/handler.ts'),
    import('../../lambdas/dispatcher/handler.ts'),
  ]);
  const front = await startHttpFront({ routes: { [resources.webhookRouteKey]: createWebhookHandler() as HttpHandler } });
  const queue = pollQueue({ queueUrl: resources.eventsQueueUrl, handler: dispatch });
  let stream: Poller | undefined;

  const path = resources.webhookRouteKey.split(' ')[1] ?? '/';
  return {
    webhookTarget: { url: `${front.endpoint}${path}`, secret: signingSecret },
    async followChanges(onChanges) {
      if (stream) throw new Error('followChanges was already called');
      stream = pollStream({
        streamArn: resources.dataStreamArn,
        // From now on only: reading the backfill's tens of thousands of INSERTs would slow everything down.
        startingPosition: 'LATEST',
        handler: async (event) => {
          await onChanges(event.Records);
        },
      });
      // The first idle poll has taken the shard iterators, so every later change is seen.
      await stream.drain(30_000);
    },
    async settle(timeoutMs = 120_000) {
      await queue.drain(timeoutMs);
      await stack.sfn.waitForAll();
      await stream?.drain(timeoutMs);
    },
    async stop() {
      await Promise.all([queue.stop(), stream?.stop(), front.stop()]);
    },
  };
}
