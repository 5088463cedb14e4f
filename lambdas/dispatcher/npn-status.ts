/**
 * The NPN status item in the data table (`NPN#<npn>` / `STATUS`), the one change downstream
 * consumers see when an NPN is activated or deactivated (record items are never touched: data kept),
 * and what the data table knows about an NPN. The store interface and its DynamoDB adapter.
 */
import { ConditionalCheckFailedException, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

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
}

/** Options of `createDynamoNpnStatusStore`. */
export interface DynamoNpnStatusStoreOptions {
  client: DynamoDBClient;
  /** The data table. */
  tableName: string;
}

/** The NPN status store on the DynamoDB data table. */
export function createDynamoNpnStatusStore({ client, tableName }: DynamoNpnStatusStoreOptions): NpnStatusStore {
  return {
    async write(change) {
      try {
        await client.send(
          new PutItemCommand({
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
  };
}
