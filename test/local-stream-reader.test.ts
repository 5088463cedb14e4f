import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { createTablesFromTemplates } from '#local/provision';
import { createStreamReader, readStream, toLambdaRecord } from '#local/stream-reader';
import { appTemplates } from '#local/synth';

const dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
let tables = 0;

async function dataTable(): Promise<{ name: string; streamArn: string }> {
  const name = `reader-${process.pid}-${Date.now().toString(36)}-${tables++}`;
  const { DataTable } = await createTablesFromTemplates(await appTemplates(), { DataTable: name }, { dynamo });
  return { name, streamArn: DataTable!.streamArn! };
}

const put = (table: string, id: number) =>
  dynamo.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'NPN#1' }, sk: { S: `licenses#${id}` }, v: { N: String(id) } } }));
const ids = (records: Awaited<ReturnType<typeof readStream>>) => records.map((r) => r.dynamodb?.Keys?.sk?.S);

describe('the stream reader', () => {
  it('hands out each record once, in order, across reads; maxRecords stops early and the next read goes on', async () => {
    const table = await dataTable();
    const reader = createStreamReader({ streamArn: table.streamArn });
    for (const id of [1, 2, 3]) await put(table.name, id);
    expect(ids(await reader.read({ maxRecords: 2 }))).toEqual(['licenses#1', 'licenses#2']);
    expect(ids(await reader.read())).toEqual(['licenses#3']);
    expect(await reader.read()).toEqual([]);
    await put(table.name, 4);
    expect(ids(await reader.read())).toEqual(['licenses#4']);
    expect(ids(await readStream(dynamo, table.name))).toEqual(['licenses#1', 'licenses#2', 'licenses#3', 'licenses#4']);
  });

  it('from LATEST skips what was there before its first read', async () => {
    const table = await dataTable();
    await put(table.name, 1);
    const reader = createStreamReader({ streamArn: table.streamArn, startingPosition: 'LATEST' });
    expect(await reader.read()).toEqual([]);
    await put(table.name, 2);
    expect(ids(await reader.read())).toEqual(['licenses#2']);
  });

  it('shapes records as Lambda hands them to a stream consumer', async () => {
    const table = await dataTable();
    await put(table.name, 7);
    const [record] = await readStream(dynamo, table.name);
    expect(toLambdaRecord(record!, table.streamArn)).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventSourceARN: table.streamArn,
      dynamodb: { Keys: { pk: { S: 'NPN#1' }, sk: { S: 'licenses#7' } }, NewImage: { v: { N: '7' } }, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    expect(Number.isInteger(toLambdaRecord(record!, table.streamArn).dynamodb?.ApproximateCreationDateTime)).toBe(true);
  });
});
