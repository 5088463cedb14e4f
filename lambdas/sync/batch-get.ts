/** Consistent BatchGetItem of any number of keys: 100 per request, DynamoDB's `UnprocessedKeys` retried with jittered backoff. */
import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chunked } from '#commons/chunked';
import { backoffDelayMs, sleep } from '#producersync/retry';
import { mapWithConcurrency } from '#sync/concurrency';

const BATCH_GET_MAX_KEYS = 100;
const MAX_BATCH_ATTEMPTS = 12;

/** Full-jitter backoff before re-sending DynamoDB's unprocessed batch leftovers: up to 100 ms, 200 ms, ... 2 s. */
export const unprocessedBackoffMs = (attempt: number): number => backoffDelayMs(attempt + 1, { baseDelayMs: 50, maxDelayMs: 2_000 }, Math.random);

/** Options of `batchGetItems`. */
export interface BatchGetOptions {
  client: DynamoDBClient;
  tableName: string;
  keys: readonly Record<string, AttributeValue>[];
  /** ProjectionExpression and its names. */
  projection: string;
  names: Record<string, string>;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
}

/**
 * Every item found for `keys`, read consistently (a stale read would send a conditional write that
 * fails, and failed writes still cost capacity). Order is not kept.
 */
export async function batchGetItems({ client, tableName, keys, projection, names, concurrency = 4 }: BatchGetOptions): Promise<Record<string, AttributeValue>[]> {
  const found: Record<string, AttributeValue>[] = [];
  await mapWithConcurrency(chunked(keys, BATCH_GET_MAX_KEYS), concurrency, async (chunk) => {
    let pending: Record<string, AttributeValue>[] = [...chunk];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${attempt} attempts`);
      if (attempt > 0) await sleep(unprocessedBackoffMs(attempt));
      const response = await client.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: projection, ExpressionAttributeNames: names } } }),
      );
      found.push(...(response.Responses?.[tableName] ?? []));
      pending = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  });
  return found;
}
