/**
 * The change publisher against fauxqs' SNS FIFO topic and SQS FIFO queues (over the wire, with the
 * subscription filter policies the CDK construct writes): what each team's queue receives, the order
 * per NPN, deduplication of a retried batch, oversized items, and how a failed request stops the batch.
 */
import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, PublishBatchCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalService } from '#local/dynamodb-local';
import { startSqs } from '#local/fauxqs';
import { LOCAL_REGION } from '#local/aws-env';
import { CHANGE_EVENT_TYPE, CHANGE_EVENT_VERSION, MAX_MESSAGE_BYTES, type ChangeEvent } from '#feed/change-event';
import { checkFeedFilter, feedFilterPolicy, type FeedFilter } from '#feed/feed-filter';
import { createSnsChangePublisher, publishRequests } from '#feed/sns-change-publisher';

let fauxqs: LocalService;
let sns: SNSClient;
let sqs: SQSClient;

beforeAll(async () => {
  fauxqs = await startSqs();
  const config = { endpoint: fauxqs.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local-secret' } };
  sns = new SNSClient(config);
  sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
});
afterAll(async () => {
  await fauxqs?.stop();
});

let counter = 0;
/** A change event as the publisher builds them (change-event.ts); `id` unique like a stream eventID. */
function event(npn: string, recordType: string, forState?: string, extra: Partial<ChangeEvent> = {}): ChangeEvent {
  const n = ++counter;
  return {
    type: CHANGE_EVENT_TYPE,
    version: CHANGE_EVENT_VERSION,
    id: `evt${n}-${randomUUID().slice(0, 8)}`,
    change: 'updated',
    eventName: 'MODIFY',
    recordType,
    npn,
    ...(forState ? { forState } : {}),
    key: { pk: `NPN#${npn}`, sk: `${recordType}#${n}` },
    sequenceNumber: String(1000 + n),
    item: { pk: `NPN#${npn}`, sk: `${recordType}#${n}`, recordType, npn, record: { id: n, ...(forState ? { forState } : {}) } },
    ...extra,
  };
}

/** A FIFO topic and one FIFO queue per team, subscribed with raw delivery and the team's filter policy on the body. */
async function feed(teams: Record<string, FeedFilter>): Promise<{ topicArn: string; queues: Record<string, string> }> {
  const suffix = randomUUID().slice(0, 8);
  const topic = await sns.send(new CreateTopicCommand({ Name: `changes-${suffix}.fifo`, Attributes: { FifoTopic: 'true', ContentBasedDeduplication: 'false' } }));
  const queues: Record<string, string> = {};
  for (const [team, filter] of Object.entries(teams)) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${team}-${suffix}.fifo`, Attributes: { FifoQueue: 'true' } }));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const policy = feedFilterPolicy(checkFeedFilter(filter));
    await sns.send(
      new SubscribeCommand({
        TopicArn: topic.TopicArn,
        Protocol: 'sqs',
        Endpoint: arn,
        Attributes: { RawMessageDelivery: 'true', ...(policy ? { FilterPolicy: JSON.stringify(policy), FilterPolicyScope: 'MessageBody' } : {}) },
      }),
    );
    queues[team] = QueueUrl!;
  }
  return { topicArn: topic.TopicArn!, queues };
}

/** Everything on a queue, in delivery order (each message deleted once read). */
async function drain(queueUrl: string): Promise<Array<ChangeEvent & { groupId: string; dedupId: string }>> {
  const out: Array<ChangeEvent & { groupId: string; dedupId: string }> = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return out;
    for (const m of Messages) out.push({ ...(JSON.parse(m.Body!) as ChangeEvent), groupId: m.Attributes!.MessageGroupId!, dedupId: m.Attributes!.MessageDeduplicationId! });
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

describe('SNS change publisher', () => {
  it("delivers to each team exactly the changes its filter selects, in order per NPN, grouped by NPN, deduplicated by the event id", async () => {
    const { topicArn, queues } = await feed({
      claims: { recordTypes: ['licenses'], states: ['TX'] },
      texas: { states: ['TX'] },
      watch: { npns: ['222'] },
      everything: {},
    });
    const events = [
      event('111', 'licenses', 'TX'),
      event('111', 'licenses', 'AL'),
      event('111', 'entities'),
      event('222', 'licenses', 'TX'),
      event('111', 'licenses', 'TX'),
      event('222', 'appointments', 'TX'),
      event('222', 'npnStatus', undefined, { change: 'npn-status' }),
      event('333', 'licenses', 'CA'),
      ...Array.from({ length: 12 }, () => event('222', 'licenses', 'TX')),
    ];
    const publisher = createSnsChangePublisher({ client: sns, topicArn });
    expect(await publisher.publish(events)).toEqual({ published: events.length, itemsOmitted: 0 });

    const got = Object.fromEntries(await Promise.all(Object.entries(queues).map(async ([team, url]) => [team, await drain(url)] as const)));
    const ids = (pick: (e: ChangeEvent) => boolean) => events.filter(pick).map((e) => e.id);
    const sorted = (list: ChangeEvent[]) => list.map((e) => e.id).sort();
    expect(sorted(got.claims!)).toEqual(ids((e) => e.recordType === 'licenses' && e.forState === 'TX').sort());
    // States filter on forState; records that belong to no state (the entity, the NPN status) pass.
    expect(sorted(got.texas!)).toEqual(ids((e) => e.forState === 'TX' || e.forState === undefined).sort());
    expect(sorted(got.watch!)).toEqual(ids((e) => e.npn === '222').sort());
    expect(sorted(got.everything!)).toEqual(events.map((e) => e.id).sort());
    for (const received of Object.values(got)) {
      for (const message of received) expect([message.groupId, message.dedupId]).toEqual([message.npn, message.id]);
      // Per NPN, the order of publication.
      for (const npn of ['111', '222', '333']) expect(received.filter((e) => e.npn === npn).map((e) => e.id)).toEqual(ids((e) => e.npn === npn && received.some((r) => r.id === e.id)));
    }

    // A retried stream batch publishes the same events again: nothing reaches the queues twice.
    expect((await publisher.publish(events.slice(2, 9))).published).toBe(7);
    for (const url of Object.values(queues)) expect(await drain(url)).toEqual([]);
  });

  it('sends an item too large for one message as a reference: the event without its item, flagged itemOmitted', async () => {
    const { topicArn, queues } = await feed({ all: {} });
    const big = event('444', 'licenses', 'TX');
    big.item = { ...big.item, record: { id: 1, forState: 'TX', filler: 'x'.repeat(MAX_MESSAGE_BYTES) } };
    const small = event('444', 'licenses', 'TX');
    const outcome = await createSnsChangePublisher({ client: sns, topicArn }).publish([big, small]);
    expect(outcome).toEqual({ published: 2, itemsOmitted: 1 });
    const [first, second] = await drain(queues.all!);
    expect(first).toMatchObject({ id: big.id, itemOmitted: 'too-large', key: big.key, recordType: 'licenses', forState: 'TX' });
    expect(first!.item).toBeUndefined();
    expect(second).toMatchObject({ id: small.id, item: small.item });
  });

  it('stops at the first failed entry: earlier events stay published, no later request is sent', async () => {
    const { topicArn, queues } = await feed({ all: {} });
    const events = ['1', '2', '3', '1', '2', '3'].map((npn) => event(npn, 'licenses', 'TX'));
    const sent: string[][] = [];
    // The only mock: SNS answering one entry of the second request as failed (PublishBatch reports per entry).
    const flaky = {
      send: async (command: PublishBatchCommand) => {
        sent.push(command.input.PublishBatchRequestEntries!.map((e) => e.MessageDeduplicationId!));
        if (sent.length < 2) return sns.send(command);
        const [ok, ...failed] = command.input.PublishBatchRequestEntries!;
        const published = await sns.send(new PublishBatchCommand({ ...command.input, PublishBatchRequestEntries: [ok!] }));
        return { ...published, Failed: failed.map((entry) => ({ Id: entry.Id!, Code: 'InternalError', SenderFault: false, Message: 'try again' })) };
      },
    } as unknown as SNSClient;
    const outcome = await createSnsChangePublisher({ client: flaky, topicArn }).publish([...events, event('9', 'licenses', 'TX')]);
    expect(outcome).toEqual({ published: 4, failure: { index: 4, error: 'InternalError: try again' }, itemsOmitted: 0 });
    // NPN 1 repeats at index 3, so the first request is indexes 0-2 and the second starts at 3; nothing after it was sent.
    expect(sent.map((request) => request.length)).toEqual([3, 4]);
    expect((await drain(queues.all!)).map((e) => e.id)).toEqual(events.slice(0, 4).map((e) => e.id));
  });
});

describe('publishRequests', () => {
  const entry = (npn: string, bytes = 10) => ({ npn, body: 'x'.repeat(bytes) });

  it('cuts the list into consecutive requests of at most 10 entries, within the byte limit, never one NPN twice', () => {
    const sizes = (requests: Array<Array<{ npn: string }>>) => requests.map((r) => r.map((e) => e.npn).join(''));
    expect(sizes(publishRequests('abcdefghijklmn'.split('').map((n) => entry(n))))).toEqual(['abcdefghij', 'klmn']);
    expect(sizes(publishRequests(['a', 'b', 'a', 'c', 'b', 'b'].map((n) => entry(n))))).toEqual(['ab', 'acb', 'b']);
    expect(sizes(publishRequests([entry('a', 150_000), entry('b', 150_000), entry('c', 100_000)]))).toEqual(['a', 'bc']);
    expect(publishRequests([])).toEqual([]);
  });
});
