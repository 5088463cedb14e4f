/**
 * The local harness: the app deployed on this machine. It starts the stand-ins, takes the synthesized templates
 * (synthesized once, cached), provisions every table, queue and secret from them, loads the real handlers through
 * the one function map, runs every synthesized state machine on the Step Functions API stand-in and, on request,
 * starts what triggers the functions in AWS (the HTTP API front, the event source mappings) and follows the data
 * table's stream. `npm run local`, `producersync sync --local`, `producersync local up`, the tests and the
 * benchmarks all stand on it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBRecord } from 'aws-lambda';
import { secretsClient, sfnClient } from '#commons/clients';
import { logger } from '#commons/logger';
import { handlerFor, loadHandlers, FUNCTION_IDS, type HandlerMap } from '#local/handlers';
import { startHttpFront, type HttpHandler } from '#local/http-front';
import { pollQueue, pollStream, type Poller, type SqsHandler, type StreamHandler } from '#local/pollers';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { startScheduler, type Scheduler } from '#local/schedules';
import { startSfnApi, type ExecutionRecord, type SfnApi } from '#local/sfn-api';
import { startStandIns, type StandIns, type StandInsOptions } from '#local/stand-ins';
import { loadStateMachine, type Asl } from '#local/state-machine';
import { appTemplates } from '#local/synth';
import { resourcesOfType, type StackTemplate } from '#local/template';
import { eventSourceMappings, httpRoutes, scheduleRules } from '#local/wiring';
import { URL_VARIABLES } from '#producersync/credentials';

export interface HarnessOptions extends StandInsOptions {
  /** Physical names are `<prefix>-<ConstructId>`; default a fresh `local-<random>` (a throw-away deployment). */
  prefix?: string;
  /** The templates to deploy; default the real app (appTemplates()). */
  stacks?: StackTemplate[];
  /** Handlers by function id that replace the real ones (a test wrapping the sync engine). */
  handlers?: HandlerMap;
  /** Variables set on top of the synthesized function environments (every handler runs in this process). */
  environment?: Record<string, string>;
  /** What each Wait state waits: `'as-defined'` (default: a 429's Retry-After is honoured, as in AWS) or milliseconds. */
  waitOverride?: number | 'as-defined';
  /** Keep the Step Functions stand-in's execution records in this file; `resumeExecutions()` runs the unfinished ones again. */
  executionsFile?: string;
  /** Progress lines ("DynamoDB Local at ..."). */
  log?: (message: string) => void;
  /**
   * Stop everything on SIGINT/SIGTERM and exit with the code this returns (without it a Ctrl-C would leave the
   * DynamoDB Local JVM running). Default: no signal handling (tests).
   */
  exitOnSignal?: (signal: NodeJS.Signals) => number;
}

/** The provisioned resources the local runs address by name. */
export interface LocalResources {
  dataTable: string;
  dataStreamArn: string;
  controlTable: string;
  eventsQueueUrl: string;
  deadLetterQueueUrl: string;
  credentialsSecretArn: string;
  webhookSecretArn: string;
  stateMachineArn: string;
  /** The HTTP API route of the webhook, e.g. `POST /webhooks/psapi`. */
  webhookRouteKey: string;
}

/** Where the sync pulls from: the simulator, the real sandbox or any ProducerSync-compatible server. */
export interface ProducerSyncApi {
  apiBaseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

export interface Ingest {
  /** The HTTP API front's base URL (`http://127.0.0.1:PORT`). */
  readonly endpoint: string;
  /** Where AgentSync delivers webhooks: the front's URL of the route served by the webhook function. */
  readonly webhookUrl: string;
}

export interface LocalHarness {
  readonly stacks: StackTemplate[];
  readonly provisioned: ProvisionResult;
  readonly resources: LocalResources;
  /** Resolved Lambda environments by function id, overrides applied. */
  readonly functionEnv: ProvisionResult['functionEnv'];
  readonly standIns: StandIns;
  readonly sfn: SfnApi;
  readonly dynamo: DynamoDBClient;
  readonly handlers: HandlerMap;
  /** Credentials into the credentials secret, the API URLs into the sync function's environment (never logged). */
  useProducerSyncApi(api: ProducerSyncApi): Promise<void>;
  /** The Svix signing secret the webhook function verifies deliveries with. */
  setWebhookSecret(secret: string): Promise<void>;
  /** Starts the HTTP API front (every route of the templates) and the event source mappings' pollers. */
  startIngest(options?: { port?: number }): Promise<Ingest>;
  /**
   * Hands every data-table change from now on (or from the horizon) to `onChanges`, in stream order. Resolves once
   * the reader holds its shard iterators. From `LATEST`, call it once the table has items: DynamoDB Local fails a
   * LATEST iterator taken on a still empty shard as soon as the first record arrives (the reader recovers from
   * the start of the shard).
   */
  followChanges(onChanges: (records: DynamoDBRecord[]) => void | Promise<void>, options?: { startingPosition?: 'LATEST' | 'TRIM_HORIZON' }): Promise<void>;
  /** Runs the EventBridge schedules of the templates (each rule's target with its input); `stateFile` keeps their next firings. */
  startSchedules(options?: { stateFile?: string }): Scheduler;
  /** Runs again, under their own names, the executions the executions file holds as RUNNING (see SfnApi.resumeStored). */
  resumeExecutions(): string[];
  /** StartExecution on the Step Functions stand-in; returns the execution ARN. */
  startExecution(name: string, input: unknown, stateMachineArn?: string): Promise<string>;
  /** The execution once it has ended. */
  waitForExecution(executionArn: string): Promise<ExecutionRecord>;
  /** Resolves once every queued event is handled, every execution has ended and the followed stream is read to its end. */
  settle(timeoutMs?: number): Promise<void>;
  /** True once SIGINT/SIGTERM began stopping everything: errors from then on are expected. */
  readonly interrupted: boolean;
  /** Stops `stop` too when the harness stops (latest first), e.g. the simulator. */
  onStop(stop: () => Promise<void>): void;
  stop(): Promise<void>;
}

/** The Powertools JSON logs and EMF metric lines are for CloudWatch; a terminal gets progress lines instead. */
function quietPowertools(): void {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  if (!process.env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel('WARN');
}

/** A fresh Svix signing secret (`whsec_` + standard base64 of 24 random bytes, as the portal issues them). */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`The synthesized app has no ${what}`);
  return value;
}

