/**
 * `producersync local up`: the local deployment that stays up. The harness with its state in a data directory
 * (DynamoDB Local persisting there, the queue journal, the Step Functions stand-in's executions, the schedules),
 * the HTTP front for the webhook, the pollers, the scheduled actions and, without API flags, the built-in
 * simulator. One JSON line on stdout when ready; everything else on stderr. SIGINT/SIGTERM stop it all and exit
 * 0; started again on the same directory it carries on, runs in flight included.
 */
import { createServer } from 'node:net';
import { localAwsEnv, LOCAL_REGION } from '#local/aws-env';
import { freePort } from '#local/dynamodb-local';
import type { LocalHarness, ProducerSyncApi } from '#local/harness';
import { defineCommand } from '../support/command.ts';
import { elapsedLog, type Log } from '../support/console-report.ts';
import { credentialFlags, credentialsFrom, missingCredentials } from '../support/credential-options.ts';
import { integer, secret, text, UsageError } from '../support/options.ts';
import type { FeedFilter } from '#feed/feed-filter';
import { dataDirOption } from './connect.ts';
import { acquireLock, dataDir, readJson, readSecretFile, writeJson, writeSecret } from './data-dir.ts';
import { parseFeedSpec } from './feed-spec.ts';

type Source = { kind: 'simulator'; npns: number; seed: number } | { kind: 'api'; apiBaseUrl: string; tokenUrl: string; clientId: string; scope?: string };

/** config.json: what the data directory syncs from (no secret), the ports of its first start, its change feeds. */
interface Config {
  source: Source;
  ports: { webhook?: number; dynamodb?: number; simulator?: number };
  /** The teams' change feeds (`--feed`), kept for the next start. */
  feeds?: Record<string, FeedFilter>;
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
  /** With `--feed`: where each team's queue is (fauxqs, same region and credentials as `dynamodb`). */
  changeFeeds?: { endpoint: string; queues: Record<string, { queueUrl: string; deadLetterQueueUrl: string }> };
  warnings?: string[];
}

const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
const DEFAULT_NPNS = 200;
const DEFAULT_SEED = 1;

/** Any of these switches from the built-in simulator to an API. */
const API_OPTIONS = Object.keys(credentialFlags) as Array<keyof typeof credentialFlags>;

const options = {
  'data-dir': dataDirOption,
  port: integer({ placeholder: 'P', min: 1, max: 65_535, description: "the webhook front's port on 127.0.0.1 (default: the one of the first start, else a free one)" }),
  npns: integer({ min: 1, max: 1_000_000, description: `the built-in simulator's subscribed NPNs (default ${DEFAULT_NPNS}, or the data directory's)` }),
  seed: integer({ min: 0, max: 2 ** 31, description: `the built-in simulator's seed (default ${DEFAULT_SEED}, or the data directory's)` }),
  ...credentialFlags,
  'client-secret': { ...credentialFlags['client-secret'], description: 'the OAuth client secret (prefer --client-secret-file: flags show in the process list); kept in the data directory, mode 0600' },
  'webhook-secret': secret({
    placeholder: 'whsec_...',
    rule: { test: (v) => WEBHOOK_SECRET.test(v), expected: 'a Svix signing secret: whsec_ followed by base64' },
    description: 'verify deliveries with this Svix secret (default: generated at the first start); kept in the data directory, mode 0600',
  }),
  feed: text({
    placeholder: 'SPEC',
    description:
      'teams\' change feeds, as pipeline.addChangeFeed takes them: NAME[:recordTypes=A,B,states=TX,npns=N];NAME2... ' +
      "(default: the data directory's; local/README.md)",
  }),
};

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

/**
 * Keeps this process's stdout for the ready line alone: every other write (console, Powertools, the simulator)
 * goes to stderr; `writeThrough` lets the ready line's write through.
 */
function reserveStdout(): { writeThrough(write: () => void): void } {
  const original = process.stdout.write;
  const toStderr = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  process.stdout.write = toStderr;
  return {
    writeThrough(write) {
      process.stdout.write = original;
      try {
        write();
      } finally {
        process.stdout.write = toStderr;
      }
    },
  };
}

