/**
 * The change feed on the one local harness, through the real pipeline: a backfill and a day of changes (the
 * simulator's signed webhook → queue → dispatcher → state machine → data table), the stream read by the real
 * publisher, fauxqs' SNS FIFO topic and each team's SQS FIFO queue as the synthesized templates define them.
 * Every team's queue must hold exactly the changes its filter asks for, each once, in stream order per NPN.
 * The expected sets come from an independent reader of the same stream, filtered here by the documented rule.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sqsClient } from '#commons/clients';
import type { ChangeEvent } from '#feed/change-event';
import { changeFeedQueues, type LocalTeamFeed } from '#local/change-feeds';
import { newWebhookSecret, startHarness, type LocalHarness } from '#local/harness';
import { appTemplates } from '#local/synth';
import type { StackTemplate } from '#local/template';
import { startSimulator, type Simulator } from '#sim/server';
import { outcomeOf, runExecution } from '../scripts/local-deployment/outcome.ts';

/** What a stream record says about the filters' fields, read straight from the images. */
interface Change {
  id: string;
  sequence: bigint;
  npn: string;
  recordType: string;
  forState: string | undefined;
  newImage: Record<string, unknown> | undefined;
}

function changeOf(record: DynamoDBRecord): Change {
  const image = (record.dynamodb?.NewImage ?? record.dynamodb?.OldImage) as Record<string, AttributeValue>;
  const item = unmarshall(image) as { npn: string; recordType: string; record?: { forState?: string } };
  return {
    id: record.eventID!,
    sequence: BigInt(record.dynamodb!.SequenceNumber!),
    npn: item.npn,
    recordType: item.recordType,
    forState: item.record?.forState,
    newImage: record.dynamodb?.NewImage ? unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) : undefined,
  };
}

/** Everything on a FIFO queue, in delivery order, each message deleted once read. */
async function drain(queueUrl: string): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  for (;;) {
    const { Messages = [] } = await sqsClient().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return out;
    out.push(...Messages.map((m) => JSON.parse(m.Body!) as ChangeEvent));
    await sqsClient().send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

describe('local change feed: a backfill and a day of changes through the real pipeline', () => {
  let harness: LocalHarness;
  let sim: Simulator;
  let feeds: Record<string, LocalTeamFeed>;
  const stream: DynamoDBRecord[] = [];
  // The simulator always serves the two sandbox NPNs.
  const watched = ['15645555', '19855109'];
  const SIM = { npns: 25, seed: 11, changeFraction: 0.2 };
  let state: string;

  beforeAll(async () => {
    // The state most of this population's licenses are in (the data is seeded): the teams filter on it.
    const probe = await startSimulator(SIM);
    const counts = new Map<string, number>();
    for (const license of probe.groundTruth('licenses')) counts.set(String(license.forState), (counts.get(String(license.forState)) ?? 0) + 1);
    await probe.close();
    state = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    // The app as `-c producersync:changeFeeds=...` synthesizes it: the templates are cached per context.
    const saved = process.env.CDK_CONTEXT_JSON;
    let stacks: StackTemplate[];
    process.env.CDK_CONTEXT_JSON = JSON.stringify({
      'producersync:changeFeeds': { claims: { recordTypes: ['licenses'], states: [state] }, 'one-state': { states: [state] }, watchlist: { npns: watched }, everything: {} },
    });
    try {
      stacks = await appTemplates();
    } finally {
      if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
      else process.env.CDK_CONTEXT_JSON = saved;
    }
    harness = await startHarness({ dynamoEndpoint: inject('dynamoEndpoint'), stacks });
    feeds = changeFeedQueues(harness.stacks, harness.provisioned);
    const secret = newWebhookSecret();
    await harness.setWebhookSecret(secret);
    const { webhookUrl } = await harness.startIngest();
    sim = await startSimulator({ ...SIM, webhook: { url: webhookUrl, secret } });
    harness.onStop(() => sim.close());
    await harness.useProducerSyncApi({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });
    // A second, independent reader of the stream (locally there is no two-reader limit): the expected changes.
    await harness.followChanges((records) => void stream.push(...records), { startingPosition: 'TRIM_HORIZON' });
  }, 180_000);
  afterAll(async () => {
    await harness?.stop();
  });

  it('delivers to each team exactly the changes it asked for, each once, in order per NPN', async () => {
    expect(Object.keys(feeds).sort()).toEqual(['claims', 'everything', 'one-state', 'watchlist']);
    const backfill = await runExecution(harness, 'feed-backfill', { mode: 'backfill' });
    expect(backfill.status).toBe('SUCCEEDED');
    const day = await sim.advanceDay();
    expect(day.webhookStatus).toBe(202);
    await harness.settle(120_000);
    const executions = harness.sfn.executions();
    expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const daily = await outcomeOf(harness, executions[1]!.executionArn);
    const written = (run: typeof backfill) => (run.run?.totals?.inserted ?? 0) + (run.run?.totals?.modified ?? 0) + (run.run?.totals?.deleted ?? 0);

    // The independent reader saw every write of both runs once; the day modified stored records.
    const changes = stream.map(changeOf);
    expect(changes.length).toBe(written(backfill) + written(daily));
    expect(stream.filter((r) => r.eventName === 'MODIFY').length, 'the day changed stored records').toBeGreaterThan(0);

    const wanted: Record<string, (c: Change) => boolean> = {
      claims: (c) => c.recordType === 'licenses' && c.forState === state,
      'one-state': (c) => c.forState === state || c.forState === undefined,
      watchlist: (c) => watched.includes(c.npn),
      everything: () => true,
    };
    for (const [team, feed] of Object.entries(feeds)) {
      const received = await drain(feed.queueUrl);
      const expected = changes.filter(wanted[team]!);
      expect(expected.length, `${team} has changes to receive`).toBeGreaterThan(0);
      // Exactly the changes asked for, each once.
      expect(received.map((e) => e.id).sort(), team).toEqual(expected.map((c) => c.id).sort());
      // Per NPN, in the order of the stream.
      for (const npn of new Set(expected.map((c) => c.npn))) {
        const order = expected.filter((c) => c.npn === npn).sort((a, b) => (a.sequence < b.sequence ? -1 : 1)).map((c) => c.id);
        expect(received.filter((e) => e.npn === npn).map((e) => e.id), `${team} ${npn}`).toEqual(order);
      }
      expect(await drain(feed.deadLetterQueueUrl), `${team} dead letters`).toEqual([]);
      // Each event carries the item as the table stored it, and for a modification what it was before.
      const byId = new Map(stream.map((r) => [r.eventID!, r]));
      for (const event of received) {
        const record = byId.get(event.id)!;
        expect(event).toMatchObject({ type: 'producersync.change', version: 1, eventName: record.eventName, npn: changeOf(record).npn, item: changeOf(record).newImage });
        if (record.eventName === 'MODIFY') expect(event.previous?.contentHash).toBe(unmarshall(record.dynamodb!.OldImage as Record<string, AttributeValue>).contentHash);
      }
    }
  }, 300_000);
});
