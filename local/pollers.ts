/**
 * Event source mapping stand-ins: an SQS poller and a DynamoDB Streams poller that hand real-looking events to
 * local handlers and honour partial batch responses, as Lambda's pollers do.
 */
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { chunked } from '#commons/chunked';
import { sqsClient } from '#commons/clients';
import { logger } from '#commons/logger';
import { sleep } from '#producersync/retry';
import { LOCAL_REGION } from '#local/aws-env';
import { lambdaContext } from '#local/lambda-context';
import { createStreamReader, toLambdaRecord } from '#local/stream-reader';

export interface Poller {
  /** Resolves once everything that was delivered before the call has been handled and the source looks empty. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Lets `drain()` wait for "an idle poll that started after drain was called": the poll loop reports each
 * idle cycle, and a waiter resolves on the first one whose start is later than the waiter's creation.
 */
class IdleWaiters {
  private waiters: Array<{ after: number; resolve: () => void }> = [];
  private cycle = 0;

  beginCycle(): number {
    return ++this.cycle;
  }

  idle(cycle: number): void {
    const ready = this.waiters.filter((w) => cycle > w.after);
    this.waiters = this.waiters.filter((w) => cycle <= w.after);
    for (const w of ready) w.resolve();
  }

  wait(timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} did not drain within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ after: this.cycle, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface PollQueueOptions {
  queueUrl: string;
  handler: SqsHandler;
  /** Messages per handler call (the mapping's BatchSize, up to 10,000): gathered 10 a receive while the queue has more. */
  batchSize?: number;
  waitTimeSeconds?: number;
  /** Honour `batchItemFailures` in the response (`FunctionResponseTypes: [ReportBatchItemFailures]`); default true. Without it a response means the whole batch succeeded. */
  reportBatchItemFailures?: boolean;
}

function sqsRecord(message: Message, eventSourceARN: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'AIDALOCAL',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId ? { MessageDeduplicationId: attributes.MessageDeduplicationId } : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
          stringListValues: value.StringListValues ?? [],
          binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion: LOCAL_REGION,
  };
}

/**
 * The SQS event source mapping stand-in: receives batches, hands the handler a real-looking SQSEvent and
 * deletes every record except those in `batchItemFailures` (a thrown error keeps the whole batch).
 * Undeleted messages come back after the visibility timeout, and the queue's redrive policy moves them to the DLQ.
 */
export function pollQueue(options: PollQueueOptions): Poller {
  const sqs = sqsClient();
  const abort = new AbortController();
  const waiters = new IdleWaiters();
  let queueArn: string | undefined;

  const queueIsEmpty = async (): Promise<boolean> => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: options.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return Object.values(Attributes).every((count) => count === '0');
  };

  const handleBatch = async (messages: Message[]): Promise<void> => {
    queueArn ??= (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? options.queueUrl;
    const records = messages.map((m) => sqsRecord(m, queueArn as string));
    let failed: Set<string>;
    try {
      const response = await options.handler({ Records: records }, lambdaContext('sqs-consumer'));
      const failures = options.reportBatchItemFailures === false ? [] : (response?.batchItemFailures ?? []);
      failed = new Set(failures.map((f) => f.itemIdentifier));
    } catch (error) {
      logger.warn('Local SQS poller: handler failed, the batch returns to the queue', { error: (error as Error).message });
      return;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    // SQS takes at most 10 entries per DeleteMessageBatch.
    for (const entries of chunked(done, 10)) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: entries.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
  };

  const batchSize = options.batchSize ?? 10;
  // SQS returns at most 10 messages per receive.
  const receive = async (waitTimeSeconds: number, room: number): Promise<Message[]> =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, room),
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      )
    ).Messages ?? [];

  const loop = (async () => {
    while (!abort.signal.aborted) {
      const cycle = waiters.beginCycle();
      try {
        const Messages = await receive(options.waitTimeSeconds ?? 1, batchSize);
        // Lambda's batching window, closed as soon as the queue has nothing more to give.
        for (let more = Messages; more.length > 0 && Messages.length < batchSize; ) {
          more = await receive(0, batchSize - Messages.length);
          Messages.push(...more);
        }
        if (Messages.length > 0) {
          await handleBatch(Messages);
        } else {
          if (await queueIsEmpty()) waiters.idle(cycle);
          // Short polling (waitTimeSeconds 0) would otherwise spin on an empty queue.
          if (!options.waitTimeSeconds) await sleep(50);
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        logger.warn('Local SQS poller: receive failed', { error: (error as Error).message });
        await sleep(200);
      }
    }
  })();

  return {
    drain: (timeoutMs = 30_000) => waiters.wait(timeoutMs, `Queue ${options.queueUrl}`),
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

export interface PollStreamOptions {
  streamArn: string;
  handler: StreamHandler;
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  batchSize?: number;
  /** Retries of a failing batch before it is skipped (an event source mapping's MaximumRetryAttempts). */
  maxRetries?: number;
  pollIntervalMs?: number;
  /** Only records the filter accepts reach the handler (an event source mapping's FilterCriteria); the others are consumed. */
  filter?: (record: DynamoDBRecord) => boolean;
}

/**
 * The DynamoDB Streams event source mapping stand-in: follows every shard through the stream reader and delivers
 * DynamoDBStreamEvent batches in order. A failing batch is retried (from the first `batchItemFailures` item when
 * reported) up to `maxRetries` times, then skipped.
 */
export function pollStream(options: PollStreamOptions): Poller {
  const abort = new AbortController();
  const waiters = new IdleWaiters();
  const batchSize = options.batchSize ?? 100;
  const reader = createStreamReader({ streamArn: options.streamArn, ...(options.startingPosition ? { startingPosition: options.startingPosition } : {}) });

  /** Delivers one batch with retries. */
  const deliver = async (records: DynamoDBRecord[]): Promise<void> => {
    let pending = records;
    for (let attempt = 0; pending.length > 0; attempt++) {
      try {
        const response = await options.handler({ Records: pending }, lambdaContext('stream-consumer'));
        const firstFailed = response?.batchItemFailures?.[0]?.itemIdentifier;
        if (!firstFailed) return;
        const index = pending.findIndex((r) => r.dynamodb?.SequenceNumber === firstFailed);
        pending = index >= 0 ? pending.slice(index) : pending;
      } catch (error) {
        logger.warn('Local stream poller: handler failed', { error: (error as Error).message, attempt });
      }
      if (attempt >= (options.maxRetries ?? 2)) {
        logger.warn('Local stream poller: skipping a batch after its retries', { records: pending.length });
        return;
      }
    }
  };

  const loop = (async () => {
    while (!abort.signal.aborted) {
      const cycle = waiters.beginCycle();
      let delivered = 0;
      try {
        for (const batch of await reader.readBatches({ maxRecords: batchSize, abortSignal: abort.signal })) {
          delivered += batch.records.length;
          const records = batch.records.map((r) => toLambdaRecord(r, options.streamArn));
          const accepted = options.filter ? records.filter(options.filter) : records;
          if (accepted.length > 0) await deliver(accepted);
        }
        if (delivered === 0) waiters.idle(cycle);
      } catch (error) {
        if (abort.signal.aborted) break;
        logger.warn('Local stream poller: read failed', { error: (error as Error).message });
      }
      if (delivered === 0) await sleep(options.pollIntervalMs ?? 100);
    }
  })();

  return {
    drain: (timeoutMs = 30_000) => waiters.wait(timeoutMs, `Stream ${options.streamArn}`),
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
