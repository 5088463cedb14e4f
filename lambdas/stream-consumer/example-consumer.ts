/**
 * Example downstream consumer of the data table stream (Lambda `producersync-example-consumer`,
 * docs/STREAM-CONTRACT.md): turns each stream record into one classified change and logs it. Copy it
 * and replace `applyChange` with real work.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { addLambdaContext, logger } from '#commons/logger';
import { classify, type Change } from '#commons/stream-change';

/** The downstream work for one change; the example only logs it. */
export async function applyChange(change: Change): Promise<void> {
  logger.info('data table change', {
    kind: change.kind,
    eventName: change.eventName,
    pk: change.pk,
    sk: change.sk,
    recordType: change.recordType,
    ...(change.kind === 'npn-status' ? { status: change.newItem?.status, statusDate: change.newItem?.statusDate } : {}),
    ...(change.kind === 'updated' ? { updatedAt: change.newItem?.updatedAt } : {}),
  });
}

/**
 * Records of one shard arrive in order; on the first failure the rest of the batch is reported
 * failed from that record on, so Lambda retries from there and the order per item is kept.
 */
export async function handler(event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> {
  addLambdaContext(context);
  for (const record of event.Records) {
    try {
      await applyChange(classify(record));
    } catch (error) {
      logger.error('could not apply a stream record', { eventId: record.eventID, error: (error as Error).message });
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
}
