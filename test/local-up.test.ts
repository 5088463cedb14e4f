import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DescribeExecutionCommand, ListExecutionsCommand, type DescribeExecutionOutput } from '@aws-sdk/client-sfn';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamReader } from '#local/stream-reader';
import { PROJECT_ROOT } from '#local/synth';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { connectLocalDeployment } from '../scripts/local-deployment/connect.ts';
import type { DeploymentFile, ReadyLine } from '../scripts/local-deployment/up.ts';
import { compareWithTruth, readSyncedRecords } from '../scripts/support/table-export.ts';

/** `producersync local up` as a user runs it: a child process of the real CLI, talked to over its ready line. */
const CLI = join(PROJECT_ROOT, 'bin', 'producersync.mjs');
const START_TIMEOUT_MS = 120_000;

/** The child's environment: none of this test run's endpoints (the global setup's DynamoDB Local) leak in. */
const childEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_ENDPOINT_URL')));

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function cli(args: string[]): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => void (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits (polling) until `check` returns a value, or fails with `what` after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Up extends Cli {
  ready: ReadyLine;
}

async function up(args: string[]): Promise<Up> {
  const started = cli(['local', 'up', ...args]);
  const line = await until(
    'the ready line',
    () => {
      if (started.child.exitCode !== null) throw new Error(`local up exited ${started.child.exitCode}: ${started.stderr()}`);
      return started.stdout().includes('\n') ? started.stdout().split('\n')[0] : undefined;
    },
    START_TIMEOUT_MS,
  );
  return { ...started, ready: JSON.parse(line!) as ReadyLine };
}

const alive = (pid: number | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const harnessInput = (execution: DescribeExecutionOutput): unknown => JSON.parse(execution.input ?? 'null');
const deploymentOf = (dir: string): DeploymentFile => JSON.parse(readFileSync(join(dir, 'deployment.json'), 'utf8')) as DeploymentFile;
const processesOf = (dir: string): number[] => {
  const { pid, pids } = deploymentOf(dir);
  return [pid, pids.dynamodbSupervisor ?? 0, pids.dynamodbJava ?? 0];
};

function clients(ready: ReadyLine): { dynamo: DynamoDBClient; streams: DynamoDBStreamsClient } {
  const { endpoint, region, accessKeyId, secretAccessKey } = ready.dynamodb;
  const config = { endpoint, region, credentials: { accessKeyId, secretAccessKey } };
  return { dynamo: new DynamoDBClient(config), streams: new DynamoDBStreamsClient(config) };
}

async function runRecord(ready: ReadyLine, runId: string): Promise<{ status?: string; checkpoints: Array<{ pages?: number; done?: boolean }> }> {
  const { Items = [] } = await clients(ready).dynamo.send(
    new QueryCommand({ TableName: ready.dynamodb.controlTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `RUN#${runId}` } }, ConsistentRead: true }),
  );
  const items = Items.map((item) => unmarshall(item));
  return { status: items.find((i) => i.sk === 'RUN')?.status, checkpoints: items.filter((i) => String(i.sk).startsWith('ENDPOINT#')) };
}

