import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { dynamoClient } from '#commons/clients';

/**
 * Event dedup in the control table (`EVENT#<id>` / `EVENT`). An event is claimed as PENDING before its
 * action and marked DONE only after the action succeeded, so a crash in between is retried, not lost.
 * A PENDING item may be claimed again: every action is idempotent on its own (deterministic execution
 * names, conditional status writes), the dedup only saves repeating finished work.
 */
export const EVENT_TTL_DAYS = 30;

export type ClaimOutcome = 'claimed' | 'already-done';

const eventKey = (eventId: string) => marshall({ pk: `EVENT#${eventId}`, sk: 'EVENT' });
const expiresAt = (nowMs: number): number => Math.floor(nowMs / 1000) + EVENT_TTL_DAYS * 24 * 3600;

export async function claimEvent(tableName: string, eventId: string, type: string, nowMs = Date.now()): Promise<ClaimOutcome> {
  try {
    await dynamoClient().send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({
          pk: `EVENT#${eventId}`,
          sk: 'EVENT',
          type,
          status: 'PENDING',
          claimedAt: new Date(nowMs).toISOString(),
          expiresAt: expiresAt(nowMs),
        }),
        ConditionExpression: 'attribute_not_exists(pk) OR #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: marshall({ ':pending': 'PENDING' }),
      }),
    );
    return 'claimed';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'already-done';
    throw error;
  }
}

export async function markEventDone(tableName: string, eventId: string, details: { executionArn?: string } = {}, nowMs = Date.now()): Promise<void> {
  const values: Record<string, unknown> = { ':done': 'DONE', ':doneAt': new Date(nowMs).toISOString() };
  let update = 'SET #status = :done, doneAt = :doneAt';
  if (details.executionArn) {
    update += ', executionArn = :arn';
    values[':arn'] = details.executionArn;
  }
  await dynamoClient().send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: eventKey(eventId),
      UpdateExpression: update,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: marshall(values),
    }),
  );
}
