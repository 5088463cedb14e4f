/**
 * How operator commands (`runs`, `rerun`, `backfill`, `reconcile`, `export`, `local send-webhook` with
 * `--local [--data-dir DIR]`) reach the running local deployment of a data directory: its names and clients
 * pointed at its stand-ins.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { localAwsEnv } from '#local/aws-env';
import { dataDir, DEFAULT_DATA_DIR, lockHolder, readJson, UsageError } from './data-dir.ts';
import type { DeploymentFile } from './up.ts';

export interface LocalDeployment {
  dataDir: string;
  region: string;
  stateMachineArn: string;
  /** The names operator commands use (as resolveDeployed() returns them for an account). */
  controlTableName: string;
  dataTableName: string;
  streamArn: string;
  webhookUrl: string;
  webhookSecretFile: string;
  dynamo: DynamoDBClient;
  sfn: SFNClient;
}

/** The running local deployment of `dir` (default .producersync/local), or a UsageError saying how to start one. */
export function connectLocalDeployment(dir: string = DEFAULT_DATA_DIR): LocalDeployment {
  const paths = dataDir(dir);
  const deployment = readJson<DeploymentFile>(paths.deployment);
  const holder = lockHolder(paths);
  if (!deployment || holder === undefined || holder !== deployment.pid) {
    throw new UsageError(`no local deployment is running on ${paths.root}: start one with "npx producersync local up --data-dir ${dir}"`);
  }
  const env = localAwsEnv({});
  const client = { region: deployment.region, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' } };
  return {
    dataDir: paths.root,
    region: deployment.region,
    stateMachineArn: deployment.stateMachineArn,
    controlTableName: deployment.controlTable,
    dataTableName: deployment.dataTable,
    streamArn: deployment.streamArn,
    webhookUrl: deployment.webhookUrl,
    webhookSecretFile: deployment.webhookSecretFile,
    dynamo: new DynamoDBClient({ ...client, endpoint: deployment.endpoints.dynamodb }),
    sfn: new SFNClient({ ...client, endpoint: deployment.endpoints.stepFunctions }),
  };
}
