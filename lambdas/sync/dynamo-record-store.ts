/**
 * The record store on the data table: validates a page, reads the stored versions in batches,
 * classifies each record with `decide` and writes the changed ones with conditional PutItems
 * (docs/SYNC.md, "Applying a page"). Also the naive BatchWriteItem baseline the benchmarks compare against.
 */
import {
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
import { sleep } from '#producersync/retry';
import { batchGetItems, unprocessedBackoffMs } from '#sync/batch-get';
import { mapWithConcurrency } from '#sync/concurrency';
import { decide, isWrite, type Decision, type Version } from '#sync/decide';
import type { QuarantineSink } from '#sync/quarantine';
import { emptyOutcome, type DataItem, type PageOutcome, type RecordStore } from '#sync/record-store';
import { validateRecord } from '#sync/record-validation';

/** Options of `createDynamoRecordStore`. */
export interface DynamoRecordStoreOptions {
  client: DynamoDBClient;
  /** The data table. */
  tableName: string;
  /** Where records that cannot be stored go. */
  quarantine: QuarantineSink;
  /** Conditional PutItems in flight at once (default 16). */
  writeConcurrency?: number;
  /** Clock of `changedAt` (epoch ms). @default Date.now */
  now?: () => number;
}

/** The bucket a record of a page lands in. */
type Classification = Decision | 'quarantined';

const BATCH_WRITE_MAX_ITEMS = 25;
const MAX_BATCH_ATTEMPTS = 12;

/**
 * `decide`'s rule in DynamoDB's words: the key is new, or the incoming date is newer, or the same date with
 * other content, or the same version over an item still marked missing or not yet in the change index.
 */
const WRITE_RULE =
  'attribute_not_exists(#pk) OR #updatedAt < :u OR (#updatedAt = :u AND (#contentHash <> :h OR attribute_exists(#missing) OR attribute_not_exists(#typeShard)))';
const WRITE_RULE_NAMES = { '#pk': 'pk', '#updatedAt': 'updatedAt', '#contentHash': 'contentHash', '#missing': 'missingFromSource', '#typeShard': 'typeShard' };
/** What the write rule reads of a stored item. */
const STORED_VERSION_PROJECTION = '#pk, #sk, #updatedAt, #contentHash, #deleted, #missing, #typeShard';
const STORED_VERSION_NAMES = { ...WRITE_RULE_NAMES, '#sk': 'sk', '#deleted': 'deleted' };

const keyOf = (item: { pk: string; sk: string }): string => `${item.pk}\u0000${item.sk}`;

/** The record store on the DynamoDB data table. */
export function createDynamoRecordStore({ client, tableName, quarantine, writeConcurrency = 16, now = Date.now }: DynamoRecordStoreOptions): RecordStore {
  async function readStored(items: readonly DataItem[]): Promise<Map<string, Version>> {
    const stored = new Map<string, Version>();
    const found = await batchGetItems({
      client,
      tableName,
      keys: items.map((item) => ({ pk: { S: item.pk }, sk: { S: item.sk } })),
      projection: STORED_VERSION_PROJECTION,
      names: STORED_VERSION_NAMES,
    });
    for (const attributes of found) {
      const version = storedVersion(attributes);
      if (version) stored.set(keyOf({ pk: attributes.pk?.S ?? '', sk: attributes.sk?.S ?? '' }), version);
    }
    return stored;
  }

  /** Writes `item` under the write rule; `decision` is what the rule said about the version read before. */
  async function put(item: DataItem, marshalled: Record<string, AttributeValue>, decision: Decision): Promise<Classification> {
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
      return decision;
    } catch (error) {
      // Someone (a duplicate invocation, an overlapping run) wrote this key since our read: no write
      // happened, and the version it left decides (one without a date or hash refused it as well).
      if (error instanceof ConditionalCheckFailedException) {
        const against = decide(item, error.Item ? storedVersion(error.Item) : undefined);
        return isWrite(against) ? 'unchanged' : against;
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
        // The same record twice on one page: keep the copy the write rule prefers (the newer one, the
        // later one on a tie); the other is unchanged if identical, else superseded (stale).
        const [kept, dropped] = decide(result.item, previous) === 'stale' ? [previous, result.item] : [result.item, previous];
        latest.set(key, kept);
        outcome[decide(kept, dropped) === 'unchanged' ? 'unchanged' : 'stale']++;
      }

      await mapWithConcurrency(rejected, writeConcurrency, ({ raw, reason }) => quarantine.put(endpoint, raw, reason));
      outcome.quarantined += rejected.length;

      const items = [...latest.values()];
      const stored = await readStored(items);
      const writes: { item: DataItem; marshalled: Record<string, AttributeValue>; decision: Decision }[] = [];
      for (const item of items) {
        const decision = decide(item, stored.get(keyOf(item)));
        // Unchanged or stale: no request at all, so no stream record.
        if (!isWrite(decision)) {
          outcome[decision]++;
          continue;
        }
        let marshalled: Record<string, AttributeValue>;
        try {
          // changedAt only on a write, and every write is a real change: the stream stays clean.
          marshalled = marshallItem({ ...item, changedAt: new Date(now()).toISOString() });
        } catch (error) {
          await quarantine.put(endpoint, item.record, `record cannot be stored in DynamoDB: ${(error as Error).message}`);
          outcome.quarantined++;
          continue;
        }
        writes.push({ item, marshalled, decision });
      }

      const results = await mapWithConcurrency(writes, writeConcurrency, (w) => put(w.item, w.marshalled, w.decision));
      for (const classification of results) outcome[classification]++;
      return outcome;
    },
  };
}

/** The stored version in a BatchGetItem answer or a failed condition's old item; undefined without a date or hash. */
function storedVersion(attributes: Record<string, AttributeValue>): Version | undefined {
  const updatedAt = attributes.updatedAt?.S;
  const hash = attributes.contentHash?.S;
  if (updatedAt === undefined || hash === undefined) return undefined;
  return {
    updatedAt,
    contentHash: hash,
    deleted: attributes.deleted?.BOOL === true,
    ...(attributes.missingFromSource !== undefined ? { missing: true } : {}),
    ...(attributes.typeShard === undefined ? { unindexed: true } : {}),
  };
}

/** The item as DynamoDB attributes (throws for what DynamoDB cannot hold, e.g. an Infinity). */
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
