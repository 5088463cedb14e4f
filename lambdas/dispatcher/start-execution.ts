import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '#commons/clients';

/** The ARN Step Functions gives an execution of `stateMachineArn` named `name`. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/**
 * StartExecution under a deterministic name. ExecutionAlreadyExists means this work was already
 * started by an earlier delivery, which is success here.
 */
export async function startNamedExecution(
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<{ executionArn: string; alreadyStarted: boolean }> {
  try {
    const out = await sfnClient().send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { executionArn: out.executionArn ?? executionArnFor(stateMachineArn, name), alreadyStarted: false };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
      return { executionArn: executionArnFor(stateMachineArn, name), alreadyStarted: true };
    }
    throw error;
  }
}
