/**
 * How operator commands (`runs`, `rerun`, `backfill`, `reconcile`, `export` with `--local [--data-dir DIR]`, and
 * `local send-webhook`) reach the running local deployment of a data directory: the `--local` options and their
 * rules, and the deployment's names and clients pointed at its stand-ins.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { localAwsEnv } from '#local/aws-env';
import { flag, text, UsageError } from '../support/options.ts';
import { dataDir, DEFAULT_DATA_DIR, lockHolder, readJson } from './data-dir.ts';
import type { DeploymentFile } from './up.ts';

/** `--data-dir DIR`: the data directory of a local deployment. */
export const dataDirOption = text({ placeholder: 'DIR', description: `the local deployment's data directory (default ${DEFAULT_DATA_DIR})` });

/** `--local [--data-dir DIR]`, the options of every operator command that can act on the local deployment. */
export const localOptions = {
  local: flag({ description: 'act on the local deployment running on the data directory ("producersync local up") instead of the AWS account' }),
  'data-dir': { ...dataDirOption, description: `with --local: ${dataDirOption.description}` },
};

/** What picks an AWS account's resources, on every deployment command (the common options). */
const DEPLOYED_OPTIONS = ['stage', 'profile', 'region'];

/**
 * The rules of `--local`, for a command's `check`: `--data-dir` only with it, and none of the options that pick
 * the deployed account's resources next to it (`deployed`: the command's own, such as `state-machine-arn`).
 */
export function checkLocalOptions(values: Readonly<Record<string, unknown>>, deployed: readonly string[]): void {
  if (!values.local) {
    if (values['data-dir'] !== undefined) throw new UsageError('--data-dir goes with --local');
    return;
  }
  const given = [...deployed, ...DEPLOYED_OPTIONS].filter((name) => values[name] !== undefined).map((name) => `--${name}`);
  if (given.length > 0) throw new UsageError(`${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} for a deployed account, not for --local (the local deployment of the data directory)`);
}

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
