import { CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, inject, it } from 'vitest';

describe('DynamoDB Local from global setup', () => {
  it('is reachable through the injected endpoint and the inherited env, streams included', async () => {
    const endpoint = inject('dynamoEndpoint');
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(endpoint);

    const dynamo = new DynamoDBClient({});
    const tableName = `local-ddb-${process.pid}-${Date.now()}`;
    const created = await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    const streamArn = created.TableDescription?.LatestStreamArn;
    expect(streamArn).toBeTruthy();

    await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'a' }, v: { N: '1' } } }));
    await dynamo.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '2' } },
      }),
    );

    const streams = new DynamoDBStreamsClient({});
    const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shardId = description.StreamDescription?.Shards?.[0]?.ShardId;
    const iterator = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const records = await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));
    expect(records.Records?.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(records.Records?.[1]?.dynamodb?.OldImage?.v).toEqual({ N: '1' });
    expect(records.Records?.[1]?.dynamodb?.NewImage?.v).toEqual({ N: '2' });
  });
});
