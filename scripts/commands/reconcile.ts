import { checkLocalOptions, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { executionOptions } from '../support/execution-options.ts';
import { executionTarget, runExecutions } from '../support/start-execution.ts';

export const command = defineCommand({
  description:
    'Starts a reconcile run, {"mode":"reconcile"}: a full pass over every endpoint with the change-only rule, so only\n' +
    'drift is written (the weekly schedule starts the same), and prints the execution\'s console link. With --local, in\n' +
    'the local deployment running on the data directory. Until the sync engine implements reconcile runs (phase 2,\n' +
    'issue 12), such a run fails at once with InvalidInput.',
  options: {
    ...executionOptions,
    ...localOptions,
  },
  deployment: true,
  check: (values) => checkLocalOptions(values, ['state-machine-arn']),
  async run(context) {
    const { values } = context;
    const { reports, exitCode } = await runExecutions(context, await executionTarget(context, values), {
      executions: [{ name: values.name ?? `reconcile-${Date.now()}`, input: { mode: 'reconcile' } }],
      wait: values.wait,
    });
    context.result(reports[0]);
    return exitCode;
  },
});
