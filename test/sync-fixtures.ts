/** Shared by the sync engine tests: the app's tables (from the synthesized templates), table and stream readers. */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { createTablesFromTemplates } from '#local/provision';
import { appTemplates } from '#local/synth';

export { readStream } from '#local/stream-reader';

export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** One of the app's tables exactly as the templates define it, under a fresh name. */
async function createAppTable(client: DynamoDBClient, constructId: 'DataTable' | 'ControlTable', name: string): Promise<string> {
  await createTablesFromTemplates(await appTemplates(), { [constructId]: name }, { dynamo: client });
  return name;
}

export const createDataTable = (client: DynamoDBClient, name = uniqueName('data')): Promise<string> => createAppTable(client, 'DataTable', name);

export const createControlTable = (client: DynamoDBClient, name = uniqueName('control')): Promise<string> => createAppTable(client, 'ControlTable', name);

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

/** `<eventName> <sk>` per stream record, sorted: compares what changed regardless of write order. */
export const streamSummary = (records: StreamRecord[]): string[] =>
  records.map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S}/${r.dynamodb?.Keys?.sk?.S}`).sort();
