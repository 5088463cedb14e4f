/**
 * The producer store on the DynamoDB data table: one Query on the partition `NPN#<npn>`, followed
 * past DynamoDB's 1 MB page limit, so a producer with many records still comes back whole.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ProducerStore } from './producer-store.ts';
import type { StoredItem } from './producer-view.ts';

/** Options of `createDynamoProducerStore`. */
export interface DynamoProducerStoreOptions {
  client: DynamoDBClient;
  /** The data table (the `DataTableName` output of the data stack). */
  tableName: string;
  /** Strongly consistent reads (twice the read units). @default false: eventually consistent */
  consistentRead?: boolean;
}

/** The producer store on the DynamoDB data table. */
export function createDynamoProducerStore({ client, tableName, consistentRead = false }: DynamoProducerStoreOptions): ProducerStore {
  return {
    async items(npn, options = {}) {
      const types = options.recordTypes ?? [];
      const filter = types.length > 0 ? { FilterExpression: `recordType IN (${types.map((_, i) => `:t${i}`).join(', ')})` } : {};
      const values: Record<string, AttributeValue> = { ':pk': { S: `NPN#${npn}` } };
      types.forEach((type, i) => (values[`:t${i}`] = { S: type }));
      const items: StoredItem[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: values,
            ConsistentRead: consistentRead,
            ExclusiveStartKey: startKey,
            ...filter,
          }),
        );
        for (const item of page.Items ?? []) items.push(unmarshall(item) as StoredItem);
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    },
  };
}
