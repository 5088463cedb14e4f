import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sqsClient } from '#commons/clients';
import { logger } from '#commons/logger';
import { LOCAL_REGION } from '#local/aws-env';
import { lambdaContext } from '#local/lambda-context';

export interface Poller {
  /** Resolves once everything that was delivered before the call has been handled and the source looks empty. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  batchSize?: number;
  waitTimeSeconds?: number;
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
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      logger.warn('Local SQS poller: handler failed, the batch returns to the queue', { error: (error as Error).message });
      return;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  };

  const loop = (async () => {
    while (!abort.signal.aborted) {
      const cycle = waiters.beginCycle();
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
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
}

function streamRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const created = change.ApproximateCreationDateTime;
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: LOCAL_REGION,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      ...(change.Keys ? { Keys: change.Keys as never } : {}),
      ...(change.NewImage ? { NewImage: change.NewImage as never } : {}),
      ...(change.OldImage ? { OldImage: change.OldImage as never } : {}),
      ...(change.SequenceNumber ? { SequenceNumber: change.SequenceNumber } : {}),
      ...(change.SizeBytes !== undefined ? { SizeBytes: change.SizeBytes } : {}),
      ...(change.StreamViewType ? { StreamViewType: change.StreamViewType as never } : {}),
    },
  };
}

/**
 * The DynamoDB Streams event source mapping stand-in: follows every shard (DescribeStream, GetShardIterator,
 * GetRecords) and delivers DynamoDBStreamEvent batches in order. A failing batch is retried (from the first
 * `batchItemFailures` item when reported) up to `maxRetries` times, then skipped.
 */
export function pollStream(options: PollStreamOptions): Poller {
  const streams = new DynamoDBStreamsClient({});
  const abort = new AbortController();
  const waiters = new IdleWaiters();
  const iterators = new Map<string, string | null>(); // shardId → iterator (null: closed shard fully read)
  const lastSequence = new Map<string, string>(); // shardId → last record delivered
  const batchSize = options.batchSize ?? 100;

  /**
   * A fresh iterator after a failed read (an expired or rejected iterator), so the poller recovers instead of
   * failing on the same iterator forever: right after the last record delivered, else from the shard's start.
   */
  const recoverIterator = async (shardId: string): Promise<void> => {
    const after = lastSequence.get(shardId);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: options.streamArn,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    iterators.set(shardId, ShardIterator ?? null);
  };

  const discoverShards = async (): Promise<void> => {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: options.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || iterators.has(shard.ShardId)) continue;
      // Child shards (after a rollover) are read from their start; the first shards from the chosen position.
      const fromStart = iterators.size > 0 || options.startingPosition !== 'LATEST';
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: options.streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: fromStart ? 'TRIM_HORIZON' : 'LATEST',
        }),
      );
      iterators.set(shard.ShardId, ShardIterator ?? null);
    }
  };

  /** Delivers one batch with retries; returns how many records were consumed. */
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
        await discoverShards();
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          let page;
          try {
            page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }), { abortSignal: abort.signal });
          } catch (error) {
            if (abort.signal.aborted) throw error;
            logger.warn('Local stream poller: shard read failed, taking a new iterator', { shardId, error: (error as Error).message });
            await recoverIterator(shardId);
            continue;
          }
          const { Records = [], NextShardIterator } = page;
          iterators.set(shardId, NextShardIterator ?? null);
          if (Records.length > 0) {
            delivered += Records.length;
            await deliver(Records.map((r) => streamRecord(r, options.streamArn)));
            const last = Records.at(-1)?.dynamodb?.SequenceNumber;
            if (last) lastSequence.set(shardId, last);
          }
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
