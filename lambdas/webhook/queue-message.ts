/**
 * The queue message between the webhook (which writes it) and the dispatcher (which reads it),
 * docs/ARCHITECTURE.md "Queue message": the body is the verified webhook JSON exactly as received;
 * message attributes `eventId` (the Svix message id, else the body's `id`) and `eventType`.
 * Pure: no SDK client here, so the dispatcher's bundle does not load the SQS client.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { eventDataOf, type EventData } from '#webhook/webhook-event';

/** SQS counts the body plus every attribute name, type and value against this. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

/** The parts of a SendMessage request the contract fixes. */
export interface QueueMessage {
  MessageBody: string;
  MessageAttributes: Record<'eventId' | 'eventType', MessageAttributeValue>;
}

/** An event as the dispatcher reads it from a message. */
export interface QueuedEvent {
  eventId: string;
  type: string;
  data: EventData;
  /** ISO time the event was generated (envelope `timestamp`, else when SQS received it). */
  timestamp: string;
}

/** The message for a verified body, or undefined when body and attributes exceed what SQS takes. */
export function queueMessage(body: Buffer, eventId: string, eventType: string): QueueMessage | undefined {
  const attributes = { eventId, eventType };
  const attributeBytes = Object.entries(attributes).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value), 0);
  if (body.length + attributeBytes > SQS_MAX_MESSAGE_BYTES) return undefined;
  return {
    MessageBody: body.toString('utf8'),
    MessageAttributes: {
      eventId: { DataType: 'String', StringValue: eventId },
      eventType: { DataType: 'String', StringValue: eventType },
    },
  };
}

/** The event a message carries; throws when the body is not JSON or lacks an id, a type or a data object (or NPN list). */
export function parseQueueMessage(record: SQSRecord): QueuedEvent {
  const body = JSON.parse(record.body) as { id?: unknown; type?: unknown; timestamp?: unknown; data?: unknown };
  const eventId = record.messageAttributes?.eventId?.stringValue ?? (typeof body.id === 'string' ? body.id : undefined);
  if (!eventId) throw new Error('message has no event id');
  if (typeof body.type !== 'string') throw new Error('message has no event type');
  const data = eventDataOf(body.type, body.data);
  if (data === undefined) throw new Error('message has no data object');
  const generated = typeof body.timestamp === 'string' ? Date.parse(body.timestamp) : Number.NaN;
  const received = Number(record.attributes?.SentTimestamp);
  const timestampMs = Number.isFinite(generated) ? generated : Number.isFinite(received) ? received : Date.now();
  return { eventId, type: body.type, data, timestamp: new Date(timestampMs).toISOString() };
}
