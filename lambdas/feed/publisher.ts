/**
 * The change feed's publisher (Lambda `producersync-feed-publisher`): the one product reader of the
 * data table's stream besides the optional example consumer. Each stream batch becomes change events
 * (change-event.ts) published to the feed's SNS FIFO topic, from where every team's SQS FIFO queue
 * receives the changes its filter selects. On a failure the batch is reported failed from the first
 * unpublished record on, so Lambda retries from there and the order per item and per NPN is kept.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredEnv } from '#commons/env';
import { logger } from '#commons/logger';
import { snsClient } from '#commons/sns-client';
import { changeEventOf, type ChangeEvent } from './change-event.ts';
import type { ChangePublisher } from './change-publisher.ts';
import { createSnsChangePublisher } from './sns-change-publisher.ts';

let publisher: ChangePublisher | undefined;
const publisherOf = (): ChangePublisher => (publisher ??= createSnsChangePublisher({ client: snsClient(), topicArn: requiredEnv('CHANGE_TOPIC_ARN') }));

/** Publishes one stream batch through `target`; the batch response names the first record to retry from. */
export async function publishBatch(event: DynamoDBStreamEvent, target: ChangePublisher): Promise<DynamoDBBatchResponse> {
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
  const outcome = await target.publish(events);
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

export async function handler(event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> {
  if (context) logger.addContext(context);
  return publishBatch(event, publisherOf());
}
