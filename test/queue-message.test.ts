import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseQueueMessage, queueMessage, SQS_MAX_MESSAGE_BYTES, type QueueMessage } from '#webhook/queue-message';

/** The record Lambda's SQS event source hands the dispatcher for a message the webhook sent. */
function received(message: QueueMessage, sentAt = 1_753_397_465_206): SQSRecord {
  return {
    messageId: 'm-1',
    receiptHandle: 'r',
    body: message.MessageBody,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(sentAt), SenderId: 'x', ApproximateFirstReceiveTimestamp: String(sentAt) },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes).map(([name, value]) => [name, { dataType: value.DataType!, stringValue: value.StringValue, stringListValues: [], binaryListValues: [] }]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:events',
    awsRegion: 'us-east-1',
  };
}

const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('queue message (webhook → dispatcher)', () => {
  it('carries the body verbatim and the event id and type as attributes, and reads back as the event', () => {
    const raw = Buffer.from('{ "id": "whe_1", "type": "producersync.updates_available", "timestamp": "2025-07-24T22:51:05.206Z", "data": {"runDate": "2025-07-24"} }');
    const message = queueMessage(raw, 'msg_svix_1', 'producersync.updates_available')!;
    expect(message.MessageBody).toBe(raw.toString());
    expect(message.MessageAttributes).toEqual({
      eventId: { DataType: 'String', StringValue: 'msg_svix_1' },
      eventType: { DataType: 'String', StringValue: 'producersync.updates_available' },
    });
    expect(parseQueueMessage(received(message))).toEqual({
      eventId: 'msg_svix_1',
      type: 'producersync.updates_available',
      data: { runDate: '2025-07-24' },
      timestamp: '2025-07-24T22:51:05.206Z',
    });
  });

  it('refuses a message SQS would not take: body plus attributes over 256 KB', () => {
    const fits = Buffer.alloc(SQS_MAX_MESSAGE_BYTES - ('eventId'.length + 6 + 1 + 'eventType'.length + 6 + 1), 'x');
    expect(queueMessage(fits, 'e', 't')).toBeDefined();
    expect(queueMessage(Buffer.concat([fits, Buffer.from('x')]), 'e', 't')).toBeUndefined();
  });

  it('falls back to the body id and to the time SQS received the message', () => {
    const message = queueMessage(body({ id: 'whe_2', type: 't', data: {} }), 'ignored', 't')!;
    const record = { ...received(message, Date.parse('2025-07-24T10:00:00Z')), messageAttributes: {} };
    expect(parseQueueMessage(record)).toEqual({ eventId: 'whe_2', type: 't', data: {}, timestamp: '2025-07-24T10:00:00.000Z' });
  });

  it('reads the NPN list of an activation whose data is the list itself', () => {
    const message = queueMessage(body({ id: 'whe_3', type: 'producersync.npn.activated', timestamp: '2025-07-24T10:00:00.000Z', data: ['15645555'] }), 'msg_3', 'producersync.npn.activated')!;
    expect(parseQueueMessage(received(message))).toEqual({ eventId: 'msg_3', type: 'producersync.npn.activated', data: ['15645555'], timestamp: '2025-07-24T10:00:00.000Z' });
  });

  it.each([
    ['not JSON', 'nope', SyntaxError],
    ['no event id', JSON.stringify({ type: 't', data: {} }), /no event id/],
    ['no type', JSON.stringify({ id: 'e', data: {} }), /no event type/],
    ['no data object', JSON.stringify({ id: 'e', type: 't', data: [1] }), /no data object/],
  ])('refuses a message with %s', (_case, text, error) => {
    const record = { ...received(queueMessage(Buffer.from(text), 'e', 't')!), messageAttributes: {} };
    expect(() => parseQueueMessage(record)).toThrow(error);
  });
});
