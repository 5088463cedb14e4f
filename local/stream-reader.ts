/**
 * The one reader of a DynamoDB stream (DynamoDB Local serves the Streams API on its own port): follows every
 * shard, parents before children, and hands back what was written since the previous read. The stream
 * poller (the event source mapping stand-in), the tests and the benchmarks all read through it.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { logger } from '#commons/logger';
import { LOCAL_REGION } from '#local/aws-env';

export type StreamRecord = _Record;

export interface StreamReaderOptions {
  streamArn: string;
  /**
   * Where a shard of the first DescribeStream is read from: `TRIM_HORIZON` (default: everything still on the
   * stream) or `LATEST` (only what is written after the first read). Shards that appear later (a rollover's
   * children) are always read from their start.
   */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  client?: DynamoDBStreamsClient;
}

export interface ReadOptions {
  /** Stop after about this many records (at a page boundary); default: read every shard to its end. */
  maxRecords?: number;
  abortSignal?: AbortSignal;
}

/** Records of one shard, in order. */
export interface ShardBatch {
  shardId: string;
  records: StreamRecord[];
}

export interface StreamReader {
  readonly streamArn: string;
  /** What was written since the previous call, per shard (shards in DescribeStream order, parents first). */
  readBatches(options?: ReadOptions): Promise<ShardBatch[]>;
  /** The same, flattened. */
  read(options?: ReadOptions): Promise<StreamRecord[]>;
}

const PAGE_LIMIT = 1000;

export function createStreamReader(options: StreamReaderOptions): StreamReader {
  const { streamArn } = options;
  const streams = options.client ?? new DynamoDBStreamsClient({});
  const iterators = new Map<string, string | null>(); // shardId → iterator (null: a closed shard read to its end)
  const lastSequence = new Map<string, string>(); // shardId → last record handed out

  const iteratorFor = async (shardId: string, position: 'TRIM_HORIZON' | 'LATEST'): Promise<string | null> => {
    const after = lastSequence.get(shardId);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: position }),
      }),
    );
    return ShardIterator ?? null;
  };

  const discoverShards = async (): Promise<void> => {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || iterators.has(shard.ShardId)) continue;
      const fromStart = iterators.size > 0 || options.startingPosition !== 'LATEST';
      iterators.set(shard.ShardId, await iteratorFor(shard.ShardId, fromStart ? 'TRIM_HORIZON' : 'LATEST'));
    }
  };

  const readBatches = async (readOptions: ReadOptions = {}): Promise<ShardBatch[]> => {
    await discoverShards();
    const batches: ShardBatch[] = [];
    let remaining = readOptions.maxRecords ?? Number.POSITIVE_INFINITY;
    for (const [shardId, start] of iterators) {
      let iterator = start;
      const records: StreamRecord[] = [];
      while (iterator && remaining > 0) {
        let page;
        try {
          page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(PAGE_LIMIT, remaining) }), {
            abortSignal: readOptions.abortSignal,
          });
        } catch (error) {
          if (readOptions.abortSignal?.aborted) throw error;
          // An expired or rejected iterator (DynamoDB Local rejects a LATEST iterator taken on an empty shard once
          // the first record arrives): start again right after the last record handed out, else from the start.
          logger.warn('Local stream reader: shard read failed, taking a new iterator', { shardId, error: (error as Error).message });
          iterator = await iteratorFor(shardId, 'TRIM_HORIZON');
          iterators.set(shardId, iterator);
          break;
        }
        const got = page.Records ?? [];
        records.push(...got);
        remaining -= got.length;
        const last = got.at(-1)?.dynamodb?.SequenceNumber;
        if (last) lastSequence.set(shardId, last);
        iterator = page.NextShardIterator ?? null;
        iterators.set(shardId, iterator);
        // An open shard always hands back an iterator; an empty page means we are at its end.
        if (got.length === 0) break;
      }
      if (records.length > 0) batches.push({ shardId, records });
      if (remaining <= 0) break;
    }
    return batches;
  };

  return {
    streamArn,
    readBatches,
    async read(readOptions) {
      return (await readBatches(readOptions)).flatMap((batch) => batch.records);
    },
  };
}

/** The table's current stream ARN. */
export async function streamArnOf(dynamo: DynamoDBClient, tableName: string): Promise<string> {
  const streamArn = (await dynamo.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`${tableName} has no stream`);
  return streamArn;
}

/** Every record on the table's stream so far (all shards, from the horizon). */
export async function readStream(dynamo: DynamoDBClient, tableName: string): Promise<StreamRecord[]> {
  return createStreamReader({ streamArn: await streamArnOf(dynamo, tableName) }).read();
}

/** A stream record as Lambda hands it to a stream consumer (`ApproximateCreationDateTime` in epoch seconds). */
export function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
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