export const command = defineCommand({
  summary: 'run the app on this machine until Ctrl-C, its state kept in a data directory',
  synopsis:
    '[--data-dir DIR] [--port P] [--npns N] [--seed S] [--api-base-url URL --token-url URL --client-id ID --client-secret S [--scope S]] [--webhook-secret whsec_...] [--feed SPEC]',
  description:
    'Runs the app on this machine until Ctrl-C or SIGTERM, its state kept in the data directory: DynamoDB Local\n' +
    'persisting there, the events queue, the synthesized state machine on the Step Functions stand-in, the HTTP front\n' +
    'serving POST /webhooks/psapi, the queue poller and the scheduled actions. Without API options it syncs from the\n' +
    'built-in simulator; with them from that ProducerSync API. Started again on the same directory it carries on, runs\n' +
    "in flight included; settings not given again are the directory's.\n\n" +
    'When ready it prints one JSON line on stdout (also with --output json):\n' +
    '  {"ready":true,"webhookUrl","webhookSecretFile","dynamodb":{"endpoint","region","accessKeyId","secretAccessKey",\n' +
    '   "dataTable","controlTable","streamArn"},"simulatorUrl","changeFeeds":{"endpoint","queues":{NAME:{"queueUrl",\n' +
    '   "deadLetterQueueUrl"}}}}   (changeFeeds with --feed: each team\'s SQS FIFO queue, docs/STREAM-CONTRACT.md §7)\n' +
    'Progress and logs go to stderr. Every service listens on 127.0.0.1; DynamoDB Local runs in a private network\n' +
    'namespace where the machine allows one (else the line carries a "warnings" entry). Exit codes: 0 after\n' +
    'Ctrl-C/SIGTERM, 1 if it could not start, 2 on bad usage or a data directory in use (nothing started).',
  options,
  jsonLine: true,
  check(values) {
    if (values.feed !== undefined) parseFeedSpec(values.feed);
    if (!API_OPTIONS.some((name) => values[name] !== undefined)) return;
    const missing = missingCredentials(values);
    if (missing.length > 0) throw new UsageError(`syncing from an API needs ${missing.join(', ')}`);
    if (values.npns !== undefined || values.seed !== undefined) throw new UsageError('--npns and --seed are for the built-in simulator, not with --api-base-url');
  },
  async run(context) {
    const { values } = context;
    const dir = dataDir(values['data-dir']);
    // Before anything starts: a directory in use is a usage error (exit 2).
    acquireLock(dir);
    const stdout = reserveStdout();
    const log = elapsedLog(Date.now(), context.log);
    const given = API_OPTIONS.some((name) => values[name] !== undefined) ? credentialsFrom(values) : undefined;
    const saved = readJson<Config>(dir.config);
    const source: Source = given
      ? { kind: 'api', apiBaseUrl: given.apiBaseUrl, tokenUrl: given.tokenUrl, clientId: given.clientId, ...(given.scope ? { scope: given.scope } : {}) }
      : values.npns !== undefined || values.seed !== undefined || saved?.source.kind !== 'api'
        ? {
            kind: 'simulator',
            npns: values.npns ?? (saved?.source.kind === 'simulator' ? saved.source.npns : DEFAULT_NPNS),
            seed: values.seed ?? (saved?.source.kind === 'simulator' ? saved.source.seed : DEFAULT_SEED),
          }
        : saved.source;
    if (saved && JSON.stringify(saved.source) !== JSON.stringify(source)) log(`data directory ${dir.root} synced from ${JSON.stringify(saved.source)}; from now on ${JSON.stringify(source)}`);
    const feeds = values.feed !== undefined ? parseFeedSpec(values.feed) : (saved?.feeds ?? {});
    if (Object.keys(feeds).length > 0) {
      // The app synthesizes its feeds from context, as `cdk deploy -c producersync:changeFeeds=...` does.
      const context = JSON.parse(process.env.CDK_CONTEXT_JSON ?? '{}') as Record<string, unknown>;
      process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...context, 'producersync:changeFeeds': feeds });
      log(`change feeds: ${Object.entries(feeds).map(([team, filter]) => `${team} ${JSON.stringify(filter)}`).join('; ')}`);
    }

    // Loaded here, not at the top: the usage and its errors need none of the harness.
    const [{ newWebhookSecret, startHarness }, { startSimulator }, { changeFeedQueues }] = await Promise.all([
      import('#local/harness'),
      import('#sim/server'),
      import('#local/change-feeds'),
    ]);
    let harness: LocalHarness | undefined;
    try {
      const ports = {
        webhook: await portFor(values.port ?? saved?.ports.webhook, 'webhook', log, values.port !== undefined),
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

      const webhookSecret = values['webhook-secret'] ?? readStoredSecret(dir.webhookSecret) ?? newWebhookSecret();
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
        const clientSecret = given?.clientSecret ?? readStoredSecret(dir.clientSecret);
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
      writeJson(dir.config, { source, ports, ...(Object.keys(feeds).length > 0 ? { feeds } : {}) } satisfies Config);
      const teamQueues = changeFeedQueues(harness.stacks, harness.provisioned);

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
        ...(Object.keys(teamQueues).length > 0
          ? {
              changeFeeds: {
                endpoint: standIns.endpoints.sqs ?? '',
                queues: Object.fromEntries(Object.entries(teamQueues).map(([team, q]) => [team, { queueUrl: q.queueUrl, deadLetterQueueUrl: q.deadLetterQueueUrl }])),
              },
            }
          : {}),
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
      stdout.writeThrough(() => context.result(ready, JSON.stringify(ready)));
    } catch (error) {
      if (harness?.interrupted) return 0;
      await harness?.stop();
      throw error;
    }
    // Runs until SIGINT/SIGTERM: the harness stops everything and exits 0.
    return new Promise<number>(() => undefined);
  },
});

function readStoredSecret(path: string): string | undefined {
  try {
    return readSecretFile(path, 'secret file');
  } catch {
    return undefined;
  }
}