/** The named resources of the real app, as provisioned. */
function localResources(stacks: StackTemplate[], provisioned: ProvisionResult): LocalResources {
  const { resources: r, functionEnv } = provisioned;
  const routeKey = httpRoutes(stacks, provisioned).find((route) => route.functionId === 'WebhookFunction')?.routeKey;
  return {
    dataTable: required(r.DataTable, 'DataTable').name,
    dataStreamArn: required(r.DataTable?.streamArn, 'DataTable stream'),
    controlTable: required(r.ControlTable, 'ControlTable').name,
    eventsQueueUrl: required(r.EventsQueue?.url, 'EventsQueue'),
    deadLetterQueueUrl: required(r.EventsDeadLetterQueue?.url, 'EventsDeadLetterQueue'),
    credentialsSecretArn: required(r.ProducerSyncCredentials, 'ProducerSyncCredentials secret').arn,
    webhookSecretArn: required(r.WebhookSigningSecret, 'WebhookSigningSecret').arn,
    stateMachineArn: required(functionEnv.DispatcherFunction?.STATE_MACHINE_ARN, 'DispatcherFunction STATE_MACHINE_ARN'),
    webhookRouteKey: required(routeKey, 'HTTP route to the WebhookFunction'),
  };
}

/**
 * Every handler runs in this process, so every function's environment goes into process.env; the functions agree
 * on every name they share. NODE_OPTIONS is the Lambda runtime's, not this process's children's; the service name
 * is per function in AWS, and one in-process logger cannot honour it.
 */
function applyFunctionEnvironments(functionEnv: ProvisionResult['functionEnv'], overrides: Record<string, string>): void {
  for (const [id, env] of Object.entries(functionEnv)) {
    const { NODE_OPTIONS: _runtimeOnly, POWERTOOLS_SERVICE_NAME: _perFunction, ...variables } = env;
    Object.assign(process.env, variables);
    functionEnv[id] = { ...env, ...overrides };
  }
  Object.assign(process.env, overrides);
}

