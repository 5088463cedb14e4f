import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startDynamoDbLocal } from '#local/dynamodb-local';
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

describe('a DynamoDB Local started here', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddb-local-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const netns = (pid: number | 'self'): string => readlinkSync(`/proc/${pid}/ns/net`);

  it('persists in its directory, runs off the network where it can, and leaves no process behind', async () => {
    const dbPath = join(dir, 'db');
    const first = await startDynamoDbLocal({ dbPath, isolateNetwork: true });
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    if (first.isolated) expect(netns(first.pids.java)).not.toBe(netns('self'));
    else expect(first.warning).toMatch(/listens on every network interface/);
    const dynamo = new DynamoDBClient({ endpoint: first.endpoint });
    const { DataTable } = await createTablesFromTemplates(await appTemplates(), { DataTable: 'kept' }, { dynamo });
    await dynamo.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'NPN#1' }, sk: { S: 'licenses#1' } } }));
    await first.stop();
    expect([first.pids.supervisor, first.pids.java].filter(alive)).toEqual([]);

    const second = await startDynamoDbLocal({ dbPath });
    try {
      const again = new DynamoDBClient({ endpoint: second.endpoint });
      const { Item } = await again.send(new GetItemCommand({ TableName: 'kept', Key: { pk: { S: 'NPN#1' }, sk: { S: 'licenses#1' } } }));
      expect(Item?.sk?.S).toBe('licenses#1');
      expect((await createTablesFromTemplates(await appTemplates(), { DataTable: 'kept' }, { dynamo: again })).DataTable?.streamArn).toBe(DataTable?.streamArn);
    } finally {
      await second.stop();
    }
  });
});
