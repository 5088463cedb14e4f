import { parseArgs } from 'node:util';
import { SFNClient } from '@aws-sdk/client-sfn';
import { connectLocalDeployment } from '../local-deployment/connect.ts';
import { resolveDeployed } from '../support/deployed-stack.ts';
import { startAndMaybeWait } from '../support/start-execution.ts';

const HELP = `usage: producersync rerun --run-date YYYY-MM-DD [--wait] [--name NAME] [--state-machine-arn ARN] [--region R] [--local [--data-dir DIR]]

Starts the sync state machine in the deployed account with {"runDate": D}, the same input
you would type in the Step Functions console, and prints the execution's console link.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'run-date': { type: 'string' },
      wait: { type: 'boolean', default: false },
      name: { type: 'string' },
      'state-machine-arn': { type: 'string' },
      region: { type: 'string' },
      local: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return (console.log(HELP), 0);
  const runDate = values['run-date'];
  if (!runDate || !/^\d{4}-\d{2}-\d{2}$/.test(runDate)) {
    console.error(`--run-date YYYY-MM-DD is required\n\n${HELP}`);
    return 2;
  }
  const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
  const deployed = local ?? (await resolveDeployed(['stateMachineArn'], { stateMachineArn: values['state-machine-arn'], region: values.region }));
  return startAndMaybeWait(local?.sfn ?? new SFNClient({ region: deployed.region }), {
    stateMachineArn: deployed.stateMachineArn,
    input: { runDate },
    name: values.name ?? `rerun-${runDate}-${Date.now()}`,
    wait: values.wait,
  });
}