export async function startHarness(options: HarnessOptions = {}): Promise<LocalHarness> {
  const log = options.log ?? (() => undefined);
  quietPowertools();
  const stops: Array<() => Promise<void>> = [];
  let interrupted = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const stopOne of stops.splice(0).reverse()) await stopOne().catch(() => undefined);
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    log(`${signal}: stopping everything`);
    // Handlers still running fail once their stand-ins are gone; that is not news.
    logger.setLogLevel('SILENT');
    void stop().finally(() => process.exit(options.exitOnSignal?.(signal) ?? 1));
  };
  if (options.exitOnSignal) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  // The JVM starts on the other core while this one synthesizes (a cache miss blocks the event loop for seconds).
  const standInsStarting = startStandIns(options);
  standInsStarting.then((s) => stops.push(() => s.stop())).catch(() => undefined);
  try {
    log('synthesizing the CDK app');
    const stacks = options.stacks ?? (await appTemplates());
    const standIns = await standInsStarting;
    const { endpoints } = standIns;
    log(`DynamoDB Local ${endpoints.dynamo}, fauxqs ${endpoints.sqs ?? '-'}, Secrets Manager stand-in ${endpoints.secrets ?? '-'}`);

    const provisioned = await provisionFromTemplates(stacks, { prefix: options.prefix ?? `local-${randomUUID().slice(0, 8)}` });
    const resources = localResources(stacks, provisioned);
    const functionEnv = provisioned.functionEnv;
    applyFunctionEnvironments(functionEnv, options.environment ?? {});

    const handlers: HandlerMap = { ...(await loadHandlers(FUNCTION_IDS, { freshContainers: true })), ...options.handlers };
    const stateMachines: Record<string, Asl> = {};
    for (const { constructId } of resourcesOfType(stacks, 'AWS::StepFunctions::StateMachine')) {
      const arn = required(provisioned.resources[constructId]?.arn, `state machine ${constructId}`);
      stateMachines[arn] = loadStateMachine(stacks, constructId, { physical: provisioned.physical });
    }
    const sfn = await startSfnApi({
      stateMachines,
      handlers,
      waitOverride: options.waitOverride ?? 'as-defined',
      ...(options.executionsFile ? { storeFile: options.executionsFile } : {}),
    });
    standIns.addSfn(sfn);

    const dynamo = new DynamoDBClient({});
    const pollers: Poller[] = [];
    const followers: Poller[] = [];
    stops.push(async () => {
      await Promise.all([...pollers.splice(0), ...followers.splice(0)].map((p) => p.stop()));
    });

    const putSecret = async (secretId: string, value: string): Promise<void> => {
      await secretsClient().send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
    };

    return {
      stacks,
      provisioned,
      resources,
      functionEnv,
      standIns,
      sfn,
      dynamo,
      handlers,
      async useProducerSyncApi(api) {
        const { apiBaseUrl, tokenUrl, clientId, clientSecret, scope } = api;
        // The secret holds the client credentials only; the deployment gives sync-pages its API URLs in these two
        // variables (CONTRACTS §1), and locally they point at the chosen API.
        await putSecret(resources.credentialsSecretArn, JSON.stringify({ clientId, clientSecret, ...(scope ? { scope } : {}) }));
        const urls = { [URL_VARIABLES.apiBaseUrl]: apiBaseUrl, [URL_VARIABLES.tokenUrl]: tokenUrl };
        if (functionEnv.SyncPagesFunction) Object.assign(functionEnv.SyncPagesFunction, urls);
        Object.assign(process.env, urls);
      },
      setWebhookSecret: (secret) => putSecret(resources.webhookSecretArn, secret),
      async startIngest(ingestOptions = {}) {
        const routes: Record<string, HttpHandler> = {};
        for (const route of httpRoutes(stacks, provisioned)) {
          routes[route.routeKey] = handlerFor(handlers, route.functionId, `route ${route.routeKey}`) as HttpHandler;
        }
        const front = await startHttpFront({ routes, ...ingestOptions });
        stops.push(() => front.stop());
        for (const mapping of eventSourceMappings(stacks, provisioned)) {
          const handler = handlerFor(handlers, mapping.functionId, 'event source mapping');
          const source = mapping.source;
          pollers.push(
            source.kind === 'sqs'
              ? pollQueue({
                  queueUrl: source.queueUrl,
                  handler: handler as SqsHandler,
                  reportBatchItemFailures: mapping.reportBatchItemFailures,
                  ...(mapping.batchSize ? { batchSize: mapping.batchSize } : {}),
                })
              : pollStream({
                  streamArn: source.streamArn,
                  handler: handler as StreamHandler,
                  ...(mapping.startingPosition ? { startingPosition: mapping.startingPosition } : {}),
                  ...(mapping.batchSize ? { batchSize: mapping.batchSize } : {}),
                  ...(mapping.maximumRetryAttempts !== undefined ? { maxRetries: mapping.maximumRetryAttempts } : {}),
                  ...(mapping.filter ? { filter: mapping.filter } : {}),
                }),
          );
        }
        const path = resources.webhookRouteKey.split(' ')[1] ?? '/';
        return { endpoint: front.endpoint, webhookUrl: `${front.endpoint}${path}` };
      },
      async followChanges(onChanges, followOptions = {}) {
        const follower = pollStream({
          streamArn: resources.dataStreamArn,
          startingPosition: followOptions.startingPosition ?? 'LATEST',
          handler: async (event) => {
            await onChanges(event.Records);
          },
        });
        followers.push(follower);
        // The first idle poll has taken the shard iterators, so every later change is seen.
        await follower.drain(30_000);
      },
      startSchedules(scheduleOptions = {}) {
        const scheduler = startScheduler({ rules: scheduleRules(stacks, provisioned), handlers, log, ...scheduleOptions });
        stops.push(() => scheduler.stop());
        return scheduler;
      },
      resumeExecutions: () => sfn.resumeStored(),
      async startExecution(name, input, stateMachineArn = resources.stateMachineArn) {
        const started = await sfnClient().send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return required(started.executionArn, 'executionArn from StartExecution');
      },
      waitForExecution: (executionArn) => sfn.waitFor(executionArn),
      async settle(timeoutMs = 120_000) {
        await Promise.all(pollers.map((p) => p.drain(timeoutMs)));
        await sfn.waitForAll();
        await Promise.all(followers.map((p) => p.drain(timeoutMs)));
      },
      get interrupted() {
        return interrupted;
      },
      onStop(stopOne) {
        stops.push(stopOne);
      },
      stop,
    };
  } catch (error) {
    // Whatever failed, the stand-ins (the JVM) must be registered for stopping before everything stops.
    await standInsStarting.catch(() => undefined);
    await stop();
    throw error;
  }
}
