import { checkLocalOptions, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { executionOptions } from '../support/execution-options.ts';
import { executionTarget, runExecutions } from '../support/start-execution.ts';

export const command = defineCommand({
  description:
    'Starts a reconcile run, {"mode":"reconcile"}: a full pass over every endpoint with the change-only rule, so only\n' +
    'drift is written (the weekly schedule starts the same); items the API no longer returns are marked\n' +
    'missingFromSource and NPN statuses fixed from the subscription list (docs/SYNC.md "Reconcile"). Prints the\n' +
    'execution\'s console link; `runs` shows what it corrected. With --local, in the local deployment running on the data directory.',
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
