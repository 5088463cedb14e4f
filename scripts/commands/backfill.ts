import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SFNClient } from '@aws-sdk/client-sfn';
import { resolveDeployed } from '../support/deployed-stack.ts';
import { startAndMaybeWait } from '../support/start-execution.ts';
import { parseNpnList } from '../support/npn-list.ts';

const HELP = `usage: producersync backfill (--npns N1,N2,... | --file F | --all) [--wait] [--name NAME] [--state-machine-arn ARN] [--region R]

Starts a full pull (no updatedSince) in the deployed account with {"mode":"backfill","npns":[...]}
(or {"mode":"backfill"} with --all) and prints the execution's console link.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      npns: { type: 'string' },
      file: { type: 'string' },
      all: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      name: { type: 'string' },
      'state-machine-arn': { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return (console.log(HELP), 0);
  const text = [values.npns ?? '', values.file ? await readFile(values.file, 'utf8') : ''].join('\n');
  const npns = parseNpnList(text);
  if (!values.all && npns.length === 0) {
    console.error(`give --npns, --file or --all\n\n${HELP}`);
    return 2;
  }
  const deployed = await resolveDeployed(['stateMachineArn'], { stateMachineArn: values['state-machine-arn'], region: values.region });
  return startAndMaybeWait(new SFNClient({ region: deployed.region }), {
    stateMachineArn: deployed.stateMachineArn,
    input: values.all ? { mode: 'backfill' } : { mode: 'backfill', npns },
    name: values.name ?? `backfill-${Date.now()}`,
    wait: values.wait,
  });
}
