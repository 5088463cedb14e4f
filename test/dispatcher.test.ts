import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { startSqs } from '#local/fauxqs';
import { startSecretsManager } from '#local/secrets-manager';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import { lambdaContext } from '#local/lambda-context';
import { RETRY_DELAY_MS, retryPendingActivations } from '#dispatcher/activations';
import { createDispatcherDeps } from '#dispatcher/deps';
import { backfillExecutionName, runExecutionName, sanitizeForExecutionName } from '#dispatcher/execution-name';
import { handler } from '#dispatcher/handler';
import { SCHEDULED_ACTIONS, type ScheduledAction } from '#dispatcher/schedule';
import { typeShardOf } from '#sync/change-index';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { captureLogLines, captureMetricLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
import { batch, getItem as getItemOf, NOOP_ASL, sqsRecord, startWebhookRoute, STATE_MACHINE_ARN, webhookEvent as event, type WebhookRoute } from './support/dispatcher-fixtures.ts';
import { createControlTable, createDataTable, readStream } from './sync-fixtures.ts';

import { logger } from '#commons/logger';

logger.setLogLevel('SILENT');

let sfn: SfnApi;
let sqsService: LocalService;
let secretsService: LocalService;
let dynamo: DynamoDBClient;
let tables: { dataTableName: string; controlTableName: string };
/** The SFN stand-in lives for the whole file; each test looks only at the executions it started. */
let executionsBefore = 0;
const executions = () => sfn.executions().slice(executionsBefore);
const inputs = () => executions().map((e) => JSON.parse(e.input) as unknown);
const stopExecution = (executionArn: string) => new SFNClient({}).send(new StopExecutionCommand({ executionArn }));

beforeAll(async () => {
  [sfn, sqsService, secretsService] = await Promise.all([startSfnApi({ stateMachines: { [STATE_MACHINE_ARN]: NOOP_ASL } }), startSqs(), startSecretsManager()]);
  applyEnv(localAwsEnv({ dynamo: inject('dynamoEndpoint'), sfn: sfn.endpoint, sqs: sqsService.endpoint, secrets: secretsService.endpoint }));
  dynamo = new DynamoDBClient({});
});
afterAll(async () => {
  await Promise.all([sfn?.stop(), sqsService?.stop(), secretsService?.stop()]);
});
beforeEach(async () => {
  tables = { dataTableName: await createDataTable(dynamo), controlTableName: await createControlTable(dynamo) };
  process.env.DATA_TABLE_NAME = tables.dataTableName;
  process.env.CONTROL_TABLE_NAME = tables.controlTableName;
  process.env.STATE_MACHINE_ARN = STATE_MACHINE_ARN;
  executionsBefore = sfn.executions().length;
});

const getItem = (table: string, pk: string, sk: string) => getItemOf(dynamo, table, pk, sk);
/** The pending group of an execution (its item id is the execution name). */
const pendingGroupOf = (executionArn: string) => getItem(tables.controlTableName, `ACTIVATION#${executionArn.split(':').at(-1)}`, 'PENDING');

describe('execution names', () => {
  it('are valid, deterministic and collision-resistant', () => {
    expect(runExecutionName('2025-07-24', 'whe_000012345')).toBe('run-2025-07-24-whe_000012345');
    const odd = runExecutionName('2025-07-24', 'msg:2a/b.c'.repeat(20));
    expect(odd).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(odd).toBe(runExecutionName('2025-07-24', 'msg:2a/b.c'.repeat(20)));
    expect(sanitizeForExecutionName('a.b', 40)).not.toBe(sanitizeForExecutionName('a:b', 40));
    const a = backfillExecutionName('activation', '2025-07-24', ['2', '1', '1']);
    expect(a).toBe(backfillExecutionName('activation', '2025-07-24', ['1', '2']));
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('dispatcher', () => {
  it('starts one execution for updates_available and acknowledges redeliveries', async () => {
    const evt = event('producersync.updates_available', { runDate: '2025-07-24' });
    // Five deliveries: three in one batch, two more later.
    const first = await handler(batch(sqsRecord(evt), sqsRecord(evt), sqsRecord(evt)));
    expect(first.batchItemFailures).toEqual([]);
    for (let i = 0; i < 2; i++) expect((await handler(batch(sqsRecord(evt)))).batchItemFailures).toEqual([]);
    expect(executions()).toHaveLength(1);
    expect(inputs()).toEqual([{ mode: 'incremental', runDate: '2025-07-24' }]);
    expect(executions()[0]!.name).toBe(runExecutionName('2025-07-24', evt.id));
    const dedup = await getItem(tables.controlTableName, `EVENT#${evt.id}`, 'EVENT');
    expect(dedup).toMatchObject({ status: 'DONE', type: 'producersync.updates_available', executionArn: executions()[0]!.executionArn, outcome: 'started' });
    expect(dedup!.expiresAt).toBeGreaterThan(Date.now() / 1000 + 29 * 86400);
  });

  it('retries an event claimed but not finished, and treats ExecutionAlreadyExists as success', async () => {
    const evt = event('producersync.updates_available', { runDate: '2025-07-25' });
    // A crash after the claim left a PENDING item, and the execution was already started.
    await dynamo.send(new PutItemCommand({ TableName: tables.controlTableName, Item: marshall({ pk: `EVENT#${evt.id}`, sk: 'EVENT', status: 'PENDING', type: evt.type }) }));
    await new SFNClient({}).send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: runExecutionName('2025-07-25', evt.id), input: '{"other":true}' }));
    const out = await handler(batch(sqsRecord(evt)));
    expect(out.batchItemFailures).toEqual([]);
    expect(executions()).toHaveLength(1);
    expect(await getItem(tables.controlTableName, `EVENT#${evt.id}`, 'EVENT')).toMatchObject({ status: 'DONE' });
  });

  it('groups every activation of a batch into one backfill and records pending activations', async () => {
    const a = event('producersync.npn.activated', { npn: '19855109' });
    const b = event('producersync.npn.activated', { npns: ['15645555', '19855109', '1234567'] });
    const out = await handler(batch(sqsRecord(a), sqsRecord(b), sqsRecord(a)));
    expect(out.batchItemFailures).toEqual([]);
    expect(executions()).toHaveLength(1);
    expect(inputs()).toEqual([{ mode: 'backfill', npns: ['1234567', '15645555', '19855109'] }]);
    expect(await pendingGroupOf(executions()[0]!.executionArn)).toMatchObject({
      attempts: 1,
      kind: 'pendingActivation',
      executionArn: executions()[0]!.executionArn,
      npns: new Set(['1234567', '15645555', '19855109']),
    });
    for (const npn of ['1234567', '15645555', '19855109']) {
      expect(await getItem(tables.dataTableName, `NPN#${npn}`, 'STATUS')).toMatchObject({ status: 'ACTIVE', recordType: 'npnStatus', npn });
    }
    expect(await getItem(tables.controlTableName, `EVENT#${a.id}`, 'EVENT')).toMatchObject({ status: 'DONE', executionArn: executions()[0]!.executionArn });
    // Redelivery of an activation already handled starts nothing new.
    expect((await handler(batch(sqsRecord(b)))).batchItemFailures).toEqual([]);
    expect(executions()).toHaveLength(1);
  });

  it('deactivation writes exactly one data item change, keeps the data, and is idempotent', async () => {
    const npn = '15645555';
    await dynamo.send(
      new PutItemCommand({ TableName: tables.dataTableName, Item: marshall({ pk: `NPN#${npn}`, sk: 'licenses#1', recordType: 'licenses', npn, id: 1, updatedAt: '2025-07-01' }) }),
    );
    const evt = event('producersync.npn.deactivated', { npn }, { timestamp: '2025-07-24T22:51:05.206Z' });
    for (let i = 0; i < 3; i++) expect((await handler(batch(sqsRecord(evt)))).batchItemFailures).toEqual([]);
    // A different delivery id for the same change still writes nothing: the status is unchanged.
    expect((await handler(batch(sqsRecord({ ...evt, id: 'evt_other' })))).batchItemFailures).toEqual([]);
    expect(await getItem(tables.dataTableName, `NPN#${npn}`, 'STATUS')).toEqual({
      pk: `NPN#${npn}`,
      sk: 'STATUS',
      recordType: 'npnStatus',
      npn,
      status: 'DEACTIVATED',
      statusDate: '2025-07-24',
      eventId: evt.id,
      eventTimestamp: '2025-07-24T22:51:05.206Z',
      // The change index: the status item's shard, and the time of its one write.
      typeShard: typeShardOf('npnStatus', `NPN#${npn}`, 'STATUS'),
      changedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(await getItem(tables.dataTableName, `NPN#${npn}`, 'licenses#1')).toBeDefined();
    const changes = (await readStream(dynamo, tables.dataTableName)).filter((r) => r.dynamodb?.Keys?.sk?.S === 'STATUS');
    expect(changes.map((r) => r.eventName)).toEqual(['INSERT']);
    expect(executions()).toHaveLength(0);
  });

  it('does not let an older activation delivered late undo a newer deactivation', async () => {
    const npn = '777';
    const deactivated = event('producersync.npn.deactivated', { npn }, { timestamp: '2025-07-24T12:00:00.000Z' });
    const lateActivation = event('producersync.npn.activated', { npn }, { timestamp: '2025-07-24T11:00:00.000Z' });
    await handler(batch(sqsRecord(deactivated)));
    expect((await handler(batch(sqsRecord(lateActivation)))).batchItemFailures).toEqual([]);
    expect(await getItem(tables.dataTableName, `NPN#${npn}`, 'STATUS')).toMatchObject({ status: 'DEACTIVATED', eventId: deactivated.id });
    // Nor start a backfill (so no pending activation) for it.
    expect(executions()).toHaveLength(0);
    expect(await getItem(tables.controlTableName, `EVENT#${lateActivation.id}`, 'EVENT')).toMatchObject({ status: 'DONE' });

    // And a late deactivation does not cancel a newer activation's pending backfill.
    const activated = event('producersync.npn.activated', { npn: '778' }, { timestamp: '2025-07-24T12:00:00.000Z' });
    const lateDeactivation = event('producersync.npn.deactivated', { npn: '778' }, { timestamp: '2025-07-24T11:00:00.000Z' });
    await handler(batch(sqsRecord(activated)));
    await handler(batch(sqsRecord(lateDeactivation)));
    expect(await getItem(tables.dataTableName, 'NPN#778', 'STATUS')).toMatchObject({ status: 'ACTIVE' });
    expect((await pendingGroupOf(executions()[0]!.executionArn))?.npns).toEqual(new Set(['778']));
    // The retry run backfills it again: it is still active.
    const deps = createDispatcherDeps({ dynamo, sfn: new SFNClient({}), ...tables, stateMachineArn: STATE_MACHINE_ARN });
    await stopExecution(executions()[0]!.executionArn);
    expect(await retryPendingActivations(deps, Date.now() + RETRY_DELAY_MS + 1000)).toMatchObject({ retried: 1, deactivated: 0 });
  });

  it('fails only the poison records of a batch and acknowledges unknown types', async () => {
    const noNpn = sqsRecord(event('producersync.npn.activated', {}));
    const badNpn = sqsRecord(event('producersync.npn.deactivated', { npns: ['12a'] }));
    const noRunDate = sqsRecord(event('producersync.updates_available', {}));
    const notJson = { ...sqsRecord(event('x', {})), body: 'not json' };
    const unknown = sqsRecord(event('producersync.something_new', { any: 1 }));
    const good = sqsRecord(event('producersync.updates_available', { runDate: '2025-07-26' }));
    const out = await handler(batch(noNpn, badNpn, noRunDate, notJson, unknown, good));
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([noNpn.messageId, badNpn.messageId, noRunDate.messageId, notJson.messageId].sort());
    expect(inputs()).toEqual([{ mode: 'incremental', runDate: '2025-07-26' }]);
  });

  it('acknowledges an event not newer than the watermark (a portal test event, a late redelivery) with its reason, and starts nothing', async () => {
    await createDynamoWatermarkStore({ client: dynamo, tableName: tables.controlTableName }).advance('2025-07-27', { runId: 'earlier', at: new Date().toISOString() });
    // The portal's "Send Example": the documented example, runDate 2025-07-24, under a new svix id.
    const example = { ...event('producersync.updates_available', { runDate: '2025-07-24' }), id: 'whe_000012345' };
    const late = event('producersync.updates_available', { runDate: '2025-07-27' });
    const metrics = await captureMetricLines(() => handler(batch(sqsRecord(example, { eventId: 'msg_test_1' }), sqsRecord(late))));
    expect(executions()).toHaveLength(0);
    expect(await getItem(tables.controlTableName, 'EVENT#msg_test_1', 'EVENT')).toMatchObject({
      status: 'DONE',
      outcome: 'skipped',
      reason: 'runDate 2025-07-24 is not newer than the watermark 2025-07-27',
    });
    expect(await getItem(tables.controlTableName, `EVENT#${late.id}`, 'EVENT')).toMatchObject({ outcome: 'skipped', reason: 'runDate 2025-07-27 is not newer than the watermark 2025-07-27' });
    expect(metrics.map((m) => m.EventsSkipped)).toEqual([1, 1]);
    // The next day starts a run as usual, from the watermark.
    await handler(batch(sqsRecord(event('producersync.updates_available', { runDate: '2025-07-28' }))));
    expect(inputs()).toEqual([{ mode: 'incremental', runDate: '2025-07-28' }]);
  });

  it('fails the activation events when the backfill cannot start, and marks nothing done', async () => {
    process.env.STATE_MACHINE_ARN = `${STATE_MACHINE_ARN}-deleted`;
    const evt = event('producersync.npn.activated', { npn: '42' });
    const rec = sqsRecord(evt);
    const out = await handler(batch(rec));
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: rec.messageId }]);
    expect(await getItem(tables.controlTableName, `EVENT#${evt.id}`, 'EVENT')).toMatchObject({ status: 'PENDING' });
  });

  it('routes scheduled actions through one table and refuses an unknown action by name', async () => {
    expect(Object.keys(SCHEDULED_ACTIONS)).toEqual(['retry-pending-activations', 'check-freshness', 'reconcile']);
    const unknown = { source: 'producersync.schedule', action: 'rebalance' } as ScheduledAction<string>;
    await expect(handler(unknown)).rejects.toThrow('unknown scheduled action "rebalance"; known: retry-pending-activations, check-freshness, reconcile');
    await expect(handler({ source: 'elsewhere' } as never)).rejects.toThrow('dispatcher received an event it does not handle');
    expect(await handler({ source: 'producersync.schedule', action: 'retry-pending-activations' })).toMatchObject({ groups: 0, retried: 0 });
  });

  it('logs the Lambda context and the event id on every line of an invocation', async () => {
    const evt = event('producersync.updates_available', { runDate: '2025-07-27' });
    const lines = await captureLogLines(() => handler(batch(sqsRecord(evt), { ...sqsRecord(evt), body: 'not json' }), lambdaContext('producersync-dispatcher')));
    expectLambdaContextOnEveryLine(lines, 'producersync-dispatcher');
    expect(lines.find((l) => l.message === 'sync execution started')).toMatchObject({ correlation_id: evt.id });
    expect(lines.find((l) => l.message === 'unreadable queue message')?.correlation_id).toBeUndefined();
  });
});

describe('webhook → queue → dispatcher', () => {
  // Small so the poison test is quick: each failed receive waits out the visibility timeout, as with Lambda.
  const MAX_RECEIVE_COUNT = 2;
  let route: WebhookRoute;

  beforeEach(async () => {
    route = await startWebhookRoute({ handler, maxReceiveCount: MAX_RECEIVE_COUNT });
  });
  afterEach(async () => {
    await route?.stop();
  });

  it('a valid webhook delivered five times gives one execution', async () => {
    const body = JSON.stringify({ id: 'whe_000012345', type: 'producersync.updates_available', timestamp: '2025-07-24T22:51:05.206Z', data: { runDate: '2025-07-24' } });
    for (let i = 0; i < 5; i++) expect(await route.deliver(body, 'msg_daily_1')).toBe(202);
    await route.poller.drain(10_000);
    expect(executions().map((e) => e.name)).toEqual(['run-2025-07-24-msg_daily_1']);
    expect(inputs()).toEqual([{ mode: 'incremental', runDate: '2025-07-24' }]);
    expect(await route.visible(route.queueUrl)).toBe(0);
    expect(await route.visible(route.dlqUrl)).toBe(0);
    expect(await getItem(tables.controlTableName, 'EVENT#msg_daily_1', 'EVENT')).toMatchObject({ status: 'DONE' });
  });

  it('a poison message (activation without an NPN) ends in the DLQ after the configured receives', async () => {
    const poison = JSON.stringify({ id: 'evt_poison', type: 'producersync.npn.activated', timestamp: new Date().toISOString(), data: {} });
    const good = JSON.stringify({ id: 'evt_good', type: 'producersync.npn.activated', timestamp: new Date().toISOString(), data: { npn: '15645555' } });
    expect(await route.deliver(poison, 'msg_poison')).toBe(202);
    expect(await route.deliver(good, 'msg_good')).toBe(202);
    await route.poller.drain(15_000);
    expect(await route.visible(route.queueUrl)).toBe(0);
    const dead = await route.sqs.send(new ReceiveMessageCommand({ QueueUrl: route.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual([poison]);
    expect(dead.Messages?.[0]?.MessageAttributes?.eventId?.StringValue).toBe('msg_poison');
    expect(Number(dead.Messages?.[0]?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(MAX_RECEIVE_COUNT);
    expect(inputs()).toEqual([{ mode: 'backfill', npns: ['15645555'] }]);
  });
});
