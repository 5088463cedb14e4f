import { chunked } from '#commons/chunked';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { checkLocalOptions, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { executionOptions } from '../support/execution-options.ts';
import { mergeNpns } from '../support/npn-list.ts';
import { flag, npnFile, npnList, UsageError } from '../support/options.ts';
import { executionTarget, runExecutions } from '../support/start-execution.ts';

const PART_SUFFIX = (i: number): string => `-part-${i + 1}`;

export const command = defineCommand({
  synopsis: '(--npns N1,N2,... | --file FILE | --all) [--wait] [--name NAME] [--state-machine-arn ARN | --local [--data-dir DIR]]',
  description:
    'Starts a full pull (no updatedSince) in the deployment with {"mode":"backfill","npns":[...]} (or {"mode":"backfill"}\n' +
    "with --all) and prints the execution's console link. --npns and --file may be combined; a list longer than\n" +
    `${MAX_BACKFILL_NPNS} NPNs starts one execution per ${MAX_BACKFILL_NPNS}, named NAME-part-1, NAME-part-2, ...\n` +
    'With --local, in the local deployment running on the data directory.',
  options: {
    npns: npnList({ description: 'these NPNs (comma, space or semicolon separated)' }),
    file: npnFile({ description: 'NPNs from FILE ("-" = stdin): one per line, or a CSV with an "npn" column' }),
    all: flag({ description: 'every subscribed NPN' }),
    ...executionOptions,
    ...localOptions,
  },
  deployment: true,
  check(values) {
    checkLocalOptions(values, ['state-machine-arn']);
    const count = mergeNpns(values.npns, values.file).length;
    if (values.all === count > 0) throw new UsageError('give either --all or NPNs (--npns, --file)');
    const parts = Math.ceil(count / MAX_BACKFILL_NPNS);
    if (values.name && parts > 1 && `${values.name}${PART_SUFFIX(parts - 1)}`.length > 80) {
      throw new UsageError(`--name is too long for ${parts} parts: NAME${PART_SUFFIX(parts - 1)} must fit in 80 characters`);
    }
  },
  async run(context) {
    const { values } = context;
    const name = values.name ?? `backfill-${Date.now()}`;
    const parts = chunked(mergeNpns(values.npns, values.file), MAX_BACKFILL_NPNS);
    const executions = values.all
      ? [{ name, input: { mode: 'backfill' } }]
      : parts.map((npns, i) => ({ name: parts.length === 1 ? name : `${name}${PART_SUFFIX(i)}`, input: { mode: 'backfill', npns } }));
    const { reports, exitCode } = await runExecutions(context, await executionTarget(context, values), { executions, wait: values.wait });
    context.result({ executions: reports });
    return exitCode;
  },
});
