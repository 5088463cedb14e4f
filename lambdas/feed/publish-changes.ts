/**
 * Publishing one batch of data-table stream records to the change feed: each record becomes a change
 * event (change-event.ts) and the events go out in stream order (change-publisher.ts). On a failure the
 * batch is reported failed from the first unpublished record on, so Lambda retries from there and the
 * order per item and per NPN is kept; records published before it are not sent again.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '#commons/logger';
import { changeEventOf, type ChangeEvent } from '#feed/change-event';
import type { ChangePublisher } from '#feed/change-publisher';

/** Publishes one stream batch through `publisher`; the batch response names the first record to retry from. */
export async function publishChanges(event: DynamoDBStreamEvent, publisher: ChangePublisher): Promise<DynamoDBBatchResponse> {
  const events: ChangeEvent[] = [];
  let unreadable: { index: number; error: string } | undefined;
  for (const [index, record] of event.Records.entries()) {
    try {
      events.push(changeEventOf(record));
    } catch (error) {
      // Everything before it is still published; it and what follows wait for the retry (then the DLQ).
      unreadable = { index, error: (error as Error).message };
      break;
    }
  }
  const outcome = await publisher.publish(events);
  if (outcome.itemsOmitted > 0) logger.warn('changes published without their item (too large for one message)', { itemsOmitted: outcome.itemsOmitted });
  const failure = outcome.failure ?? unreadable;
  if (!failure) {
    logger.info('changes published', { published: outcome.published });
    return { batchItemFailures: [] };
  }
  const record = event.Records[failure.index];
  logger.error('could not publish a change, the batch is retried from it', { published: outcome.published, eventId: record?.eventID, error: failure.error });
  return { batchItemFailures: [{ itemIdentifier: record?.dynamodb?.SequenceNumber ?? '' }] };
}
