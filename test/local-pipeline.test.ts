import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { runStateMachine, type Asl } from '#local/state-machine';
import { startLocalStack, type LocalStack } from '../scripts/support/local-stack.ts';
import { compareWithTruth, describeComparison } from '../scripts/support/table-export.ts';
import { startWebhookPipeline, type WebhookPipeline } from '../scripts/support/webhook-pipeline.ts';

/** The wiring behind `npm run local`, at a small population. */
describe('local stack + webhook pipeline', () => {
  let stack: LocalStack;
  let pipeline: WebhookPipeline;
  let sim: Simulator;

  beforeAll(async () => {
    stack = await startLocalStack();
    pipeline = await startWebhookPipeline(stack);
    stack.onStop(() => pipeline.stop());
    sim = await startSimulator({ npns: 60, seed: 3, webhook: pipeline.webhookTarget });
    stack.onStop(() => sim.close());
    await stack.putCredentials({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('backfill, then the signed webhook runs the day through queue, dispatcher and state machine; the stream carries exactly its writes', async () => {
    const backfill = await stack.runExecution('test-backfill', { mode: 'backfill' });
    expect(backfill.status).toBe('SUCCEEDED');
    expect(backfill.run?.totals?.inserted).toBeGreaterThan(0);

    const changes: DynamoDBRecord[] = [];
    await pipeline.followChanges((records) => void changes.push(...records));
    const day = await sim.advanceDay();
    expect(day.webhookStatus).toBe(202);
    await pipeline.settle(60_000);

    const executions = stack.sfn.executions();
    expect(executions.map((e) => e.name)).toEqual(['test-backfill', `run-${day.runDate}-${day.eventId}`]);
    expect(JSON.parse(executions[1]!.input)).toEqual({ runDate: day.runDate });
    const incremental = await stack.outcomeOf(executions[1]!.executionArn);
    expect(incremental.status).toBe('SUCCEEDED');
    const totals = incremental.run!.totals!;
    const written = (totals.inserted ?? 0) + (totals.modified ?? 0) + (totals.deleted ?? 0);
    expect(written).toBeGreaterThan(0);
    expect(changes.length).toBe(written);
    expect(changes.every((c) => c.eventName === 'INSERT' || c.eventName === 'MODIFY')).toBe(true);

    const truth = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => [endpoint, sim.groundTruth(endpoint)]));
    const comparison = compareWithTruth(await stack.readRecords(), truth);
    expect(describeComparison(comparison)).toMatch(/: 0 missing, 0 extra, 0 different$/);
  }, 120_000);

  it('refuses a webhook with a bad signature and starts nothing', async () => {
    const before = stack.sfn.executions().length;
    const body = JSON.stringify({ id: 'whe_forged', type: 'producersync.updates_available', timestamp: new Date().toISOString(), data: { runDate: sim.today } });
    const response = await fetch(pipeline.webhookTarget.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'svix-id': 'whe_forged', 'svix-timestamp': String(Math.floor(Date.now() / 1000)), 'svix-signature': 'v1,Zm9yZ2Vk' },
      body,
    });
    expect(response.status).toBe(401);
    await pipeline.settle(30_000);
    expect(stack.sfn.executions().length).toBe(before);
  });
});

describe("runStateMachine waitOverride: 'as-defined'", () => {
  const asl = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 1, Next: 'Done' }, Done: { Type: 'Succeed' } } } as unknown as Asl;
  const timed = async (options: Parameters<typeof runStateMachine>[2]): Promise<number> => {
    const started = Date.now();
    expect((await runStateMachine(asl, {}, options)).status).toBe('SUCCEEDED');
    return Date.now() - started;
  };

  it('waits what the definition says (a Retry-After must be honoured against a real API)', async () => {
    expect(await timed({ handlers: {}, executionName: 'wait-as-defined', waitOverride: 'as-defined' })).toBeGreaterThanOrEqual(950);
  });

  it('still skips waits by default', async () => {
    expect(await timed({ handlers: {}, executionName: 'wait-default' })).toBeLessThan(900);
  });
});
