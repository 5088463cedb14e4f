import { InvalidInputError, parseSyncInput } from '#sync/sync-input';
import { checkLocalOptions, localOptions } from '../local-deployment/connect.ts';
import { defineCommand } from '../support/command.ts';
import { executionOptions } from '../support/execution-options.ts';
import { calendarDate, UsageError } from '../support/options.ts';
import { executionTarget, runExecutions } from '../support/start-execution.ts';

export const command = defineCommand({
  description:
    'Starts the sync state machine of the deployment with {"runDate": D}, the same input you would type in the\n' +
    "Step Functions console, and prints the execution's console link. A re-run writes only records that really changed.\n" +
    'With --local, in the local deployment running on the data directory.',
  options: {
    'run-date': calendarDate({ required: true, description: 'the day whose changes to pull again (updatedSince=D)' }),
    ...executionOptions,
    ...localOptions,
  },
  deployment: true,
  check(values) {
    checkLocalOptions(values, ['state-machine-arn']);
    try {
      // The state machine's own rule for its input, so a run that can only fail is never started.
      parseSyncInput({ runDate: values['run-date'] });
    } catch (error) {
      if (error instanceof InvalidInputError) throw new UsageError(`--run-date: ${error.message}`);
      throw error;
    }
  },
  async run(context) {
    const { values } = context;
    const { reports, exitCode } = await runExecutions(context, await executionTarget(context, values), {
      executions: [{ name: values.name ?? `rerun-${values['run-date']}-${Date.now()}`, input: { runDate: values['run-date'] } }],
      wait: values.wait,
    });
    context.result(reports[0]);
    return exitCode;
  },
});
