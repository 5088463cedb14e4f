import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { AwsClientConfig } from './aws-config.ts';
import type { CliIo } from './cli-io.ts';
import type { DeploymentTarget } from './command.ts';

/**
 * Finds what the operator commands need in the deployed account. In order: the explicit flag
 * (`--state-machine-arn`), then with `--stage` the outputs of that stage's stacks, then the
 * environment variable, then the outputs of the unstaged deployment's stacks. An explicit stage
 * wins over a variable, as every flag wins over the environment.
 */
export interface DeployedLookup {
  readonly aws: AwsClientConfig;
  readonly deployment: DeploymentTarget;
  readonly io: CliIo;
}

interface Wanted {
  flag: string | undefined;
  flagName: string;
  envName: string;
  stack: keyof DeploymentTarget['names']['stacks'];
  output: string;
}

async function resolveDeployed(lookup: DeployedLookup, wanted: Wanted): Promise<string> {
  if (wanted.flag) return wanted.flag;
  const fromEnv = lookup.io.env[wanted.envName];
  if (fromEnv && !lookup.deployment.staged) return fromEnv;
  const stackName = lookup.deployment.names.stacks[wanted.stack];
  let outputs;
  try {
    const result = await new CloudFormationClient({ ...lookup.aws }).send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = result.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`could not read the outputs of stack ${stackName} (${reason}); pass ${wanted.flagName} or set ${wanted.envName}`, { cause: error });
  }
  const value = outputs.find((o) => o.OutputKey === wanted.output)?.OutputValue;
  if (!value) throw new Error(`stack ${stackName} has no ${wanted.output} output; pass ${wanted.flagName}`);
  return value;
}

export const resolveStateMachineArn = (lookup: DeployedLookup, flag: string | undefined): Promise<string> =>
  resolveDeployed(lookup, { flag, flagName: '--state-machine-arn', envName: 'PRODUCERSYNC_STATE_MACHINE_ARN', stack: 'sync', output: 'StateMachineArn' });

export const resolveControlTable = (lookup: DeployedLookup, flag: string | undefined): Promise<string> =>
  resolveDeployed(lookup, { flag, flagName: '--control-table', envName: 'PRODUCERSYNC_CONTROL_TABLE', stack: 'data', output: 'ControlTableName' });

export const resolveDataTable = (lookup: DeployedLookup, flag: string | undefined): Promise<string> =>
  resolveDeployed(lookup, { flag, flagName: '--data-table', envName: 'PRODUCERSYNC_DATA_TABLE', stack: 'data', output: 'DataTableName' });

/** `arn:aws:states:us-east-1:123456789012:stateMachine:ProducerSync-Sync` */
export const STATE_MACHINE_ARN_PATTERN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
