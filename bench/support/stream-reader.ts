import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';

/**
 * Reads a table's real stream (DynamoDB Local serves DynamoDB Streams) incrementally: each
 * `readNew()` returns the records written since the previous call, across every shard.
 */
export class StreamReader {
  private readonly streams = new DynamoDBStreamsClient({});
  /** Last sequence number read per shard. */
  private readonly positions = new Map<string, string>();

  private constructor(private readonly streamArn: string) {}

  static async forTable(client: DynamoDBClient, tableName: string): Promise<StreamReader> {
    const streamArn = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`${tableName} has no stream`);
    return new StreamReader(streamArn);
  }

  async readNew(): Promise<_Record[]> {
    const records: _Record[] = [];
    const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId;
      if (!shardId) continue;
      const after = this.positions.get(shardId);
      let iterator = (
        await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: this.streamArn,
            ShardId: shardId,
            ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        )
      ).ShardIterator;
      while (iterator) {
        const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        const batch = page.Records ?? [];
        records.push(...batch);
        const last = batch.at(-1)?.dynamodb?.SequenceNumber;
        if (last) this.positions.set(shardId, last);
        // An open shard always hands back an iterator; an empty page means we are at its end.
        if (batch.length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
    return records;
  }
}
