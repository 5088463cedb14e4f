/**
 * The deployed app on one machine: synthesizes the CDK app, starts DynamoDB Local, fauxqs, the Secrets
 * Manager shim and the Step Functions API stand-in (running the synthesized state machine with the real
 * sync handlers), provisions the tables, queues and secrets from the templates and points this process at
 * them. Shared by `npm run local` and `producersync sync --local`; stop() ends everything it started,
 * also on Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { secretsClient, sfnClient } from '#commons/clients';
import { logger } from '#commons/logger';
import type { ProducerSyncCredentials } from '#producersync/credentials';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import { freePort, startDynamoDbLocal } from '#local/dynamodb-local';
import { startSqs } from '#local/fauxqs';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { startSecretsManager } from '#local/secrets-manager';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import { loadStateMachine, type LambdaHandler } from '#local/state-machine';
import { resourcesOfType, templatesFromAssembly, type StackTemplate } from '#local/template';
import { loadRun } from '#sync/run-record';
import type { RunRecord } from './run-table.ts';
import { readSyncedRecords, type ExportLine } from './table-export.ts';

export interface LocalStackOptions {
  /** Progress lines ("DynamoDB Local at ..."). */
  log?: (message: string) => void;
}

export interface LocalStackResources {
  dataTable: string;
  dataStreamArn: string;
  controlTable: string;
  eventsQueueUrl: string;
  credentialsSecretArn: string;
  webhookSecretArn: string;
  stateMachineArn: string;
  /** The HTTP API route of the webhook, e.g. `POST /webhooks/psapi`. */
  webhookRouteKey: string;
}

export interface ExecutionOutcome {
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'RUNNING';
  /** `Error: message` of a failed execution (the Lambda error document unwrapped). */
  failure?: string;
  /** The control table's run record, once Finalize has written it. */
  run?: RunRecord;
}

export interface LocalStack {
  readonly resources: LocalStackResources;
  /** Resolved Lambda environments by function id (`WebhookFunction`, `DispatcherFunction`...). */
  readonly functionEnv: ProvisionResult['functionEnv'];
  readonly sfn: SfnApi;
  readonly dynamo: DynamoDBClient;
  /** Writes the ProducerSync client credentials the sync Lambdas read (never logged). */
  putCredentials(credentials: ProducerSyncCredentials): Promise<void>;
  /** StartExecution on the Step Functions stand-in, then waits for the execution to end. */
  runExecution(name: string, input: unknown): Promise<ExecutionOutcome>;
  /** The outcome of an execution started by someone else (the dispatcher), once it has ended. */
  outcomeOf(executionArn: string): Promise<ExecutionOutcome>;
  readRecords(): Promise<ExportLine[]>;
  /** True once Ctrl-C (SIGINT) or SIGTERM began stopping everything: errors from then on are expected. */
  readonly interrupted: boolean;
  /** Stops `stop` too when the stack stops (latest first), e.g. the simulator or the HTTP front. */
  onStop(stop: () => Promise<void>): void;
  stop(): Promise<void>;
}

type SyncPagesModule = typeof import('../../lambdas/sync/sync-pages.ts');
let containers = 0;

/**
 * sync-pages keeps its clients, table names and credentials per container (module instance); a fresh
 * instance per stack is a fresh container, so a second stack in one process never sees the first one's.
 */
async function freshSyncPages(): Promise<SyncPagesModule> {
  const url = new URL('../../lambdas/sync/sync-pages.ts', import.meta.url);
  url.searchParams.set('container', String(++containers));
  return (await import(url.href)) as SyncPagesModule;
}

/** The Powertools JSON logs and EMF metric lines are for CloudWatch; a terminal gets the progress lines instead. */
function quietPowertools(): void {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  if (!process.env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel('WARN');
}

const synthesized = new Map<string, Promise<StackTemplate[]>>();

/**
 * The app's templates, without bundling the Lambdas (the handlers run from source here). Synthesized once
 * per process and CDK_CONTEXT_JSON (the CLI's way to pass context, honoured by the App), since it costs seconds.
 */
function synthesize(): Promise<StackTemplate[]> {
  const key = process.env.CDK_CONTEXT_JSON ?? '';
  let stacks = synthesized.get(key);
  if (!stacks) {
    stacks = import('#lib/app').then(({ buildApp }) => {
      const { app } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
      return templatesFromAssembly(app.synth());
    });
    synthesized.set(key, stacks);
    stacks.catch(() => synthesized.delete(key));
  }
  return stacks;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`The synthesized app has no ${what}`);
  return value;
}

