import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/**
 * Finds what the operator commands need in the deployed account: explicit flags win,
 * then environment variables, then the outputs of the deployed stacks.
 */
export interface DeployedResources {
  stateMachineArn: string;
  controlTableName: string;
  dataTableName: string;
  region: string;
}

type Needed = 'stateMachineArn' | 'controlTableName' | 'dataTableName';

const STACKS = { sync: 'ProducerSyncSync', data: 'ProducerSyncData' } as const;

async function stackOutputs(client: CloudFormationClient, stackName: string): Promise<Record<string, string>> {
  const result = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = result.Stacks?.[0]?.Outputs ?? [];
  return Object.fromEntries(outputs.filter((o) => o.OutputKey && o.OutputValue).map((o) => [o.OutputKey!, o.OutputValue!]));
}

export async function resolveDeployed<K extends Needed>(
  need: readonly K[],
  flags: { stateMachineArn?: string; controlTable?: string; dataTable?: string; region?: string },
): Promise<Pick<DeployedResources, K | 'region'>> {
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  let stateMachineArn = flags.stateMachineArn ?? process.env.PRODUCERSYNC_STATE_MACHINE_ARN;
  let controlTableName = flags.controlTable ?? process.env.PRODUCERSYNC_CONTROL_TABLE;
  let dataTableName = flags.dataTable ?? process.env.PRODUCERSYNC_DATA_TABLE;
  const wants = (k: Needed) => (need as readonly Needed[]).includes(k);
  if ((wants('stateMachineArn') && !stateMachineArn) || (wants('controlTableName') && !controlTableName) || (wants('dataTableName') && !dataTableName)) {
    const cfn = new CloudFormationClient({ region });
    try {
      if (wants('stateMachineArn') && !stateMachineArn) stateMachineArn = (await stackOutputs(cfn, STACKS.sync)).StateMachineArn;
      if (wants('controlTableName') && !controlTableName) controlTableName = (await stackOutputs(cfn, STACKS.data)).ControlTableName;
      if (wants('dataTableName') && !dataTableName) dataTableName = (await stackOutputs(cfn, STACKS.data)).DataTableName;
    } catch (error) {
      throw new Error(
        `could not read the outputs of the deployed stacks (${error instanceof Error ? error.message : String(error)}); ` +
          'pass --state-machine-arn / --control-table or set PRODUCERSYNC_STATE_MACHINE_ARN / PRODUCERSYNC_CONTROL_TABLE',
      );
    }
  }
  if (wants('stateMachineArn') && !stateMachineArn) throw new Error(`stack ${STACKS.sync} has no StateMachineArn output; pass --state-machine-arn`);
  if (wants('controlTableName') && !controlTableName) throw new Error(`stack ${STACKS.data} has no ControlTableName output; pass --control-table`);
  if (wants('dataTableName') && !dataTableName) throw new Error(`stack ${STACKS.data} has no DataTableName output; pass --data-table`);
  return { stateMachineArn: stateMachineArn ?? '', controlTableName: controlTableName ?? '', dataTableName: dataTableName ?? '', region } as Pick<DeployedResources, K | 'region'>;
}

export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3] ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
