/**
 * The change publisher on an SNS FIFO topic: PublishBatch requests of up to 10 events and 256 KiB,
 * `MessageGroupId` = NPN (order per producer), `MessageDeduplicationId` = the stream record's eventID
 * (a retried batch publishes nothing twice within SNS's 5-minute deduplication interval).
 *
 * Order per NPN does not rest on how SNS reports a partly failed batch: no request carries two events
 * of one NPN, and requests go one after the other, stopping at the first failed entry. An event of the
 * same NPN after a failed one is therefore never published before it.
 * https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html
 */
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import { MAX_MESSAGE_BYTES, messageBodyOf, messageBytes, type ChangeEvent } from '#feed/change-event';
import type { ChangePublisher } from '#feed/change-publisher';

/** Options of `createSnsChangePublisher`. */
export interface SnsChangePublisherOptions {
  client: SNSClient;
  /** The feed's FIFO topic. */
  topicArn: string;
  /** Largest message and request (bytes). @default 262,144 (the topic's default MaximumMessageSize) */
  maxBytes?: number;
}

/** PublishBatch takes at most this many entries. */
const MAX_BATCH_ENTRIES = 10;

interface Entry {
  index: number;
  npn: string;
  body: string;
  dedupId: string;
}

/** Consecutive runs of entries that fit one request: at most 10, within the byte limit, no NPN twice. */
export function publishRequests<T extends { npn: string; body: string }>(entries: readonly T[], maxBytes = MAX_MESSAGE_BYTES): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  const npns = new Set<string>();
  for (const entry of entries) {
    const size = messageBytes(entry.body);
    if (current.length > 0 && (current.length === MAX_BATCH_ENTRIES || bytes + size > maxBytes || npns.has(entry.npn))) {
      requests.push(current);
      current = [];
      bytes = 0;
      npns.clear();
    }
    current.push(entry);
    bytes += size;
    npns.add(entry.npn);
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** The change publisher on an SNS FIFO topic. */
export function createSnsChangePublisher({ client, topicArn, maxBytes = MAX_MESSAGE_BYTES }: SnsChangePublisherOptions): ChangePublisher {
  return {
    async publish(events: readonly ChangeEvent[]) {
      let itemsOmitted = 0;
      const entries: Entry[] = events.map((event, index) => {
        const { body, itemOmitted } = messageBodyOf(event, maxBytes);
        if (itemOmitted) itemsOmitted++;
        return { index, npn: event.npn, body, dedupId: event.id };
      });
      for (const request of publishRequests(entries, maxBytes)) {
        const first = request[0]!.index;
        let failed: { index: number; error: string } | undefined;
        try {
          const result = await client.send(
            new PublishBatchCommand({
              TopicArn: topicArn,
              PublishBatchRequestEntries: request.map(
                (entry): PublishBatchRequestEntry => ({ Id: String(entry.index), Message: entry.body, MessageGroupId: entry.npn, MessageDeduplicationId: entry.dedupId }),
              ),
            }),
          );
          const failedIndexes = (result.Failed ?? []).map((f) => ({ index: Number(f.Id), error: `${f.Code ?? 'Failed'}: ${f.Message ?? ''}`.trim() }));
          failed = failedIndexes.sort((a, b) => a.index - b.index)[0];
        } catch (error) {
          failed = { index: first, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
        }
        if (failed) return { published: failed.index, failure: failed, itemsOmitted };
      }
      return { published: events.length, itemsOmitted };
    },
  };
}
