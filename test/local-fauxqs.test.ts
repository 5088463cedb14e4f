import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { localAwsEnv } from '#local/aws-env';
import { startSqs } from '#local/fauxqs';

const dir = mkdtempSync(join(tmpdir(), 'fauxqs-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function client(endpoint: string): SQSClient {
  const env = localAwsEnv({});
  return new SQSClient({
    endpoint,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    useQueueUrlAsEndpoint: false,
  });
}

async function createQueues(sqs: SQSClient): Promise<{ main: string; dlq: string }> {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: 'events-dlq' }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const main = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: 'events',
        Attributes: { VisibilityTimeout: '0', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) },
      }),
    )
  ).QueueUrl!;
  return { main, dlq };
}

const receive = (sqs: SQSClient, url: string) =>
  sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] })).then((r) => r.Messages ?? []);

describe('fauxqs with a journal', () => {
  it('gives every queue back what was not deleted, under the same message ids, after the process is gone', async () => {
    const journal = join(dir, 'sqs', 'journal.jsonl');
    const first = await startSqs({ journal });
    const sqs = client(first.endpoint);
    const queues = await createQueues(sqs);
    const sent: Record<string, string> = {};
    for (const body of ['handled', 'poison', 'pending']) {
      const { MessageId } = await sqs.send(
        new SendMessageCommand({ QueueUrl: queues.main, MessageBody: body, MessageAttributes: { eventId: { DataType: 'String', StringValue: `evt-${body}` } } }),
      );
      sent[body] = MessageId!;
    }
    // A message is on disk before SendMessage answers: the journal is what a crash right now would leave.
    expect(statSync(journal).mode & 0o777).toBe(0o600);
    // All three are received; only "handled" is deleted (the dispatcher's success), then the process goes.
    const [handled] = (await receive(sqs, queues.main)).filter((m) => m.Body === 'handled');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queues.main, ReceiptHandle: handled!.ReceiptHandle }));
    await first.stop();

    const second = await startSqs({ journal });
    const again = client(second.endpoint);
    const restored = await createQueues(again);
    const messages = await receive(again, restored.main);
    expect(messages.map((m) => [m.Body, m.MessageId]).sort()).toEqual([
      ['pending', sent.pending],
      ['poison', sent.poison],
    ]);
    expect(messages.find((m) => m.Body === 'pending')?.MessageAttributes?.eventId?.StringValue).toBe('evt-pending');
    // Received once, not deleted: the next receive moves them to the DLQ, and the DLQ keeps them across a restart too.
    expect(await receive(again, restored.main)).toEqual([]);
    await second.stop();

    const third = await startSqs({ journal });
    const last = client(third.endpoint);
    const final = await createQueues(last);
    expect(await receive(last, final.main)).toEqual([]);
    expect((await receive(last, final.dlq)).map((m) => m.MessageId).sort()).toEqual([sent.pending, sent.poison].sort());
    await third.stop();
  });

  it('listens on the loopback interface only', async () => {
    const sqs = await startSqs();
    try {
      const port = Number(new URL(sqs.endpoint).port);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
      const reachable = (host: string) =>
        new Promise<boolean>((resolve) => {
          const socket = connect({ host, port }).once('connect', () => (socket.destroy(), resolve(true))).once('error', () => resolve(false));
        });
      expect(await reachable('127.0.0.1')).toBe(true);
      if (external) expect(await reachable(external)).toBe(false);
    } finally {
      await sqs.stop();
    }
  });
});
