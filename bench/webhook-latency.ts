/**
 * 5. Webhook handler: latency of verify + enqueue over signed deliveries (the simulator's Svix
 * sender) to the local HTTP API front, one at a time. Reported inside the handler (what the
 * Lambda itself spends: Svix verification and SendMessage to fauxqs) and end to end at the
 * sender (adds the HTTP front). The cold first delivery also reads the signing secret; it and
 * a short warm-up are reported apart.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { secretsClient, sqsClient } from '#commons/clients';
import { loadHandlers } from '#local/handlers';
import { newWebhookSecret } from '#local/harness';
import { startHttpFront } from '#local/http-front';
import { httpRoutes } from '#local/wiring';
import { sendSignedWebhook } from '#sim/webhook-sender';
import type { BenchStack } from './support/local-stack.ts';
import { judge, num, quantile, ratio, type BenchOutcome } from './support/report.ts';

export interface WebhookLatency {
  deliveries: number;
  accepted: number;
  queued: number;
  coldMs: number;
  handler: { p50: number; p99: number; max: number };
  endToEnd: { p50: number; p99: number; max: number };
}

/** AgentSync wants an answer within 5 s (lambdas/webhook/handler.ts). */
const ANSWER_WITHIN_MS = 5_000;
const WARM_UP = 20;

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
};

export async function measureWebhookLatency(stack: BenchStack, deliveries: number): Promise<BenchOutcome<WebhookLatency>> {
  const resources = await stack.provision('webhook');
  const functionEnv = resources.functionEnv.WebhookFunction ?? {};
  process.env.WEBHOOK_SECRET_ARN = functionEnv.WEBHOOK_SECRET_ARN;
  process.env.EVENTS_QUEUE_URL = functionEnv.EVENTS_QUEUE_URL;
  const secret = newWebhookSecret();
  await secretsClient().send(new PutSecretValueCommand({ SecretId: functionEnv.WEBHOOK_SECRET_ARN, SecretString: secret }));

  // Loaded only now: its module-level handler reads the environment set above on first use.
  const { WebhookFunction: handler } = await loadHandlers(['WebhookFunction']);
  const route = httpRoutes(stack.stacks, resources).find((r) => r.functionId === 'WebhookFunction');
  if (!handler || !route) throw new Error('the app has no webhook route');
  const inHandler: number[] = [];
  const front = await startHttpFront({
    routes: {
      [route.routeKey]: async (event: APIGatewayProxyEventV2, context: Context) => {
        const started = performance.now();
        const response = await handler(event, context);
        inHandler.push(performance.now() - started);
        return response as APIGatewayProxyResultV2;
      },
    },
  });
  const target = { url: `${front.endpoint}${route.routeKey.split(' ')[1] ?? '/'}`, secret };
  const endToEnd: number[] = [];
  let accepted = 0;
  let coldMs = Number.NaN;
  try {
    for (let i = 0; i < WARM_UP + deliveries; i++) {
      const started = performance.now();
      const delivery = await sendSignedWebhook(target, 'producersync.updates_available', { runDate: '2025-07-25' });
      const elapsed = performance.now() - started;
      if (i === 0) coldMs = elapsed;
      if (i < WARM_UP) continue;
      endToEnd.push(elapsed);
      if (delivery.status === 202) accepted++;
    }
  } finally {
    await front.stop();
  }
  const { Attributes } = await sqsClient().send(
    new GetQueueAttributesCommand({ QueueUrl: functionEnv.EVENTS_QUEUE_URL, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const data: WebhookLatency = {
    deliveries,
    accepted,
    queued: Number(Attributes?.ApproximateNumberOfMessages ?? 0) - WARM_UP,
    coldMs,
    handler: summary(inHandler.slice(WARM_UP)),
    endToEnd: summary(endToEnd),
  };
  return {
    figures: [
      {
        section: '5',
        name: `Webhook verify+enqueue, in handler (${num(deliveries)} deliveries)`,
        value: `p50 ${ratio(data.handler.p50)} ms, p99 ${ratio(data.handler.p99)} ms (${num(accepted)} accepted, ${num(data.queued)} queued)`,
        target: `p99 << ${num(ANSWER_WITHIN_MS)} ms, all queued`,
        verdict: judge(data.handler.p99 < ANSWER_WITHIN_MS && accepted === deliveries && data.queued === deliveries),
      },
      {
        section: '5',
        name: 'Webhook, end to end at the sender',
        value: `p50 ${ratio(data.endToEnd.p50)} ms, p99 ${ratio(data.endToEnd.p99)} ms, max ${ratio(data.endToEnd.max)} ms (cold first: ${ratio(coldMs)} ms)`,
        target: '-',
        verdict: 'info',
      },
    ],
    data,
  };
}
