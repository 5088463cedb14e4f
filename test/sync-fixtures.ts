/** Shared by the sync engine tests: tables with the docs/ARCHITECTURE.md key schema, table and stream readers. */
import { CreateTableCommand, DescribeTableCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';

export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const S = 'S' as const;

/** A table with the pk/sk key schema of docs/ARCHITECTURE.md and one GSI. */
async function createTable(client: DynamoDBClient, name: string, index: { name: string; hash: string; range: string }, stream: boolean): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: ['pk', 'sk', index.hash, index.range].map((AttributeName) => ({ AttributeName, AttributeType: S })),
      GlobalSecondaryIndexes: [
        {
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.hash, KeyType: 'HASH' },
            { AttributeName: index.range, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' as const } } : {}),
    }),
  );
  return name;
}

export const createDataTable = (client: DynamoDBClient, name = uniqueName('data')): Promise<string> =>
  createTable(client, name, { name: 'byTypeChangedAt', hash: 'typeShard', range: 'changedAt' }, true);

export const createControlTable = (client: DynamoDBClient, name = uniqueName('control')): Promise<string> =>
  createTable(client, name, { name: 'byKind', hash: 'kind', range: 'startedAt' }, false);

export async function scanAll(client: DynamoDBClient, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) items.push(unmarshall(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every record on the table's stream so far (all shards, from the horizon). */
export async function readStream(client: DynamoDBClient, tableName: string): Promise<StreamRecord[]> {
  const streamArn = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`${tableName} has no stream`);
  const streams = new DynamoDBStreamsClient({});
  const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription?.Shards ?? [];
  const records: StreamRecord[] = [];
  for (const shard of shards) {
    let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []));
      // An open shard keeps returning an iterator; an empty page means we are at its end.
      if (!page.Records?.length) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/** `<eventName> <sk>` per stream record, sorted: compares what changed regardless of write order. */
export const streamSummary = (records: StreamRecord[]): string[] =>
  records.map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S}/${r.dynamodb?.Keys?.sk?.S}`).sort();
