/**
 * A batch of queue messages as events: Svix may deliver one event several times, so the messages
 * are grouped by event id and each event is acted on once per batch. A message that fails (or whose
 * event fails) is reported back to SQS in the partial batch response, so only it is retried.
 */
import type { SQSRecord } from 'aws-lambda';
import { logger } from '#commons/logger';
import { parseQueueMessage, type QueuedEvent } from '#webhook/queue-message';

/** One event and every SQS message that carries it. */
export interface EventGroup {
  event: QueuedEvent;
  messageIds: string[];
}

/** The message ids SQS is to deliver again. */
export type FailedMessages = Set<string>;

/** The batch's events in order of first appearance; unreadable messages go to `failed`. */
export function groupByEventId(records: readonly SQSRecord[], failed: FailedMessages): EventGroup[] {
  const groups = new Map<string, EventGroup>();
  for (const record of records) {
    let event: QueuedEvent;
    try {
      event = parseQueueMessage(record);
    } catch (error) {
      logger.error('unreadable queue message', { messageId: record.messageId, error: (error as Error).message });
      failed.add(record.messageId);
      continue;
    }
    const group = groups.get(event.eventId);
    if (group) group.messageIds.push(record.messageId);
    else groups.set(event.eventId, { event, messageIds: [record.messageId] });
  }
  return [...groups.values()];
}

/** Marks every message of the group for redelivery. */
export function failGroup(failed: FailedMessages, group: EventGroup): void {
  for (const id of group.messageIds) failed.add(id);
}
