/** How a run on the local harness ended, as the CLI reports it: the execution's status and the run record Finalize wrote. */
import { createDynamoRunStore } from '#sync/run-record';
import type { LocalHarness } from '#local/harness';
import type { RunRecord } from '../support/run-table.ts';

export interface ExecutionOutcome {
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'RUNNING';
  /** `Error: message` of a failed execution (the Lambda error document unwrapped). */
  failure?: string;
  /** The control table's run record, once Finalize has written it. */
  run?: RunRecord;
}

/** `Error: message`, with the Lambda error document `{"errorType","errorMessage"}` unwrapped. */
export function describeFailure(error: string | undefined, cause: string | undefined): string {
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // a plain-text cause
  }
  return [error, message].filter(Boolean).join(': ') || 'no error reported';
}

type Harness = Pick<LocalHarness, 'waitForExecution' | 'dynamo' | 'resources'>;

/** The outcome of an execution (started by anyone: the dispatcher, an operator), once it has ended. */
export async function outcomeOf(harness: Harness, executionArn: string): Promise<ExecutionOutcome> {
  const execution = await harness.waitForExecution(executionArn);
  const run: RunRecord | undefined = await createDynamoRunStore({ client: harness.dynamo, tableName: harness.resources.controlTable }).load(execution.name);
  return {
    name: execution.name,
    status: execution.status,
    ...(execution.status === 'SUCCEEDED' ? {} : { failure: describeFailure(execution.error, execution.cause) }),
    ...(run ? { run } : {}),
  };
}

/** StartExecution on the local Step Functions stand-in, then the outcome once the execution has ended. */
export async function runExecution(harness: Harness & Pick<LocalHarness, 'startExecution'>, name: string, input: unknown): Promise<ExecutionOutcome> {
  return outcomeOf(harness, await harness.startExecution(name, input));
}
