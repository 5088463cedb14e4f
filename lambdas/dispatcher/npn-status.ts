import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoClient } from '#commons/clients';

/**
 * The NPN status item in the data table (`NPN#<npn>` / `STATUS`), the one change downstream consumers
 * see when an NPN is activated or deactivated. Record items are never touched (data kept).
 */
export type NpnStatus = 'ACTIVE' | 'DEACTIVATED';

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

/** Writes the status iff it changes and the event is newer than the one that set the stored status. */
export async function writeNpnStatus(tableName: string, change: NpnStatusChange): Promise<StatusWriteOutcome> {
  try {
    await dynamoClient().send(
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
}
