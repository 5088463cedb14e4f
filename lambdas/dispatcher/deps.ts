/** The dispatcher's stores and sync executions, built one way for the handler and the tests. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { createDynamoEventDedup, type EventDedup } from '#dispatcher/dedup';
import { createDynamoNpnStatusStore, type NpnStatusStore } from '#dispatcher/npn-status';
import { createDynamoPendingActivationStore, type PendingActivationStore } from '#dispatcher/pending-activations';
import { createSfnSyncExecutions, type SyncExecutions } from '#dispatcher/sync-executions';

/** Everything the dispatcher acts through. */
export interface DispatcherDeps {
  dedup: EventDedup;
  npnStatus: NpnStatusStore;
  pendingActivations: PendingActivationStore;
  executions: SyncExecutions;
}

/** Options of `createDispatcherDeps`. */
export interface DispatcherDepsOptions {
  dynamo: DynamoDBClient;
  sfn: SFNClient;
  /** NPN status items and "has this NPN any data yet". */
  dataTableName: string;
  /** Event dedup and pending activations. */
  controlTableName: string;
  /** The sync state machine. */
  stateMachineArn: string;
}

/** The DynamoDB and Step Functions adapters of every dispatcher dependency. */
export function createDispatcherDeps(options: DispatcherDepsOptions): DispatcherDeps {
  const { dynamo: client, dataTableName, controlTableName } = options;
  return {
    dedup: createDynamoEventDedup({ client, tableName: controlTableName }),
    npnStatus: createDynamoNpnStatusStore({ client, tableName: dataTableName }),
    pendingActivations: createDynamoPendingActivationStore({ client, tableName: controlTableName }),
    executions: createSfnSyncExecutions({ client: options.sfn, stateMachineArn: options.stateMachineArn }),
  };
}