async function stopWith(signal: NodeJS.Signals, running: Up, dir: string): Promise<number | null> {
  const processes = processesOf(dir);
  running.child.kill(signal);
  const code = await running.exited;
  // SIGTERM stops everything before exiting; after SIGKILL the supervisor stops the JVM once its parent is gone.
  await until('every process of the deployment to end', () => (processes.some(alive) ? undefined : true), 30_000);
  return code;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-up-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('producersync local up: bad usage', () => {
  it('exits 2 with a clear message and starts nothing: an unknown flag, an unreadable secret file, a bad secret', async () => {
    const dataDir = join(dir, 'never');
    for (const [args, message] of [
      [['--bogus'], 'unknown option --bogus'],
      [['--webhook-secret-file', join(dir, 'missing-secret')], `cannot read --webhook-secret-file ${join(dir, 'missing-secret')}: no such file`],
      [['--webhook-secret', 'not-a-secret'], '--webhook-secret must be a Svix signing secret'],
      [['--api-base-url', 'http://127.0.0.1:1'], 'syncing from an API needs --token-url, --client-id, --client-secret'],
    ] as const) {
      const run = cli(['local', 'up', '--data-dir', dataDir, ...args]);
      expect(await run.exited, args.join(' ')).toBe(2);
      expect(run.stderr()).toContain(message);
      expect(run.stderr()).toContain('usage: producersync local up');
      expect(run.stdout()).toBe('');
    }
    expect(existsSync(dataDir)).toBe(false);
  }, 120_000);
});

describe('producersync local up: the built-in simulator', () => {
  let dataDir: string;
  let running: Up | undefined;
  let secret: string;
  afterAll(async () => {
    if (running?.child.exitCode === null) await stopWith('SIGTERM', running, dataDir);
  });

  it('prints one ready line; a signed delivery ends as rows; a second local up on the directory is refused; SIGTERM stops everything', async () => {
    dataDir = join(dir, 'sim');
    running = await up(['--data-dir', dataDir, '--npns', '30', '--seed', '4']);
    const { ready } = running;
    expect(Object.keys(ready)).toEqual(['ready', 'webhookUrl', 'webhookSecretFile', 'dynamodb', 'simulatorUrl']);
    expect(Object.keys(ready.dynamodb)).toEqual(['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'dataTable', 'controlTable', 'streamArn']);
    expect(ready.webhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/psapi$/);
    expect(ready.simulatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(ready.webhookSecretFile).mode & 0o777).toBe(0o600);
    secret = readFileSync(ready.webhookSecretFile, 'utf8').trim();
    expect(secret).toMatch(/^whsec_/);

    // What the portal's test button sends, through the command that imitates it.
    const send = cli(['local', 'send-webhook', '--run-date', '2025-07-01', '--data-dir', dataDir]);
    expect(await send.exited).toBe(0);
    const eventId = /HTTP 202 \(event (whe_\w+), runDate 2025-07-01\)/.exec(send.stdout())?.[1];
    expect(eventId).toBeDefined();
    const runId = `run-2025-07-01-${eventId}`;
    expect(await until('the run to succeed', async () => ((await runRecord(ready, runId)).status === 'SUCCEEDED' ? true : undefined))).toBe(true);
    const rows = await readSyncedRecords(clients(ready).dynamo, ready.dynamodb.dataTable);
    expect(rows.length).toBeGreaterThan(0);

    const second = cli(['local', 'up', '--data-dir', dataDir]);
    expect(await second.exited).toBe(2);
    expect(second.stderr()).toContain(`is in use by another producersync local up (pid ${running.child.pid})`);

    expect(await stopWith('SIGTERM', running, dataDir)).toBe(0);
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    expect(running.stdout().trim().split('\n')).toHaveLength(1);
    expect(running.stdout() + running.stderr()).not.toContain(secret);
  }, 240_000);

  it('started again on the same directory it keeps the table, the run history and the webhook secret', async () => {
    const previous = running!.ready;
    running = await up(['--data-dir', dataDir]);
    const { ready } = running;
    expect(ready.webhookUrl).toBe(previous.webhookUrl);
    expect(readFileSync(ready.webhookSecretFile, 'utf8').trim()).toBe(secret);
    expect(ready.dynamodb.streamArn).toBe(previous.dynamodb.streamArn);
    const rows = await readSyncedRecords(clients(ready).dynamo, ready.dynamodb.dataTable);
    expect(rows.length).toBeGreaterThan(0);
    const deployment = connectLocalDeployment(dataDir);
    const { executions = [] } = await deployment.sfn.send(new ListExecutionsCommand({ stateMachineArn: deployment.stateMachineArn }));
    expect(executions.map((e) => [e.name, e.status])).toEqual([[expect.stringMatching(/^run-2025-07-01-whe_/), 'SUCCEEDED']]);
    const runs = cli(['runs', '--local', '--data-dir', dataDir]);
    expect(await runs.exited).toBe(0);
    // The first webhook of a fresh deployment is its initial load: a full pull (docs/SYNC.md "Day 0").
    expect(runs.stdout()).toMatch(/run-2025-07-01-whe_\S+\s+backfill\s+2025-07-01\s+SUCCEEDED/);

    const exported = join(dir, 'export.jsonl');
    const exporting = cli(['export', '--local', '--data-dir', dataDir, '--out', exported]);
    expect(await exporting.exited).toBe(0);
    expect(readFileSync(exported, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(rows);
    const reconcile = cli(['reconcile', '--local', '--data-dir', dataDir, '--name', 'local-reconcile']);
    expect(await reconcile.exited).toBe(0);
    const started = await deployment.sfn.send(new ListExecutionsCommand({ stateMachineArn: deployment.stateMachineArn }));
    expect(started.executions?.[0]?.name).toBe('local-reconcile');
    expect(harnessInput(await deployment.sfn.send(new DescribeExecutionCommand({ executionArn: started.executions?.[0]?.executionArn })))).toEqual({ mode: 'reconcile' });
    expect(await stopWith('SIGTERM', running, dataDir)).toBe(0);
  }, 240_000);
});

describe('producersync local up: SIGKILL in the middle of a sync', () => {
  let sim: Simulator;
  let dataDir: string;
  let running: Up | undefined;
  beforeAll(async () => {
    // Slow pages, so the kill lands while the backfill is under way.
    sim = await startSimulator({ npns: 60, seed: 9, latencyMs: 1_200, clientId: 'kill-test', clientSecret: 'kill-test-secret' });
  });
  afterAll(async () => {
    if (running?.child.exitCode === null) await stopWith('SIGTERM', running, dataDir);
    await sim?.close();
  });

  it('resumes the run after a restart: the table equals the ground truth and each record is on the stream once', async () => {
    dataDir = join(dir, 'kill');
    const secretFile = join(dir, 'client-secret');
    writeFileSync(secretFile, 'kill-test-secret\n', { mode: 0o600 });
    const args = ['--data-dir', dataDir, '--api-base-url', sim.apiBaseUrl, '--token-url', sim.tokenUrl, '--client-id', 'kill-test', '--client-secret-file', secretFile];
    running = await up(args);
    expect(running.ready.simulatorUrl).toBeUndefined();

    const backfill = cli(['backfill', '--local', '--data-dir', dataDir, '--all', '--name', 'killed-backfill']);
    expect(await backfill.exited).toBe(0);
    const first = running.ready;
    await until('a page written, the run not finished', async () => {
      const { status, checkpoints } = await runRecord(first, 'killed-backfill');
      return status === 'RUNNING' && checkpoints.some((c) => (c.pages ?? 0) > 0) && checkpoints.some((c) => !c.done) ? true : undefined;
    });
    expect(await stopWith('SIGKILL', running, dataDir)).toBeNull();

    running = await up(args);
    const { ready } = running;
    expect(running.stderr()).toContain('resuming 1 run(s) in flight at the last stop: killed-backfill');
    await until('the resumed run to succeed', async () => ((await runRecord(ready, 'killed-backfill')).status === 'SUCCEEDED' ? true : undefined), 180_000);

    const { dynamo, streams } = clients(ready);
    const truth = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => [endpoint, sim.groundTruth(endpoint)]));
    const comparison = compareWithTruth(await readSyncedRecords(dynamo, ready.dynamodb.dataTable), truth);
    expect({ missing: comparison.missing, extra: comparison.extra, mismatched: comparison.mismatched }).toEqual({ missing: [], extra: [], mismatched: [] });
    const stream = await createStreamReader({ streamArn: ready.dynamodb.streamArn, client: streams }).read();
    const keys = stream.map((r) => `${r.dynamodb?.Keys?.pk?.S}/${r.dynamodb?.Keys?.sk?.S}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(stream.every((r) => r.eventName === 'INSERT')).toBe(true);
    expect(stream.length).toBe(comparison.compared);
    expect(await stopWith('SIGTERM', running, dataDir)).toBe(0);
    expect(running.stdout() + running.stderr()).not.toContain('kill-test-secret');
  }, 420_000);
});

describe('producersync local up --feed: a team\'s change feed, and producer --local', () => {
  let dataDir: string;
  let running: Up | undefined;
  afterAll(async () => {
    if (running?.child.exitCode === null) await stopWith('SIGTERM', running, dataDir);
  });

  it('lists each team queue on the ready line; a backfill reaches them filtered; producer --local answers from the copy', async () => {
    dataDir = join(dir, 'feed');
    running = await up(['--data-dir', dataDir, '--npns', '12', '--seed', '6', '--feed', 'licensing:recordTypes=licenses;everything']);
    const { ready } = running;
    expect(Object.keys(ready.changeFeeds?.queues ?? {}).sort()).toEqual(['everything', 'licensing']);
    expect(ready.changeFeeds?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(JSON.parse(readFileSync(join(dataDir, 'config.json'), 'utf8')).feeds).toEqual({ licensing: { recordTypes: ['licenses'] }, everything: {} });

    const backfill = cli(['backfill', '--local', '--data-dir', dataDir, '--all', '--wait']);
    expect(await backfill.exited, backfill.stderr()).toBe(0);
    const rows = await readSyncedRecords(clients(ready).dynamo, ready.dynamodb.dataTable);
    const { region, accessKeyId, secretAccessKey } = ready.dynamodb;
    const sqs = new SQSClient({ endpoint: ready.changeFeeds!.endpoint, region, credentials: { accessKeyId, secretAccessKey }, useQueueUrlAsEndpoint: false });
    const received: Record<string, Array<{ recordType: string; npn: string }>> = { everything: [], licensing: [] };
    await until('every change on the everything feed', async () => {
      for (const [team, { queueUrl }] of Object.entries(ready.changeFeeds!.queues)) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
        received[team]!.push(...Messages.map((m) => JSON.parse(m.Body!) as { recordType: string; npn: string }));
        if (Messages.length > 0) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
      return received.everything!.length >= rows.length ? true : undefined;
    });
    expect(received.everything!.length).toBe(rows.length);
    expect(received.licensing!.length).toBe(rows.filter((row) => row.type === 'licenses').length);
    expect(received.licensing!.every((event) => event.recordType === 'licenses')).toBe(true);

    // The first active license with an LOA: may its producer sell that line in its state?
    const license = rows.find((row) => row.type === 'licenses' && row.record.active === true && Array.isArray(row.record.licenseLoas) && row.record.licenseLoas.length > 0)!;
    const loa = (license.record.licenseLoas as Array<{ loa: string }>)[0]!.loa;
    const producer = cli(['producer', license.npn, '--local', '--data-dir', dataDir, '--state', String(license.record.forState), '--loa', loa, '--output', 'json']);
    expect(await producer.exited, producer.stderr()).toBe(0);
    const document = JSON.parse(producer.stdout()) as { producer: { npn: string; licensesByState: Array<{ state: string }> }; answer: { allowed: boolean; reason: string; question: { state: string; line: string } } };
    expect(document.producer.npn).toBe(license.npn);
    expect(document.producer.licensesByState.map((g) => g.state)).toEqual([license.record.forState]);
    expect(document.answer.question).toMatchObject({ state: license.record.forState, line: loa });
    expect(document.answer.reason.length).toBeGreaterThan(10);
    expect(await stopWith('SIGTERM', running, dataDir)).toBe(0);
  }, 300_000);
});
