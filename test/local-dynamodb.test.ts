import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { createTablesFromTemplates } from '#local/provision';
import { createStreamReader } from '#local/stream-reader';
import { appTemplates } from '#local/synth';

describe('DynamoDB Local from global setup', () => {
  it('is reachable through the injected endpoint and the inherited env, streams included', async () => {
    const endpoint = inject('dynamoEndpoint');
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(endpoint);

    const dynamo = new DynamoDBClient({});
    const tableName = `local-ddb-${process.pid}-${Date.now()}`;
    const { DataTable: created } = await createTablesFromTemplates(await appTemplates(), { DataTable: tableName }, { dynamo });
    const streamArn = created?.streamArn;
    expect(streamArn).toBeTruthy();

    const key = { pk: { S: 'NPN#1' }, sk: { S: 'licenses#1' } };
    await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { ...key, v: { N: '1' } } }));
    await dynamo.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '2' } },
      }),
    );

    const records = await createStreamReader({ streamArn: streamArn as string }).read();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(records[1]?.dynamodb?.OldImage?.v).toEqual({ N: '1' });
    expect(records[1]?.dynamodb?.NewImage?.v).toEqual({ N: '2' });
  });
});
