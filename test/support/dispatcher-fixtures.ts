/**
 * Shared by the dispatcher tests (test/dispatcher.test.ts, test/activations.test.ts): SQS records and
 * batches as Lambda's event source hands them over, webhook bodies, a state machine that records
 * executions without running them, request counters, budgets that run out after N steps, and the
 * signed webhook → API front → fauxqs → dispatcher route.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GetItemCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Webhook } from 'svix';
import { createDynamoPendingActivationStore, type PendingGroup } from '#dispatcher/pending-activations';
import type { TimeBudget } from '#dispatcher/time-budget';
import type { LocalService } from '#local/dynamodb-local';
import type { ExecutionRecord } from '#local/sfn-api';
import { startHttpFront } from '#local/http-front';
import { pollQueue, type Poller, type SqsHandler } from '#local/pollers';
import type { Asl } from '#local/state-machine';
import { createWebhookHandler } from '#webhook/handler';
import { createDataTable } from '../sync-fixtures.ts';
import { createSigningSecretStore } from '#webhook/signing-secret';

export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:sync';

/** Executions are recorded and stay RUNNING (no handlers), so each test decides when one ends (StopExecution). */
export const NOOP_ASL = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } } as unknown as Asl;

let seq = 0;
/** The record Lambda's SQS event source hands the dispatcher for a message the webhook queued. */
export function sqsRecord(body: Record<string, unknown>, opts: { eventId?: string; messageId?: string } = {}): SQSRecord {
  const eventId = opts.eventId ?? (body.id as string | undefined);
  return {
    messageId: opts.messageId ?? `m-${++seq}`,
    receiptHandle: 'r',
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'x', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: eventId
      ? {
          eventId: { dataType: 'String', stringValue: eventId, stringListValues: [], binaryListValues: [] },
          eventType: { dataType: 'String', stringValue: String(body.type), stringListValues: [], binaryListValues: [] },
        }
      : {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:events',
    awsRegion: 'us-east-1',
  };
}

export const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A webhook body `{id, type, timestamp, data}` with a fresh id. */
export const webhookEvent = (type: string, data: unknown, extra: Record<string, unknown> = {}) => ({
  id: `evt_${randomUUID()}`,
  type,
  timestamp: new Date().toISOString(),
  data,
  ...extra,
});

export async function getItem(client: DynamoDBClient, table: string, pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const out = await client.send(new GetItemCommand({ TableName: table, Key: marshall({ pk, sk }), ConsistentRead: true }));
  return out.Item ? unmarshall(out.Item) : undefined;
}

/**
 * The app's data table with its stream turned off, for tests that write thousands of status items and
 * read no stream: DynamoDB Local's stream store slows every write to every stream-enabled table of the
 * JVM as it grows (on 2 cores after 10,000 stream records: about 230 transactional items/s with the
 * stream, 4,400 without), so the other test files sharing it would slow down too. What the stream
 * carries for a status change is tested in test/npn-status.test.ts.
 */
export async function createDataTableWithoutStream(client: DynamoDBClient): Promise<string> {
  const tableName = await createDataTable(client);
  await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: false } }));
  return tableName;
}

/** Every pending activation group of a control table, read consistently (due at any time). */
export async function pendingGroups(client: DynamoDBClient, tableName: string): Promise<PendingGroup[]> {
  const store = createDynamoPendingActivationStore({ client, tableName });
  const groups: PendingGroup[] = [];
  for await (const page of store.due('9999-12-31T00:00:00.000Z')) for (const due of page) groups.push((await store.get(due.id))!);
  return groups;
}

/** Ends the executions still running (as a backfill that finished would), through the Step Functions API. */
export async function stopRunning(executions: readonly ExecutionRecord[]): Promise<void> {
  const sfn = new SFNClient({});
  for (const e of executions) if (e.status === 'RUNNING') await sfn.send(new StopExecutionCommand({ executionArn: e.executionArn }));
}

/** Requests an SDK client sent since the last reset, by command name. */
export interface RequestCount {
  readonly byCommand: Record<string, number>;
  total(): number;
  reset(): void;
}

/** Counts every request `client` sends (the client is shared with the code under test, e.g. `dynamoClient()`). */
export function countRequests<I extends object, O extends object>(client: { middlewareStack: MiddlewareStack<I, O> }): RequestCount {
  const byCommand: Record<string, number> = {};
  const name = `count-requests-${++seq}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      byCommand[command] = (byCommand[command] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name },
  );
  return {
    byCommand,
    total: () => Object.values(byCommand).reduce((sum, n) => sum + n, 0),
    reset: () => {
      for (const key of Object.keys(byCommand)) delete byCommand[key];
    },
  };
}

/** A time budget that allows `steps` checks, then runs out (what a slow invocation would see, without timing anything). */
export function countdownBudget(steps: number): TimeBudget {
  let left = steps;
  return { expired: () => left-- <= 0 };
}

/** The signed webhook route in front of a dispatcher: API front → real webhook Lambda → fauxqs queue (with DLQ) → poller. */
export interface WebhookRoute {
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  /** POSTs a body signed with the route's secret; returns the HTTP status. */
  deliver(body: string, messageId: string): Promise<number>;
  /** Where the simulator sends its events (`webhook` option, `signWebhook` target). */
  target: { url: string; secret: string };
  visible(queueUrl: string): Promise<number>;
  poller: Poller;
  stop(): Promise<void>;
}

/** Starts the route on the local stand-ins the process points at (useLocalAws / applyEnv first). */
export async function startWebhookRoute(options: { handler: SqsHandler; maxReceiveCount: number; visibilityTimeoutSeconds?: number }): Promise<WebhookRoute> {
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const suffix = randomUUID().slice(0, 8);
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `events-dlq-${suffix}` }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `events-${suffix}`,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 1),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
        },
      }),
    )
  ).QueueUrl!;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const secretId = `webhook-${suffix}`;
  await new SecretsManagerClient({}).send(new CreateSecretCommand({ Name: secretId, SecretString: secret }));
  const webhook = createWebhookHandler({ secrets: createSigningSecretStore({ client: new SecretsManagerClient({}), secretId }), queueUrl });
  const front: LocalService = await startHttpFront({ routes: { 'POST /webhooks/psapi': webhook } });
  const poller = pollQueue({ queueUrl, handler: options.handler, waitTimeSeconds: 0 });
  return {
    sqs,
    queueUrl,
    dlqUrl,
    target: { url: `${front.endpoint}/webhooks/psapi`, secret },
    poller,
    async deliver(body, messageId) {
      const now = new Date();
      const res = await fetch(`${front.endpoint}/webhooks/psapi`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'svix-id': messageId,
          'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
          'svix-signature': new Webhook(secret).sign(messageId, now, body),
        },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    async visible(url) {
      const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(out.Attributes?.ApproximateNumberOfMessages);
    },
    async stop() {
      await Promise.all([poller.stop(), front.stop()]);
    },
  };
}
