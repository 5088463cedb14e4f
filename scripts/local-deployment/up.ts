/**
 * `producersync local up`: the local deployment that stays up. The harness with its state in a data directory
 * (DynamoDB Local persisting there, the queue journal, the Step Functions stand-in's executions, the schedules),
 * the HTTP front for the webhook, the pollers, the scheduled actions and, without API flags, the built-in
 * simulator. One JSON line on stdout when ready; everything else on stderr. SIGINT/SIGTERM stop it all and exit
 * 0; started again on the same directory it carries on, runs in flight included.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { localAwsEnv, LOCAL_REGION } from '#local/aws-env';
import { freePort } from '#local/dynamodb-local';
import { newWebhookSecret, startHarness, type LocalHarness, type ProducerSyncApi } from '#local/harness';
import { startSimulator } from '#sim/server';
import { elapsedLog, type Log } from '../support/console-report.ts';
import { acquireLock, dataDir, DEFAULT_DATA_DIR, readJson, readSecretFile, UsageError, writeJson, writeSecret, type DataDir } from './data-dir.ts';

export const UP_HELP = `usage: producersync local up [--data-dir DIR] [--port P] [--npns N] [--seed S]
         [--api-base-url URL --token-url URL --client-id ID (--client-secret S | --client-secret-file F) [--scope SCOPE]]
         [--webhook-secret whsec_... | --webhook-secret-file F]

Runs the app on this machine until Ctrl-C or SIGTERM, its state kept in the data directory (default
${DEFAULT_DATA_DIR}): DynamoDB Local persisting there, the events queue, the synthesized state machine on
the Step Functions stand-in, the HTTP front serving POST /webhooks/psapi, the queue poller and the scheduled
actions. Without API flags it syncs from the built-in simulator (N subscribed NPNs, default 200; seed S,
default 1); with them from that ProducerSync API. Started again on the same directory it carries on.

When ready it prints one JSON line on stdout:
  {"ready":true,"webhookUrl","webhookSecretFile","dynamodb":{"endpoint","region","accessKeyId","secretAccessKey",
   "dataTable","controlTable","streamArn"},"simulatorUrl"}
Progress and logs go to stderr. Every service listens on 127.0.0.1; DynamoDB Local runs in a private network
namespace where the machine allows one (else the line carries a "warnings" entry).

  --port P                 the webhook front's port (default: the one of the first start, else a free one)
  --webhook-secret S       verify deliveries with this Svix secret (whsec_...); default: generated once and kept
  --webhook-secret-file F  the same, read from a file; either way it is written to the data directory (mode 0600)
  --client-secret S        the API client's secret; --client-secret-file F or $PRODUCERSYNC_CLIENT_SECRET keep it
                           out of the process list
Settings not given again on a restart are the data directory's. Exit codes: 0 after Ctrl-C/SIGTERM, 1 if it
could not start, 2 on bad usage or a data directory in use (nothing started).`;

type Source = { kind: 'simulator'; npns: number; seed: number } | { kind: 'api'; apiBaseUrl: string; tokenUrl: string; clientId: string; scope?: string };

/** config.json: what the data directory syncs from (no secret) and the ports of its first start. */
interface Config {
  source: Source;
  ports: { webhook?: number; dynamodb?: number; simulator?: number };
}

/** deployment.json: how operator commands reach the running deployment (`connectLocalDeployment`). */
export interface DeploymentFile {
  pid: number;
  region: string;
  endpoints: { dynamodb: string; sqs: string; secretsManager: string; stepFunctions: string; webhook: string; simulator?: string };
  stateMachineArn: string;
  dataTable: string;
  controlTable: string;
  streamArn: string;
  webhookUrl: string;
  webhookSecretFile: string;
  /** DynamoDB Local's supervisor and JVM (nothing may outlive a stop). */
  pids: { dynamodbSupervisor?: number; dynamodbJava?: number };
  ready: ReadyLine;
}

export interface ReadyLine {
  ready: true;
  webhookUrl: string;
  webhookSecretFile: string;
  dynamodb: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; dataTable: string; controlTable: string; streamArn: string };
  simulatorUrl?: string;
  warnings?: string[];
}

