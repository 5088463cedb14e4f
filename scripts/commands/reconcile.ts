import { parseArgs } from 'node:util';
import { SFNClient } from '@aws-sdk/client-sfn';
import { connectLocalDeployment } from '../local-deployment/connect.ts';
import { resolveDeployed } from '../support/deployed-stack.ts';
import { startAndMaybeWait } from '../support/start-execution.ts';

const HELP = `usage: producersync reconcile [--wait] [--name NAME] [--state-machine-arn ARN] [--region R] [--local [--data-dir DIR]]

Starts a reconcile run, {"mode":"reconcile"}: a full pass over every endpoint with the change-only rule, so
only drift is written (the weekly schedule starts the same). --local: in the local deployment running on DIR.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
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
  const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
  const deployed = local ?? (await resolveDeployed(['stateMachineArn'], { stateMachineArn: values['state-machine-arn'], region: values.region }));
  return startAndMaybeWait(local?.sfn ?? new SFNClient({ region: deployed.region }), {
    stateMachineArn: deployed.stateMachineArn,
    input: { mode: 'reconcile' },
    name: values.name ?? `reconcile-${Date.now()}`,
    wait: values.wait,
  });
}
