import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { EndpointName } from '#producersync/endpoints';
import { chunked } from '#commons/chunked';
import { backoffDelayMs, sleep } from '#producersync/retry';
import { mapWithConcurrency } from '#sync/concurrency';
import type { QuarantineSink } from '#sync/quarantine';
import { emptyOutcome, type DataItem, type PageOutcome, type RecordStore } from '#sync/record-store';
import { validateRecord } from '#sync/record-validation';

/** Full-jitter backoff before re-sending DynamoDB's unprocessed batch leftovers: up to 100 ms, 200 ms, ... 2 s. */
const unprocessedBackoffMs = (attempt: number): number => backoffDelayMs(attempt + 1, { baseDelayMs: 50, maxDelayMs: 2_000 }, Math.random);

export interface DynamoRecordStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  quarantine: QuarantineSink;
  /** Conditional PutItems in flight at once (default 16). */
  writeConcurrency?: number;
}

/** What the data table holds for a key, as far as the write rule needs to know. */
interface StoredVersion {
  updatedAt: string;
  contentHash: string;
  deleted: boolean;
}

type Classification = 'inserted' | 'modified' | 'deleted' | 'unchanged' | 'stale' | 'quarantined';

const BATCH_GET_MAX_KEYS = 100;
const BATCH_WRITE_MAX_ITEMS = 25;
const MAX_BATCH_ATTEMPTS = 12;

/** The write rule of docs/ARCHITECTURE.md: new, newer, or same date with different content. */
const WRITE_RULE = 'attribute_not_exists(#pk) OR #updatedAt < :u OR (#updatedAt = :u AND #contentHash <> :h)';
const WRITE_RULE_NAMES = { '#pk': 'pk', '#updatedAt': 'updatedAt', '#contentHash': 'contentHash' };

const keyOf = (item: { pk: string; sk: string }): string => `${item.pk}\u0000${item.sk}`;

