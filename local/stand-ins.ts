/**
 * The AWS stand-ins a local run needs, started (or, for DynamoDB Local, attached to) in one call: DynamoDB
 * Local, fauxqs and the Secrets Manager shim, with this process (and the shared SDK clients) pointed at them.
 * The Step Functions API stand-in joins later, once the handlers it runs are loaded.
 */
import { applyEnv, localAwsEnv, type LocalEndpoints } from '#local/aws-env';
import { startDynamoDbLocal, type DynamoDbLocal, type DynamoDbLocalOptions, type LocalService } from '#local/dynamodb-local';
import { startSqs, type SqsOptions } from '#local/fauxqs';
import { startSecretsManager } from '#local/secrets-manager';

export interface StandInsOptions {
  /** An already running DynamoDB Local (the test run's shared one); without it one is started here. */
  dynamoEndpoint?: string;
  /** How the DynamoDB Local started here runs (in memory by default; `dbPath` persists, `isolateNetwork` hides it). */
  dynamo?: DynamoDbLocalOptions;
  /** Start fauxqs in this process (default true), optionally with a journal that keeps the queues across restarts. */
  sqs?: boolean | SqsOptions;
  /** Start the Secrets Manager shim in this process (default true). */
  secrets?: boolean;
}

export interface StandIns {
  readonly endpoints: LocalEndpoints & { dynamo: string };
  /** The DynamoDB Local started here (its process ids, whether it is off the network); absent when attached. */
  readonly dynamoLocal?: DynamoDbLocal;
  /** The variables applied to process.env (handy to pass to a child process). */
  readonly env: Record<string, string>;
  /** Points AWS_ENDPOINT_URL_SFN (and the shared SFN client) at a Step Functions stand-in and stops it with the rest. */
  addSfn(sfn: LocalService): void;
  /** Stops what was started here, latest first (an attached DynamoDB Local keeps running). */
  stop(): Promise<void>;
}

export async function startStandIns(options: StandInsOptions = {}): Promise<StandIns> {
  const started: LocalService[] = [];
  const stopAll = async (): Promise<void> => {
    for (const service of started.splice(0).reverse()) await service.stop().catch(() => undefined);
  };
  const starting = await Promise.allSettled([
    options.dynamoEndpoint ? undefined : startDynamoDbLocal(options.dynamo),
    options.sqs === false ? undefined : startSqs(options.sqs === true || options.sqs === undefined ? {} : options.sqs),
    options.secrets === false ? undefined : startSecretsManager(),
  ]);
  for (const result of starting) if (result.status === 'fulfilled' && result.value) started.push(result.value);
  const failed = starting.find((result) => result.status === 'rejected');
  if (failed) {
    // One of them failed to start: the others must not be left running (a JVM especially).
    await stopAll();
    throw failed.reason;
  }
  const [dynamo, sqs, secrets] = starting.map((result) => (result.status === 'fulfilled' ? result.value : undefined)) as [
    DynamoDbLocal | undefined,
    LocalService | undefined,
    LocalService | undefined,
  ];
  const endpoints: StandIns['endpoints'] = {
    dynamo: options.dynamoEndpoint ?? (dynamo as DynamoDbLocal).endpoint,
    ...(sqs ? { sqs: sqs.endpoint } : {}),
    ...(secrets ? { secrets: secrets.endpoint } : {}),
  };
  let env = localAwsEnv(endpoints);
  applyEnv(env);
  return {
    endpoints,
    ...(dynamo ? { dynamoLocal: dynamo } : {}),
    get env() {
      return env;
    },
    addSfn(sfn) {
      started.push(sfn);
      endpoints.sfn = sfn.endpoint;
      env = localAwsEnv(endpoints);
      applyEnv(env);
    },
    stop: stopAll,
  };
}