interface UpOptions {
  dir: DataDir;
  port?: number;
  simulator?: { npns?: number; seed?: number };
  api?: ProducerSyncApi;
  webhookSecret?: string;
}

const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

function integer(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

/** The command line as options, or a UsageError naming what is wrong; reads the secret files it names. */
export function parseUpOptions(args: string[], env: NodeJS.ProcessEnv = process.env): UpOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        npns: { type: 'string' },
        seed: { type: 'string' },
        'api-base-url': { type: 'string' },
        'token-url': { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        'client-secret-file': { type: 'string' },
        scope: { type: 'string' },
        'webhook-secret': { type: 'string' },
        'webhook-secret-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const options: UpOptions = { dir: dataDir(values['data-dir'] ?? DEFAULT_DATA_DIR) };
  const port = integer('port', values.port, 1, 65_535);
  if (port !== undefined) options.port = port;

  const apiFlags = (['api-base-url', 'token-url', 'client-id'] as const).filter((name) => values[name] !== undefined);
  if (values['client-secret'] !== undefined && values['client-secret-file'] !== undefined) throw new UsageError('give --client-secret or --client-secret-file, not both');
  const clientSecret =
    values['client-secret-file'] !== undefined ? readSecretFile(values['client-secret-file'], '--client-secret-file') : (values['client-secret'] ?? (apiFlags.length > 0 ? env.PRODUCERSYNC_CLIENT_SECRET : undefined));
  if (apiFlags.length > 0 || values['client-secret'] !== undefined || values['client-secret-file'] !== undefined) {
    const missing = (['api-base-url', 'token-url', 'client-id'] as const).filter((name) => values[name] === undefined).map((name) => `--${name}`);
    if (!clientSecret) missing.push('--client-secret (or --client-secret-file, $PRODUCERSYNC_CLIENT_SECRET)');
    if (missing.length > 0) throw new UsageError(`syncing from an API needs ${missing.join(', ')}`);
    if (values.npns !== undefined || values.seed !== undefined) throw new UsageError('--npns and --seed are for the built-in simulator, not with --api-base-url');
    for (const name of ['api-base-url', 'token-url'] as const) {
      const protocol = URL.parse(values[name] ?? '')?.protocol;
      if (protocol !== 'http:' && protocol !== 'https:') throw new UsageError(`--${name} must be an http(s) URL`);
    }
    options.api = {
      apiBaseUrl: values['api-base-url']!,
      tokenUrl: values['token-url']!,
      clientId: values['client-id']!,
      clientSecret: clientSecret!,
      ...(values.scope ? { scope: values.scope } : {}),
    };
  } else if (values.scope !== undefined) {
    throw new UsageError('--scope goes with --api-base-url');
  } else {
    const npns = integer('npns', values.npns, 1, 1_000_000);
    const seed = integer('seed', values.seed, 0, 2 ** 31);
    if (npns !== undefined || seed !== undefined) options.simulator = { ...(npns !== undefined ? { npns } : {}), ...(seed !== undefined ? { seed } : {}) };
  }

  if (values['webhook-secret'] !== undefined && values['webhook-secret-file'] !== undefined) throw new UsageError('give --webhook-secret or --webhook-secret-file, not both');
  const webhookSecret = values['webhook-secret-file'] !== undefined ? readSecretFile(values['webhook-secret-file'], '--webhook-secret-file') : values['webhook-secret'];
  if (webhookSecret !== undefined) {
    if (!WEBHOOK_SECRET.test(webhookSecret)) throw new UsageError('the webhook secret must be a Svix signing secret: whsec_ followed by base64');
    options.webhookSecret = webhookSecret;
  }
  return options;
}

/** `preferred` if it is free on 127.0.0.1, else any free port (`required`: the user asked for this one). */
async function portFor(preferred: number | undefined, what: string, log: Log, required = false): Promise<number> {
  if (preferred === undefined) return freePort();
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (free) return preferred;
  if (required) throw new Error(`--port ${preferred} is in use on 127.0.0.1`);
  log(`port ${preferred} (${what}, from the last start) is in use: taking another`);
  return freePort();
}

/** Logs each execution when it starts and when it ends (those that ended before this start are history, not news). */
function watchExecutions(harness: LocalHarness, log: Log): () => void {
  const seen = new Map<string, string>();
  const tick = (quiet: boolean): void => {
    for (const e of harness.sfn.executions()) {
      if (seen.get(e.executionArn) === e.status) continue;
      seen.set(e.executionArn, e.status);
      if (e.status === 'RUNNING') log(`${e.name}: RUNNING ${e.input}`);
      else if (!quiet) log(`${e.name}: ${e.status}${e.error ? ` (${e.error})` : ''}`);
    }
  };
  tick(true);
  const timer = setInterval(() => tick(false), 1_000);
  return () => clearInterval(timer);
}

/** Keeps stdout for the ready line alone: every other write (console, Powertools, the simulator) goes to stderr. */
function reserveStdout(): (line: string) => void {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return (line) => void write(`${line}\n`);
}

export async function up(args: string[]): Promise<number> {
  let options: UpOptions | 'help';
  try {
    options = parseUpOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`producersync local up: ${error.message}\n\n${UP_HELP}`);
    return 2;
  }
  if (options === 'help') return (console.log(UP_HELP), 0);
  const { dir } = options;
  try {
    acquireLock(dir);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`producersync local up: ${error.message}`);
    return 2;
  }

  const printReady = reserveStdout();
  const log = elapsedLog(Date.now(), (line) => void process.stderr.write(`${line}\n`));
  const saved = readJson<Config>(dir.config);
  const source: Source = options.api
    ? { kind: 'api', apiBaseUrl: options.api.apiBaseUrl, tokenUrl: options.api.tokenUrl, clientId: options.api.clientId, ...(options.api.scope ? { scope: options.api.scope } : {}) }
    : options.simulator || saved?.source.kind !== 'api'
      ? {
          kind: 'simulator',
          npns: options.simulator?.npns ?? (saved?.source.kind === 'simulator' ? saved.source.npns : 200),
          seed: options.simulator?.seed ?? (saved?.source.kind === 'simulator' ? saved.source.seed : 1),
        }
      : saved.source;
  if (saved && JSON.stringify(saved.source) !== JSON.stringify(source)) log(`data directory ${dir.root} synced from ${JSON.stringify(saved.source)}; from now on ${JSON.stringify(source)}`);

  let harness: LocalHarness | undefined;
  try {
    const ports = {
      webhook: await portFor(options.port ?? saved?.ports.webhook, 'webhook', log, options.port !== undefined),
      dynamodb: await portFor(saved?.ports.dynamodb, 'DynamoDB Local', log),
      simulator: source.kind === 'simulator' ? await portFor(saved?.ports.simulator, 'simulator', log) : undefined,
    };
    log(`data directory ${dir.root}`);
    harness = await startHarness({
      prefix: 'local',
      // Serial GC: G1's concurrent threads compete with this process for the cores.
      dynamo: { dbPath: dir.dynamodb, isolateNetwork: true, port: ports.dynamodb, javaOptions: ['-XX:+UseSerialGC'] },
      sqs: { journal: dir.sqsJournal },
      executionsFile: dir.executions,
      log,
      exitOnSignal: () => 0,
    });
    const { resources, standIns } = harness;

    const webhookSecret = options.webhookSecret ?? readStoredSecret(dir.webhookSecret) ?? newWebhookSecret();
    writeSecret(dir.webhookSecret, webhookSecret);
    const webhookUrl = `http://127.0.0.1:${ports.webhook}${resources.webhookRouteKey.split(' ')[1] ?? '/'}`;

    let api: ProducerSyncApi;
    let simulatorUrl: string | undefined;
    if (source.kind === 'simulator') {
      const sim = await startSimulator({ port: ports.simulator, npns: source.npns, seed: source.seed, webhook: { url: webhookUrl, secret: webhookSecret } });
      harness.onStop(() => sim.close());
      simulatorUrl = sim.url;
      api = { apiBaseUrl: sim.apiBaseUrl, tokenUrl: sim.tokenUrl, clientId: 'local', clientSecret: 'local' };
      log(`simulator ${sim.url}: ${sim.subscribedNpns().length.toLocaleString('en-US')} subscribed NPNs (seed ${source.seed}), today ${sim.today}`);
    } else {
      const clientSecret = options.api?.clientSecret ?? readStoredSecret(dir.clientSecret);
      if (!clientSecret) throw new Error(`no client secret for ${source.apiBaseUrl}: pass --client-secret-file (the data directory has none)`);
      writeSecret(dir.clientSecret, clientSecret);
      api = { apiBaseUrl: source.apiBaseUrl, tokenUrl: source.tokenUrl, clientId: source.clientId, clientSecret, ...(source.scope ? { scope: source.scope } : {}) };
      log(`syncing from ${source.apiBaseUrl}`);
    }
    // Credentials and the signing secret before anything can trigger a sync (queued events, resumed runs, schedules).
    await harness.useProducerSyncApi(api);
    await harness.setWebhookSecret(webhookSecret);
    await harness.startIngest({ port: ports.webhook });
    const stopWatching = watchExecutions(harness, log);
    harness.onStop(async () => stopWatching());
    const resumed = harness.resumeExecutions();
    if (resumed.length > 0) log(`resuming ${resumed.length} run(s) in flight at the last stop: ${resumed.join(', ')}`);
    harness.startSchedules({ stateFile: dir.schedules });
    writeJson(dir.config, { source, ports } satisfies Config);

    const aws = localAwsEnv({});
    const dynamoLocal = standIns.dynamoLocal;
    const ready: ReadyLine = {
      ready: true,
      webhookUrl,
      webhookSecretFile: dir.webhookSecret,
      dynamodb: {
        endpoint: standIns.endpoints.dynamo,
        region: LOCAL_REGION,
        accessKeyId: aws.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: aws.AWS_SECRET_ACCESS_KEY ?? '',
        dataTable: resources.dataTable,
        controlTable: resources.controlTable,
        streamArn: resources.dataStreamArn,
      },
      ...(simulatorUrl ? { simulatorUrl } : {}),
      ...(dynamoLocal?.warning ? { warnings: [dynamoLocal.warning] } : {}),
    };
    writeJson(dir.deployment, {
      pid: process.pid,
      region: LOCAL_REGION,
      endpoints: {
        dynamodb: standIns.endpoints.dynamo,
        sqs: standIns.endpoints.sqs ?? '',
        secretsManager: standIns.endpoints.secrets ?? '',
        stepFunctions: standIns.endpoints.sfn ?? '',
        webhook: webhookUrl,
        ...(simulatorUrl ? { simulator: simulatorUrl } : {}),
      },
      stateMachineArn: resources.stateMachineArn,
      dataTable: resources.dataTable,
      controlTable: resources.controlTable,
      streamArn: resources.dataStreamArn,
      webhookUrl,
      webhookSecretFile: dir.webhookSecret,
      pids: { dynamodbSupervisor: dynamoLocal?.pids.supervisor, dynamodbJava: dynamoLocal?.pids.java },
      ready,
    } satisfies DeploymentFile);
    log(`ready: webhook ${webhookUrl}, DynamoDB ${standIns.endpoints.dynamo}${dynamoLocal?.isolated ? ' (in its own network namespace)' : ''}`);
    printReady(JSON.stringify(ready));
  } catch (error) {
    if (harness?.interrupted) return 0;
    log(`could not start: ${error instanceof Error ? error.message : String(error)}`);
    await harness?.stop();
    return 1;
  }
  // Runs until SIGINT/SIGTERM: the harness stops everything and exits 0.
  return new Promise<number>(() => undefined);
}

function readStoredSecret(path: string): string | undefined {
  try {
    return readSecretFile(path, 'secret file');
  } catch {
    return undefined;
  }
}
