/**
 * Pending activations in the control table (`ACTIVATION#<npn>` / `PENDING`): newly activated NPNs
 * kept until the data table holds a record for them (activations.ts retries their backfill). Items
 * also carry `kind = "pendingActivation"` and `startedAt` so the `byKind` index lists them without
 * a scan. The store interface and its DynamoDB adapter.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/** The `kind` that lists pending activations in the `byKind` index. */
export const PENDING_ACTIVATION_KIND = 'pendingActivation';

/** One activated NPN still waiting for data. */
export interface PendingActivation {
  npn: string;
  attempts: number;
  firstSeenAt: string;
  nextAttemptAt: string;
  executionArn?: string;
  eventId?: string;
  /** Safety-net TTL (epoch seconds): the retry run deletes the item when it resolves or gives up. */
  expiresAt: number;
}

/** Where pending activations are kept. */
export interface PendingActivationStore {
  /** Writes (or overwrites) the NPN's pending activation. */
  put(activation: PendingActivation): Promise<void>;
  /** Every pending activation, read consistently. */
  list(): Promise<PendingActivation[]>;
  forget(npn: string): Promise<void>;
}

/** Options of `createDynamoPendingActivationStore`. */
export interface DynamoPendingActivationStoreOptions {
  client: DynamoDBClient;
  /** The control table (with its `byKind` index). */
  tableName: string;
}

const ACTIVATION_PREFIX = 'ACTIVATION#';
const pendingKey = (npn: string) => marshall({ pk: `${ACTIVATION_PREFIX}${npn}`, sk: 'PENDING' });

/** The pending-activation store on the DynamoDB control table. */
export function createDynamoPendingActivationStore({ client, tableName }: DynamoPendingActivationStoreOptions): PendingActivationStore {
  return {
    async put(activation) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: marshall(
            { ...activation, pk: `${ACTIVATION_PREFIX}${activation.npn}`, sk: 'PENDING', kind: PENDING_ACTIVATION_KIND, startedAt: activation.firstSeenAt },
            { removeUndefinedValues: true },
          ),
        }),
      );
    },

    async list() {
      const npns: string[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: 'byKind',
            KeyConditionExpression: 'kind = :kind',
            ExpressionAttributeValues: marshall({ ':kind': PENDING_ACTIVATION_KIND }),
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const pk = unmarshall(item).pk;
          if (typeof pk === 'string' && pk.startsWith(ACTIVATION_PREFIX)) npns.push(pk.slice(ACTIVATION_PREFIX.length));
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      // The index may project keys only, and lags the table: read each item itself.
      const out: PendingActivation[] = [];
      for (const npn of npns) {
        const got = await client.send(new GetItemCommand({ TableName: tableName, Key: pendingKey(npn), ConsistentRead: true }));
        if (got.Item) out.push(pendingActivationOf(unmarshall(got.Item)));
      }
      return out;
    },

    async forget(npn) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: pendingKey(npn) }));
    },
  };
}

/** The pending activation in a stored item, without the table's keys and index attributes. */
function pendingActivationOf(item: Record<string, unknown>): PendingActivation {
  const { pk: _pk, sk: _sk, kind: _kind, startedAt: _startedAt, ...activation } = item;
  return activation as unknown as PendingActivation;
}
