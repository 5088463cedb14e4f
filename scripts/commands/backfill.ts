import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SFNClient } from '@aws-sdk/client-sfn';
import { connectLocalDeployment } from '../local-deployment/connect.ts';
import { resolveDeployed } from '../support/deployed-stack.ts';
import { startAndMaybeWait } from '../support/start-execution.ts';
import { chunked } from '#commons/chunked';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { parseNpnList } from '../support/npn-list.ts';

const HELP = `usage: producersync backfill (--npns N1,N2,... | --file F | --all) [--wait] [--name NAME] [--state-machine-arn ARN] [--region R] [--local [--data-dir DIR]]

Starts a full pull (no updatedSince) in the deployed account with {"mode":"backfill","npns":[...]}
(or {"mode":"backfill"} with --all) and prints the execution's console link. --npns and --file
(one NPN per line, or a CSV with an "npn" column) may be combined; a list longer than
${MAX_BACKFILL_NPNS} NPNs starts one execution per ${MAX_BACKFILL_NPNS}, named <name>-part-1, -part-2, ...`;

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
      local: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return (console.log(HELP), 0);
  const npns = [...new Set([...parseNpnList(values.npns ?? '', { allowHeader: false }), ...(values.file ? parseNpnList(await readFile(values.file, 'utf8')) : [])])];
  if (values.all === (npns.length > 0)) {
    console.error(`give either --all or NPNs (--npns, --file)\n\n${HELP}`);
    return 2;
  }
  const local = values.local ? connectLocalDeployment(values['data-dir']) : undefined;
  const deployed = local ?? (await resolveDeployed(['stateMachineArn'], { stateMachineArn: values['state-machine-arn'], region: values.region }));
  const sfn = local?.sfn ?? new SFNClient({ region: deployed.region });
  const name = values.name ?? `backfill-${Date.now()}`;
  if (values.all) return startAndMaybeWait(sfn, { stateMachineArn: deployed.stateMachineArn, input: { mode: 'backfill' }, name, wait: values.wait });
  const parts = chunked(npns, MAX_BACKFILL_NPNS);
  let exitCode = 0;
  for (const [i, part] of parts.entries()) {
    const partName = parts.length === 1 ? name : `${name}-part-${i + 1}`;
    const code = await startAndMaybeWait(sfn, { stateMachineArn: deployed.stateMachineArn, input: { mode: 'backfill', npns: part }, name: partName, wait: values.wait });
    exitCode = Math.max(exitCode, code);
  }
  return exitCode;
}
