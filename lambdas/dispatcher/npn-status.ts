/**
 * The NPN status item in the data table (`NPN#<npn>` / `STATUS`), the one change downstream
 * consumers see when an NPN is activated or deactivated (record items are never touched: data kept).
 * The store interface and its DynamoDB adapter. Onboarding writes tens of thousands of them at once,
 * so each write keeps its own condition but travels 100 to a TransactWriteItems: one request per
 * 100 NPNs instead of 100, which is what keeps a 50,000-NPN wave inside the dispatcher's CPU and
 * time (docs/ARCHITECTURE.md, "Pending activations").
 */
import {
  ConditionalCheckFailedException,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { chunked } from '#commons/chunked';
import { backoffDelayMs, sleep } from '#producersync/retry';
import { batchGetItems } from '#sync/batch-get';
import { CHANGE_INDEX_NAME, typeShardOf, typeShardValues } from '#sync/change-index';
import { mapWithConcurrency } from '#sync/concurrency';

/** The status an activation or deactivation event sets. */
export type NpnStatus = 'ACTIVE' | 'DEACTIVATED';

/** One status change, from one event. */
export interface NpnStatusChange {
  npn: string;
  status: NpnStatus;
  eventId: string;
  /** ISO 8601 time the event was generated; orders deliveries that Svix may send out of order. */
  eventTimestamp: string;
  /** Why, when no webhook said so: `reconcile` (the subscription list disagreed). */
  reason?: 'reconcile';
}

/** The `recordType` of NPN status items (and their change-index type). */
export const NPN_STATUS_RECORD_TYPE = 'npnStatus';

/** The data-table key of an NPN's status item. */
export const statusKey = (npn: string) => ({ pk: `NPN#${npn}`, sk: 'STATUS' });

/**
 * - `written`: the status changed and the item was written (one stream event);
 * - `unchanged`: the item already holds this status (a redelivery, or a repeated event): nothing written;
 * - `superseded`: a newer event already set the other status, this older one arrived late: nothing written.
 */
export type StatusWriteOutcome = 'written' | 'unchanged' | 'superseded';

/** Where NPN statuses are kept. */
export interface NpnStatusStore {
  /** Writes the status iff it changes and the event is newer than the one that set the stored status. */
  write(change: NpnStatusChange): Promise<StatusWriteOutcome>;
  /** `write` of many NPNs (distinct), 100 to a transaction; each change's outcome, in order. */
  writeAll(changes: readonly NpnStatusChange[]): Promise<StatusWriteOutcome[]>;
  /** The stored status of each NPN that has a status item (100 NPNs a request). */
  statuses(npns: readonly string[]): Promise<Map<string, NpnStatus>>;
  /** Every NPN with a status item, whatever its status (the change index, one Query per shard): a full pass's slices list these. */
  listNpns(): Promise<string[]>;
}

/** Options of `createDynamoNpnStatusStore`. */
export interface DynamoNpnStatusStoreOptions {
  client: DynamoDBClient;
  /** The data table. */
  tableName: string;
  /** TransactWriteItems (of up to 100 NPNs) in flight at once. @default 8 */
  concurrency?: number;
  /** Clock of `changedAt` (epoch ms). @default Date.now */
  now?: () => number;
}

/** DynamoDB's limit of actions per TransactWriteItems. */
const TRANSACTION_MAX_ITEMS = 100;
/** Transactions cancelled by conflicts or throttling are sent again this often, then the rest go one PutItem each. */
const MAX_TRANSACTION_ROUNDS = 4;

/** The write rule: a new item, or another status set by a newer event. */
const STATUS_RULE = 'attribute_not_exists(pk) OR (#status <> :status AND (attribute_not_exists(eventTimestamp) OR eventTimestamp < :ts))';

/** Full-jitter backoff before another round: up to 100 ms, 200 ms, ... 2 s. */
const roundBackoffMs = (round: number): number => backoffDelayMs(round, { baseDelayMs: 50, maxDelayMs: 2_000 }, Math.random);

/** The conditional Put of one change (also one action of a transaction). */
function statusPut(tableName: string, change: NpnStatusChange, nowMs: number) {
  const key = statusKey(change.npn);
  return {
    TableName: tableName,
    Item: marshall({
      ...key,
      recordType: NPN_STATUS_RECORD_TYPE,
      npn: change.npn,
      status: change.status,
      statusDate: change.eventTimestamp.slice(0, 10),
      eventId: change.eventId,
      eventTimestamp: change.eventTimestamp,
      ...(change.reason ? { reason: change.reason } : {}),
      // Written only when the status changes (the condition), so the stream stays clean.
      typeShard: typeShardOf(NPN_STATUS_RECORD_TYPE, key.pk, key.sk),
      changedAt: new Date(nowMs).toISOString(),
    }),
    ConditionExpression: STATUS_RULE,
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: marshall({ ':status': change.status, ':ts': change.eventTimestamp }),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Why a change was not written, from the item that refused it. */
const refusedOutcome = (change: NpnStatusChange, stored: Record<string, AttributeValue> | undefined): StatusWriteOutcome =>
  (stored ? unmarshall(stored) : undefined)?.status === change.status ? 'unchanged' : 'superseded';

/** The NPN status store on the DynamoDB data table. */
export function createDynamoNpnStatusStore({ client, tableName, concurrency = 8, now = Date.now }: DynamoNpnStatusStoreOptions): NpnStatusStore {
  async function putOne(change: NpnStatusChange): Promise<StatusWriteOutcome> {
    try {
      await client.send(new PutItemCommand(statusPut(tableName, change, now())));
      return 'written';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return refusedOutcome(change, error.Item);
    }
  }

  /**
   * One transaction of up to 100 changes. A failed condition cancels the whole transaction, and the
   * cancellation reasons say which items refused and hold each one's stored item, so those get their
   * outcome and the rest are sent again; conflicts and throttling are retried the same way.
   */
  async function writeChunk(chunk: readonly { change: NpnStatusChange; index: number }[], outcomes: StatusWriteOutcome[]): Promise<void> {
    let pending = [...chunk];
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_TRANSACTION_ROUNDS) {
        await Promise.all(pending.map(async ({ change, index }) => (outcomes[index] = await putOne(change))));
        return;
      }
      if (round > 0) await sleep(roundBackoffMs(round));
      if (pending.length === 1) {
        outcomes[pending[0]!.index] = await putOne(pending[0]!.change);
        return;
      }
      try {
        await client.send(new TransactWriteItemsCommand({ TransactItems: pending.map(({ change }) => ({ Put: statusPut(tableName, change, now()) })) }));
        for (const { index } of pending) outcomes[index] = 'written';
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        const retry: typeof pending = [];
        pending.forEach((entry, i) => {
          const reason = reasons[i];
          if (reason?.Code === 'ConditionalCheckFailed') outcomes[entry.index] = refusedOutcome(entry.change, reason.Item);
          else retry.push(entry);
        });
        pending = retry;
      }
    }
  }

  async function writeAll(changes: readonly NpnStatusChange[]): Promise<StatusWriteOutcome[]> {
    if (new Set(changes.map((c) => c.npn)).size !== changes.length) throw new Error('status changes must name distinct NPNs');
    const outcomes = new Array<StatusWriteOutcome>(changes.length);
    const chunks = chunked(changes.map((change, index) => ({ change, index })), TRANSACTION_MAX_ITEMS);
    await mapWithConcurrency(chunks, concurrency, (chunk) => writeChunk(chunk, outcomes));
    return outcomes;
  }

  return {
    write: async (change) => (await writeAll([change]))[0]!,
    writeAll,

    async statuses(npns) {
      const found = await batchGetItems({
        client,
        tableName,
        keys: [...new Set(npns)].map((npn) => marshall(statusKey(npn))),
        projection: 'npn, #status',
        names: { '#status': 'status' },
        concurrency,
      });
      return new Map(found.map((item) => unmarshall(item) as { npn: string; status: NpnStatus }).map(({ npn, status }) => [npn, status]));
    },

    async listNpns() {
      const shards = await mapWithConcurrency(typeShardValues(NPN_STATUS_RECORD_TYPE), concurrency, async (typeShard) => {
        const npns: string[] = [];
        let startKey: Record<string, AttributeValue> | undefined;
        do {
          const out = await client.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: CHANGE_INDEX_NAME,
              KeyConditionExpression: 'typeShard = :shard',
              ExpressionAttributeValues: marshall({ ':shard': typeShard }),
              ProjectionExpression: 'pk',
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of out.Items ?? []) if (item.pk?.S?.startsWith('NPN#')) npns.push(item.pk.S.slice('NPN#'.length));
          startKey = out.LastEvaluatedKey;
        } while (startKey);
        return npns;
      });
      return shards.flat().sort();
    },
  };
}