/** `Error: message`, with the Lambda error document `{"errorType","errorMessage"}` unwrapped. */
function describeFailure(error: string | undefined, cause: string | undefined): string {
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // a plain-text cause
  }
  return [error, message].filter(Boolean).join(': ') || 'no error reported';
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
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
  // Without this a Ctrl-C would leave the DynamoDB Local JVM running.
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    log(`${signal}: stopping everything`);
    // Handlers still running fail once their stand-ins are gone; that is not news.
    logger.setLogLevel('SILENT');
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // The JVM starts on the other core while this one synthesizes: spawned before synthesis blocks the event loop.
  // Serial GC: G1's concurrent threads compete with this process for the two cores (measured 48 s vs 60-70 s per 34k writes).
  const dynamoStarting = startDynamoDbLocal({ port: await freePort(), javaOptions: ['-XX:+UseSerialGC'] });
  dynamoStarting.then((service) => stops.push(() => service.stop())).catch(() => undefined);
  try {
    log('synthesizing the CDK app');
    const stacks = await synthesize();
    const [dynamo, secrets, sqs] = await Promise.all([dynamoStarting, startSecretsManager(), startSqs()]);
    stops.push(() => secrets.stop(), () => sqs.stop());
    applyEnv(localAwsEnv({ dynamo: dynamo.endpoint, secrets: secrets.endpoint, sqs: sqs.endpoint }));
    log(`DynamoDB Local ${dynamo.endpoint}, fauxqs ${sqs.endpoint}, Secrets Manager stand-in ${secrets.endpoint}`);

    const provisioned = await provisionFromTemplates(stacks, { prefix: `local-${randomUUID().slice(0, 8)}` });
    const { resources: r, functionEnv } = provisioned;
    const routeKey = resourcesOfType(stacks, 'AWS::ApiGatewayV2::Route')[0]?.resource.Properties?.RouteKey;
    const resources: LocalStackResources = {
      dataTable: required(r.DataTable, 'DataTable').name,
      dataStreamArn: required(r.DataTable?.streamArn, 'DataTable stream'),
      controlTable: required(r.ControlTable, 'ControlTable').name,
      eventsQueueUrl: required(r.EventsQueue?.url, 'EventsQueue'),
      credentialsSecretArn: required(r.ProducerSyncCredentials, 'ProducerSyncCredentials secret').arn,
      webhookSecretArn: required(r.WebhookSigningSecret, 'WebhookSigningSecret').arn,
      stateMachineArn: required(functionEnv.DispatcherFunction?.STATE_MACHINE_ARN, 'DispatcherFunction STATE_MACHINE_ARN'),
      webhookRouteKey: required(typeof routeKey === 'string' ? routeKey : undefined, 'webhook route'),
    };
    // Every handler runs in this process, so each function's environment goes into process.env; they agree on
    // every shared name. NODE_OPTIONS is left out: it is for the Lambda runtime, not for child processes here.
    for (const env of Object.values(functionEnv)) {
      const { NODE_OPTIONS: _runtimeOnly, ...variables } = env;
      Object.assign(process.env, variables);
    }

    const [syncPages, prepare, finalize] = await Promise.all([freshSyncPages(), import('#sync/prepare'), import('#sync/finalize')]);
    const sfn = await startSfnApi({
      stateMachines: { [resources.stateMachineArn]: loadStateMachine(stacks, 'SyncStateMachine', { physical: provisioned.physical }) },
      handlers: {
        PrepareFunction: prepare.handler as LambdaHandler,
        SyncPagesFunction: syncPages.handler as LambdaHandler,
        FinalizeFunction: finalize.handler as LambdaHandler,
      },
      // A 429's Retry-After is honoured, as in AWS; task retries stay immediate.
      waitOverride: 'as-defined',
    });
    stops.push(() => sfn.stop());
    applyEnv(localAwsEnv({ dynamo: dynamo.endpoint, secrets: secrets.endpoint, sqs: sqs.endpoint, sfn: sfn.endpoint }));

    const dynamoClient = new DynamoDBClient({});
    const outcomeOf = async (executionArn: string): Promise<ExecutionOutcome> => {
      await sfn.waitForAll();
      const described = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
      const name = described.name ?? executionArn;
      const run = (await loadRun(dynamoClient, resources.controlTable, name)) as RunRecord | undefined;
      return {
        name,
        status: described.status as ExecutionOutcome['status'],
        ...(described.status === 'SUCCEEDED' ? {} : { failure: describeFailure(described.error, described.cause) }),
        ...(run ? { run } : {}),
      };
    };

    return {
      resources,
      functionEnv,
      sfn,
      dynamo: dynamoClient,
      async putCredentials(credentials) {
        await secretsClient().send(new PutSecretValueCommand({ SecretId: resources.credentialsSecretArn, SecretString: JSON.stringify(credentials) }));
      },
      async runExecution(name, input) {
        const started = await sfnClient().send(
          new StartExecutionCommand({ stateMachineArn: resources.stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return outcomeOf(required(started.executionArn, 'executionArn from StartExecution'));
      },
      outcomeOf,
      readRecords: () => readSyncedRecords(dynamoClient, resources.dataTable),
      get interrupted() {
        return interrupted;
      },
      onStop(stopOne) {
        stops.push(stopOne);
      },
      stop,
    };
  } catch (error) {
    // Whatever failed, the JVM must be registered for stopping before everything stops.
    await dynamoStarting.catch(() => undefined);
    await stop();
    throw error;
  }
}
