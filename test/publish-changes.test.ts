/**
 * The publisher's batch handling: which record a failed batch is retried from. The SNS side is
 * test/sns-change-publisher.test.ts (fauxqs); here a publisher stub fails on purpose (the narrow error branch).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { logger } from '#commons/logger';
import type { ChangeEvent } from '#feed/change-event';
import type { ChangePublisher, PublishOutcome } from '#feed/change-publisher';
import { publishChanges } from '#feed/publish-changes';
import { createPublisherHandler } from '#feed/publisher';

logger.setLogLevel('SILENT');

const record = (seq: number, npn = '15645555'): DynamoDBRecord => ({
  eventID: `evt-${seq}`,
  eventName: 'INSERT',
  dynamodb: {
    SequenceNumber: String(seq),
    Keys: { pk: { S: `NPN#${npn}` }, sk: { S: `licenses#${seq}` } },
    NewImage: { pk: { S: `NPN#${npn}` }, sk: { S: `licenses#${seq}` }, recordType: { S: 'licenses' }, npn: { S: npn } },
  },
});

/** Publishes everything, or fails at `failAt` (reporting the events before it published). */
function publisher(failAt?: number): ChangePublisher & { seen: ChangeEvent[][] } {
  const seen: ChangeEvent[][] = [];
  return {
    seen,
    async publish(events): Promise<PublishOutcome> {
      seen.push([...events]);
      if (failAt === undefined || failAt >= events.length) return { published: events.length, itemsOmitted: 0 };
      return { published: failAt, failure: { index: failAt, error: 'InternalError' }, itemsOmitted: 0 };
    },
  };
}

describe('publishChanges', () => {
  it('reports nothing failed when every change was published, and hands them over in stream order', async () => {
    const target = publisher();
    expect(await publishChanges({ Records: [record(1), record(2), record(3)] }, target)).toEqual({ batchItemFailures: [] });
    expect(target.seen[0]!.map((e) => e.id)).toEqual(['evt-1', 'evt-2', 'evt-3']);
  });

  it('retries from the first unpublished change', async () => {
    expect(await publishChanges({ Records: [record(1), record(2), record(3)] }, publisher(1))).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] });
  });

  it('publishes what comes before an unreadable record, and retries from it', async () => {
    const target = publisher();
    const broken: DynamoDBRecord = { eventName: 'INSERT', dynamodb: { SequenceNumber: '9' } };
    expect(await publishChanges({ Records: [record(1), broken, record(3)] }, target)).toEqual({ batchItemFailures: [{ itemIdentifier: '9' }] });
    expect(target.seen[0]!.map((e) => e.id)).toEqual(['evt-1']);
  });

  it('the handler takes its publisher from its deps (CHANGE_TOPIC_ARN otherwise)', async () => {
    const target = publisher();
    expect(await createPublisherHandler({ publisher: target })({ Records: [record(5)] })).toEqual({ batchItemFailures: [] });
    expect(target.seen).toHaveLength(1);
  });
});
