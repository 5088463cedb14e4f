/**
 * The keys a reconcile pass saw (docs/SYNC.md "Reconcile"): every committed page's keys go to the
 * control table before its checkpoint, split by change-index shard (`RUN#<runId>` /
 * `SEEN#<endpoint>#<nn>#<page>`), so the sweep of one shard loads only that shard's keys. Compact (one
 * `npn/id` string per key), idempotent on a replayed page (same item keys), expiring (TTL). The store
 * interface and its DynamoDB adapter.
 */
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { shardOf, TYPE_SHARDS } from '#sync/change-index';
import { mapWithConcurrency } from '#sync/concurrency';

/** Seen keys outlive any run (an execution lasts at most 24 h) and then expire. */
export const SEEN_KEYS_TTL_DAYS = 7;

/** A data-table key. */
export interface ItemKey {
  pk: string;
  sk: string;
}

/** `npn/id` (or `npn/STATUS`): a key without the parts every key of one endpoint shares. */
export function compactKey({ pk, sk }: ItemKey): string {
  return `${pk.slice(pk.indexOf('#') + 1)}/${sk.slice(sk.lastIndexOf('#') + 1)}`;
}

/** Where a reconcile's seen keys are kept. */
export interface SeenKeyStore {
  /** Records the keys of page `page` of the endpoint's pass (writing the same page again replaces it). */
  putPage(endpoint: string, page: number, keys: readonly ItemKey[]): Promise<void>;
  /** Every compact key of shard `shard` seen in the endpoint's pass. */
  loadShard(endpoint: string, shard: number): Promise<Set<string>>;
}

/** Options of `createDynamoSeenKeyStore`. */
export interface DynamoSeenKeyStoreOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
  /** The reconcile run. */
  runId: string;
  /** @default Date.now */
  now?: () => number;
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');
const shardPrefix = (endpoint: string, shard: number): string => `SEEN#${endpoint}#${pad(shard, 2)}#`;

/** The seen-key store of one run on the DynamoDB control table. */
export function createDynamoSeenKeyStore({ client, tableName, runId, now = Date.now }: DynamoSeenKeyStoreOptions): SeenKeyStore {
  const pk = `RUN#${runId}`;
  return {
    async putPage(endpoint, page, keys) {
      const byShard: string[][] = Array.from({ length: TYPE_SHARDS }, () => []);
      for (const key of keys) byShard[shardOf(key.pk, key.sk)]!.push(compactKey(key));
      const expiresAt = Math.floor(now() / 1000) + SEEN_KEYS_TTL_DAYS * 86_400;
      // Every shard is written, empty ones too, so a replayed page with other content leaves nothing of the first.
      await mapWithConcurrency([...byShard.entries()], 8, ([shard, compact]) =>
        client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: marshall({ pk, sk: `${shardPrefix(endpoint, shard)}${pad(page, 7)}`, keys: compact.join(','), expiresAt }),
          }),
        ),
      );
    },

    async loadShard(endpoint, shard) {
      const seen = new Set<string>();
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: marshall({ ':pk': pk, ':prefix': shardPrefix(endpoint, shard) }),
            ProjectionExpression: '#keys',
            ExpressionAttributeNames: { '#keys': 'keys' },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) {
          const { keys } = unmarshall(item) as { keys?: string };
          if (keys) for (const key of keys.split(',')) seen.add(key);
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return seen;
    },
  };
}
