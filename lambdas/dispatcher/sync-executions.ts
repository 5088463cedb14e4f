/**
 * Starting and checking executions of the sync state machine. Names are deterministic
 * (execution-name.ts), so StartExecution answering ExecutionAlreadyExists means an earlier delivery
 * already started this work, which is success here. The interface and its Step Functions adapter.
 */
import { DescribeExecutionCommand, ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** An execution that was asked for. */
export interface StartedExecution {
  executionArn: string;
  /** An earlier request under the same name started it. */
  alreadyStarted: boolean;
}

/** The sync state machine, as the dispatcher uses it. */
export interface SyncExecutions {
  /** StartExecution under a deterministic name. */
  start(name: string, input: unknown): Promise<StartedExecution>;
  /** True while the execution runs (or waits for a redrive); false once it ended or if it does not exist. */
  isRunning(executionArn: string): Promise<boolean>;
}

/** Options of `createSfnSyncExecutions`. */
export interface SfnSyncExecutionsOptions {
  client: SFNClient;
  stateMachineArn: string;
}

/** The ARN Step Functions gives an execution of `stateMachineArn` named `name`. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The sync executions on Step Functions. */
export function createSfnSyncExecutions({ client, stateMachineArn }: SfnSyncExecutionsOptions): SyncExecutions {
  return {
    async start(name, input) {
      try {
        const out = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return { executionArn: out.executionArn ?? executionArnFor(stateMachineArn, name), alreadyStarted: false };
      } catch (error) {
        if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
          return { executionArn: executionArnFor(stateMachineArn, name), alreadyStarted: true };
        }
        throw error;
      }
    },

    async isRunning(executionArn) {
      try {
        const out = await client.send(new DescribeExecutionCommand({ executionArn }));
        return out.status === 'RUNNING' || out.status === 'PENDING_REDRIVE';
      } catch (error) {
        if ((error as Error).name === 'ExecutionDoesNotExist') return false;
        throw error;
      }
    },
  };
}