export function createDynamoRecordStore({ client, tableName, quarantine, writeConcurrency = 16 }: DynamoRecordStoreOptions): RecordStore {
  async function readStored(items: readonly DataItem[]): Promise<Map<string, StoredVersion>> {
    const stored = new Map<string, StoredVersion>();
    await mapWithConcurrency(chunked(items, BATCH_GET_MAX_KEYS), 4, async (chunk) => {
      let keys: Record<string, AttributeValue>[] = chunk.map((item) => ({ pk: { S: item.pk }, sk: { S: item.sk } }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${attempt} attempts`);
        if (attempt > 0) await sleep(unprocessedBackoffMs(attempt));
        const response = await client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [tableName]: {
                Keys: keys,
                // Consistent: a stale read would send a conditional write that fails, and failed writes still cost capacity.
                ConsistentRead: true,
                ProjectionExpression: '#pk, #sk, #updatedAt, #contentHash, #deleted',
                ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#updatedAt': 'updatedAt', '#contentHash': 'contentHash', '#deleted': 'deleted' },
              },
            },
          }),
        );
        for (const found of response.Responses?.[tableName] ?? []) {
          const version = storedVersion(found);
          if (version) stored.set(keyOf({ pk: found.pk?.S ?? '', sk: found.sk?.S ?? '' }), version);
        }
        keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
    });
    return stored;
  }

  async function put(item: DataItem, marshalled: Record<string, AttributeValue>, before: StoredVersion | undefined): Promise<Classification> {
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: marshalled,
          ConditionExpression: WRITE_RULE,
          ExpressionAttributeNames: WRITE_RULE_NAMES,
          ExpressionAttributeValues: { ':u': { S: item.updatedAt }, ':h': { S: item.contentHash } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return classifyWrite(item, before);
    } catch (error) {
      // Someone (a duplicate invocation, an overlapping run) wrote this key since our read: no write happened.
      if (error instanceof ConditionalCheckFailedException) {
        const now = error.Item ? storedVersion(error.Item) : undefined;
        return now && now.updatedAt > item.updatedAt ? 'stale' : 'unchanged';
      }
      // DynamoDB refuses this one item (nesting deeper than 32, an empty map key, ...): retrying
      // cannot help, so it must not fail the endpoint on every attempt.
      if ((error as { name?: string }).name === 'ValidationException') {
        await quarantine.put(item.recordType, item.record, `record rejected by DynamoDB: ${(error as Error).message}`);
        return 'quarantined';
      }
      throw error;
    }
  }

  return {
    async applyPage(endpoint: EndpointName, records: readonly unknown[]): Promise<PageOutcome> {
      const outcome = emptyOutcome();
      const latest = new Map<string, DataItem>();
      const rejected: { raw: unknown; reason: string }[] = [];
      for (const raw of records) {
        const result = validateRecord(endpoint, raw);
        if (!result.ok) {
          rejected.push({ raw, reason: result.reason });
          continue;
        }
        const key = keyOf(result.item);
        const previous = latest.get(key);
        if (!previous) {
          latest.set(key, result.item);
          continue;
        }
        // The same record twice on one page: keep the newer copy (the later one on a tie), count the other.
        const [kept, dropped] = result.item.updatedAt >= previous.updatedAt ? [result.item, previous] : [previous, result.item];
        latest.set(key, kept);
        outcome[dropped.contentHash === kept.contentHash && dropped.updatedAt === kept.updatedAt ? 'unchanged' : 'stale']++;
      }

      await mapWithConcurrency(rejected, writeConcurrency, ({ raw, reason }) => quarantine.put(endpoint, raw, reason));
      outcome.quarantined += rejected.length;

      const items = [...latest.values()];
      const stored = await readStored(items);
      const writes: { item: DataItem; marshalled: Record<string, AttributeValue>; before: StoredVersion | undefined }[] = [];
      for (const item of items) {
        const before = stored.get(keyOf(item));
        if (before && before.updatedAt === item.updatedAt && before.contentHash === item.contentHash) {
          outcome.unchanged++;
          continue;
        }
        if (before && before.updatedAt > item.updatedAt) {
          outcome.stale++;
          continue;
        }
        let marshalled: Record<string, AttributeValue>;
        try {
          marshalled = marshallItem(item);
        } catch (error) {
          await quarantine.put(endpoint, item.record, `record cannot be stored in DynamoDB: ${(error as Error).message}`);
          outcome.quarantined++;
          continue;
        }
        writes.push({ item, marshalled, before });
      }

      const results = await mapWithConcurrency(writes, writeConcurrency, (w) => put(w.item, w.marshalled, w.before));
      for (const classification of results) outcome[classification]++;
      return outcome;
    },
  };
}

function classifyWrite(item: DataItem, before: StoredVersion | undefined): Classification {
  if (item.deleted && !before?.deleted) return 'deleted';
  return before ? 'modified' : 'inserted';
}

function storedVersion(attributes: Record<string, AttributeValue>): StoredVersion | undefined {
  const updatedAt = attributes.updatedAt?.S;
  const hash = attributes.contentHash?.S;
  if (updatedAt === undefined || hash === undefined) return undefined;
  return { updatedAt, contentHash: hash, deleted: attributes.deleted?.BOOL === true };
}

function marshallItem(item: DataItem): Record<string, AttributeValue> {
  return marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false });
}

/**
 * The naive alternative the benchmark compares against: BatchWriteItem of every item, no read,
 * no hashing, no condition (every record is written and streamed every run). Retries
 * UnprocessedItems until all are written.
 */
export async function batchWriteBaseline(client: DynamoDBClient, tableName: string, items: readonly DataItem[]): Promise<void> {
  await mapWithConcurrency(chunked(items, BATCH_WRITE_MAX_ITEMS), 8, async (chunk) => {
    let pending: WriteRequest[] = chunk.map((item) => ({ PutRequest: { Item: marshallItem(item) } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed after ${attempt} attempts`);
      if (attempt > 0) await sleep(unprocessedBackoffMs(attempt));
      const response = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = response.UnprocessedItems?.[tableName] ?? [];
    }
  });
}
