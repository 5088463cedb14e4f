/** The options of every command that starts sync executions in a deployment (`rerun`, `backfill`). */
import { flag, text } from './options.ts';
import { STATE_MACHINE_ARN_PATTERN } from './deployed-stack.ts';

/** Step Functions execution names; the name is also the run id (docs/SYNC.md). */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

export const executionOptions = {
  wait: flag({ description: 'wait for the execution to end (progress on stderr); exit 1 unless it SUCCEEDED' }),
  name: text({
    placeholder: 'NAME',
    rule: { test: (v) => EXECUTION_NAME_PATTERN.test(v), expected: '1-80 letters, digits, "-" or "_"' },
    description: 'the execution name, which is also the run id (default: generated)',
  }),
  'state-machine-arn': text({
    placeholder: 'ARN',
    rule: { test: (v) => STATE_MACHINE_ARN_PATTERN.test(v), expected: 'a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)' },
    // Not `env`: an explicit --stage wins over the variable (scripts/support/deployed-stack.ts).
    description: 'the state machine (default: $PRODUCERSYNC_STATE_MACHINE_ARN, else the StateMachineArn output of the sync stack; with --stage, that stage\'s output)',
  }),
};
