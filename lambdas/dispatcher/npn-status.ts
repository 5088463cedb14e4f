/**
 * The NPN status item in the data table (`NPN#<npn>` / `STATUS`), the one change downstream
 * consumers see when an NPN is activated or deactivated (record items are never touched: data kept),
 * and what the data table knows about an NPN. The store interface and its DynamoDB adapter.
 */
import { ConditionalCheckFailedException, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { batchGetItems } from '#sync/batch-get';
import { typeShardOf } from '#sync/change-index';

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

/** What the data table holds for an NPN: any source record yet, and its status. */
export interface NpnDataState {
  hasRecords: boolean;
  status?: NpnStatus;
}

/** Where NPN statuses are kept. */
export interface NpnStatusStore {
  /** Writes the status iff it changes and the event is newer than the one that set the stored status. */
  write(change: NpnStatusChange): Promise<StatusWriteOutcome>;
  /** Whether the NPN has any source record yet, and its status item. */
  dataState(npn: string): Promise<NpnDataState>;
  /** The stored status of each NPN that has a status item. */
  statuses(npns: readonly string[]): Promise<Map<string, NpnStatus>>;
}

/** Options of `createDynamoNpnStatusStore`. */
export interface DynamoNpnStatusStoreOptions {
  client: DynamoDBClient;
  /** The data table. */
  tableName: string;
  /** Clock of `changedAt` (epoch ms). @default Date.now */
  now?: () => number;
}

/** The NPN status store on the DynamoDB data table. */
export function createDynamoNpnStatusStore({ client, tableName, now = Date.now }: DynamoNpnStatusStoreOptions): NpnStatusStore {
  return {
    async write(change) {
      const key = statusKey(change.npn);
      try {
        await client.send(
          new PutItemCommand({
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
              changedAt: new Date(now()).toISOString(),
            }),
            ConditionExpression: 'attribute_not_exists(pk) OR (#status <> :status AND (attribute_not_exists(eventTimestamp) OR eventTimestamp < :ts))',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: marshall({ ':status': change.status, ':ts': change.eventTimestamp }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return 'written';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const stored = error.Item ? unmarshall(error.Item) : undefined;
        return stored?.status === change.status ? 'unchanged' : 'superseded';
      }
    },

    async dataState(npn) {
      // `STATUS` sorts before every lower-case `<recordType>#<id>` key, so two items are enough to see both.
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: marshall({ ':pk': `NPN#${npn}` }),
          ProjectionExpression: 'sk, #status',
          ExpressionAttributeNames: { '#status': 'status' },
          Limit: 2,
        }),
      );
      const items = (page.Items ?? []).map((item) => unmarshall(item));
      const status = items.find((item) => item.sk === 'STATUS')?.status as NpnStatus | undefined;
      return { hasRecords: items.some((item) => item.sk !== 'STATUS'), ...(status ? { status } : {}) };
    },

    async statuses(npns) {
      const found = await batchGetItems({
        client,
        tableName,
        keys: [...new Set(npns)].map((npn) => marshall(statusKey(npn))),
        projection: 'npn, #status',
        names: { '#status': 'status' },
      });
      return new Map(found.map((item) => unmarshall(item) as { npn: string; status: NpnStatus }).map(({ npn, status }) => [npn, status]));
    },
  };
}
