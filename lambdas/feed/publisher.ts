/**
 * The change feed's publisher Lambda (`producersync-feed-publisher`): the data table's stream →
 * `publishChanges` → the SNS FIFO topic CHANGE_TOPIC_ARN. It is the one product reader of the stream
 * besides the optional example consumer (a stream shard serves about two readers at once).
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredEnv } from '#commons/env';
import { addLambdaContext } from '#commons/logger';
import { snsClient } from '#commons/sns-client';
import type { ChangePublisher } from '#feed/change-publisher';
import { publishChanges } from '#feed/publish-changes';
import { createSnsChangePublisher } from '#feed/sns-change-publisher';

/** What the handler may be given instead of reading it from the environment (tests). */
export interface PublisherHandlerDeps {
  /** @default the SNS FIFO topic CHANGE_TOPIC_ARN, built on first use and kept for the container */
  publisher?: ChangePublisher;
}

/** A publisher handler. */
export function createPublisherHandler(deps: PublisherHandlerDeps = {}): (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse> {
  let publisher = deps.publisher;
  return async (event, context) => {
    addLambdaContext(context);
    publisher ??= createSnsChangePublisher({ client: snsClient(), topicArn: requiredEnv('CHANGE_TOPIC_ARN') });
    return publishChanges(event, publisher);
  };
}

/** The deployed handler. */
export const handler = createPublisherHandler();
