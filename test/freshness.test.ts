import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDispatcherDeps, type DispatcherDeps } from '#dispatcher/deps';
import { createDispatcherHandler } from '#dispatcher/handler';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import type { Asl } from '#local/state-machine';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { captureMetricLines } from './log-capture.ts';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';
import { createControlTable, createDataTable, uniqueName } from './sync-fixtures.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:freshness';
/** Executions are recorded and stay RUNNING, so a test sees what the dispatcher started. */
const NOOP_ASL = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } } as unknown as Asl;
const HOUR = 3_600_000;

let local: LocalAws;
let sfn: SfnApi;
const dynamo = new DynamoDBClient({});
const secrets = () => new SecretsManagerClient({});

beforeAll(async () => {
  local = await useLocalAws({ sqs: false });
  sfn = await startSfnApi({ stateMachines: { [STATE_MACHINE_ARN]: NOOP_ASL } });
  local.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
  process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
});
afterAll(async () => {
  await sfn?.stop();
  await local?.cleanup();
});

/** A fresh deployment: tables, a credentials secret as the deploy creates it (one generated version), a clock. */
let deps: DispatcherDeps;
let clock: { ms: number };
let secretId: string;
let before: number;
const started = () => sfn.executions().slice(before).map((e) => ({ name: e.name, input: JSON.parse(e.input) as unknown }));

beforeEach(async () => {
  clock = { ms: Date.parse('2025-07-24T20:00:00.000Z') };
  secretId = uniqueName('credentials');
  await secrets().send(new CreateSecretCommand({ Name: secretId, SecretString: '{"clientId":"REPLACE_ME","clientSecret":"generated"}' }));
  const [dataTableName, controlTableName] = await Promise.all([createDataTable(dynamo), createControlTable(dynamo)]);
  deps = createDispatcherDeps({
    dynamo,
    sfn: new SFNClient({ endpoint: sfn.endpoint }),
    secrets: secrets(),
    dataTableName,
    controlTableName,
    stateMachineArn: STATE_MACHINE_ARN,
    credentialsSecretId: secretId,
    now: () => clock.ms,
    catchUpAfterHours: 26,
  });
  process.env.DATA_TABLE_NAME = dataTableName;
  process.env.CONTROL_TABLE_NAME = controlTableName;
  process.env.STATE_MACHINE_ARN = STATE_MACHINE_ARN;
  process.env.PRODUCERSYNC_SECRET_ARN = secretId;
  before = sfn.executions().length;
});

const check = (handler = createDispatcherHandler({ now: () => clock.ms })) => handler({ source: 'producersync.schedule', action: 'check-freshness' });
const putCredentials = () => secrets().send(new PutSecretValueCommand({ SecretId: secretId, SecretString: '{"clientId":"id","clientSecret":"s"}' }));

describe('check-freshness on day 0', () => {
  it('reports the age from the first check, waits for the credentials, then starts the initial load once', async () => {
    const metrics = await captureMetricLines(() => check());
    expect(metrics.map((m) => m.WatermarkAgeHours)).toEqual([0]);
    expect(await deps.watermarks.load()).toEqual({ firstSeenAt: '2025-07-24T20:00:00.000Z' });
    // The deploy's placeholder only, and a description edit (a redeploy) changes nothing: no pull that could only fail.
    await secrets().send(new UpdateSecretCommand({ SecretId: secretId, Description: 'edited by a redeploy' }));
    clock.ms += HOUR;
    expect(await check()).toMatchObject({ action: 'waiting-for-credentials', ageHours: 1 });
    expect(started()).toEqual([]);

    await putCredentials();
    clock.ms += HOUR;
    const first = await check();
    expect(first).toMatchObject({ action: 'initial-load-started', runId: 'catch-up-2025-07-24T22' });
    expect(started()).toEqual([{ name: 'catch-up-2025-07-24T22', input: { mode: 'catchUp' } }]);
    // Prepare of that run records the initial load; while it runs, the next checks start nothing.
    await createDynamoWatermarkStore({ client: dynamo, tableName: process.env.CONTROL_TABLE_NAME! }).claimInitialLoad({ runId: first.runId!, startedAt: new Date(clock.ms).toISOString() }, clock.ms);
    clock.ms += HOUR;
    expect(await check()).toMatchObject({ action: 'initial-load-in-flight', runId: 'catch-up-2025-07-24T22', ageHours: 3 });
    // A retried invocation within the same hour asks for the same name: nothing new either.
    expect(started()).toHaveLength(1);
  });
});

describe('check-freshness with a watermark', () => {
  it('starts a catch-up when the watermark is CATCH_UP_AFTER_HOURS old, once in that time, and reports its age every hour', async () => {
    await putCredentials();
    await deps.watermarks.advance('2025-07-24', { runId: 'run-1', at: new Date(clock.ms).toISOString() });
    clock.ms += 25 * HOUR;
    expect(await check()).toMatchObject({ action: 'fresh', watermark: '2025-07-24', ageHours: 25 });
    clock.ms += HOUR;
    const metrics = await captureMetricLines(async () => expect(await check()).toMatchObject({ action: 'catch-up-started', runId: 'catch-up-2025-07-25T22' }));
    expect(metrics.map((m) => m.WatermarkAgeHours)).toEqual([26]);
    expect(started()).toEqual([{ name: 'catch-up-2025-07-25T22', input: { mode: 'catchUp' } }]);
    for (let hour = 1; hour < 26; hour++) {
      clock.ms += HOUR;
      expect((await check()).action).toBe('catch-up-recent');
    }
    clock.ms += HOUR;
    expect(await check()).toMatchObject({ action: 'catch-up-started', ageHours: 52 });
    expect(started()).toHaveLength(2);
    // A run advanced it: fresh again.
    await deps.watermarks.advance('2025-07-26', { runId: 'catch-up', at: new Date(clock.ms).toISOString() });
    clock.ms += HOUR;
    expect(await check()).toMatchObject({ action: 'fresh', ageHours: 1, watermark: '2025-07-26' });
  });
});

describe('the reconcile action', () => {
  it('starts one reconcile run a day, never before the credentials are in', async () => {
    const reconcile = () => createDispatcherHandler({ now: () => clock.ms })({ source: 'producersync.schedule', action: 'reconcile' });
    expect(await reconcile()).toEqual({ started: false, reason: 'the ProducerSync credentials are not in the secret yet' });
    await putCredentials();
    expect(await reconcile()).toMatchObject({ started: true, runId: 'reconcile-2025-07-24' });
    // EventBridge retries the same invocation: the same name, no second run.
    await new SFNClient({ endpoint: sfn.endpoint }).send(new StopExecutionCommand({ executionArn: sfn.executions().at(-1)!.executionArn }));
    expect(await reconcile()).toMatchObject({ started: true, runId: 'reconcile-2025-07-24' });
    expect(started()).toEqual([{ name: 'reconcile-2025-07-24', input: { mode: 'reconcile' } }]);
  });
});
