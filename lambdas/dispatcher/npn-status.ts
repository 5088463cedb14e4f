/**
 * The NPN status item in the data table (`NPN#<npn>` / `STATUS`), the one change downstream
 * consumers see when an NPN is activated or deactivated (record items are never touched: data kept).
 * The store interface and its DynamoDB adapter. Onboarding writes tens of thousands of them at once,
 * so each write keeps its own condition but travels 100 to a TransactWriteItems: one request per
 * 100 NPNs instead of 100, which is what keeps a 50,000-NPN wave inside the dispatcher's CPU and
 * time (docs/ARCHITECTURE.md, "Pending activations").
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { chunked } from '#commons/chunked';
import { backoffDelayMs, sleep } from '#producersync/retry';
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
}

/**
 * - `written`: the status changed and the item was written (one stream event);
 * - `unchanged`: the item already holds this status (a redelivery, or a repeated event): nothing written;
 * - `superseded`: a newer event already set the other status, this older one arrived late: nothing written.
 */
export type StatusWriteOutcome = 'written' | 'unchanged' | 'superseded';

/** Where NPN statuses are kept. */
export interface NpnStatusStore {
  /**
   * Writes each status iff it changes and its event is newer than the one that set the stored status;
   * returns each change's outcome, in order. The NPNs must be distinct.
   */
  write(changes: readonly NpnStatusChange[]): Promise<StatusWriteOutcome[]>;
  /** The stored status of each NPN that has a status item (eventually consistent reads, 100 NPNs a request). */
  statuses(npns: readonly string[]): Promise<Map<string, NpnStatus>>;
}

/** Options of `createDynamoNpnStatusStore`. */
export interface DynamoNpnStatusStoreOptions {
  client: DynamoDBClient;
  /** The data table. */
  tableName: string;
  /** TransactWriteItems (of up to 100 NPNs) in flight at once. @default 8 */
  concurrency?: number;
}

/** DynamoDB's limits: actions per TransactWriteItems, keys per BatchGetItem. */
const TRANSACTION_MAX_ITEMS = 100;
const BATCH_GET_MAX_KEYS = 100;
/** Transactions cancelled by conflicts or throttling are sent again this often, then the rest go one PutItem each. */
const MAX_TRANSACTION_ROUNDS = 4;
const MAX_BATCH_GET_ATTEMPTS = 12;

/** The write rule: a new item, or another status set by a newer event. */
const STATUS_RULE = 'attribute_not_exists(pk) OR (#status <> :status AND (attribute_not_exists(eventTimestamp) OR eventTimestamp < :ts))';

/** Full-jitter backoff before another round: up to 100 ms, 200 ms, ... 2 s. */
const roundBackoffMs = (round: number): number => backoffDelayMs(round, { baseDelayMs: 50, maxDelayMs: 2_000 }, Math.random);

/** The conditional Put of one change (also one action of a transaction). */
function statusPut(tableName: string, change: NpnStatusChange) {
  return {
    TableName: tableName,
    Item: marshall({
      pk: `NPN#${change.npn}`,
      sk: 'STATUS',
      recordType: 'npnStatus',
      npn: change.npn,
      status: change.status,
      statusDate: change.eventTimestamp.slice(0, 10),
      eventId: change.eventId,
      eventTimestamp: change.eventTimestamp,
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
export function createDynamoNpnStatusStore({ client, tableName, concurrency = 8 }: DynamoNpnStatusStoreOptions): NpnStatusStore {
  async function putOne(change: NpnStatusChange): Promise<StatusWriteOutcome> {
    try {
      await client.send(new PutItemCommand(statusPut(tableName, change)));
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
        await client.send(new TransactWriteItemsCommand({ TransactItems: pending.map(({ change }) => ({ Put: statusPut(tableName, change) })) }));
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

  return {
    async write(changes) {
      if (new Set(changes.map((c) => c.npn)).size !== changes.length) throw new Error('status changes must name distinct NPNs');
      const outcomes = new Array<StatusWriteOutcome>(changes.length);
      const chunks = chunked(changes.map((change, index) => ({ change, index })), TRANSACTION_MAX_ITEMS);
      await mapWithConcurrency(chunks, concurrency, (chunk) => writeChunk(chunk, outcomes));
      return outcomes;
    },

    async statuses(npns) {
      const found = new Map<string, NpnStatus>();
      await mapWithConcurrency(chunked([...new Set(npns)], BATCH_GET_MAX_KEYS), concurrency, async (chunk) => {
        let keys: Record<string, AttributeValue>[] = chunk.map((npn) => marshall({ pk: `NPN#${npn}`, sk: 'STATUS' }));
        for (let attempt = 0; keys.length > 0; attempt++) {
          if (attempt >= MAX_BATCH_GET_ATTEMPTS) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${attempt} attempts`);
          if (attempt > 0) await sleep(roundBackoffMs(attempt));
          const response = await client.send(
            new BatchGetItemCommand({
              RequestItems: { [tableName]: { Keys: keys, ProjectionExpression: 'npn, #status', ExpressionAttributeNames: { '#status': 'status' } } },
            }),
          );
          for (const item of response.Responses?.[tableName] ?? []) {
            const { npn, status } = unmarshall(item);
            if (typeof npn === 'string' && (status === 'ACTIVE' || status === 'DEACTIVATED')) found.set(npn, status);
          }
          keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
        }
      });
      return found;
    },
  };
}
