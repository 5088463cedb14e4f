/** The dispatcher's stores, sync executions and clock, built one way for the handler and the tests. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { createSecretsManagerCredentialsProbe, type CredentialsProbe } from '#dispatcher/credentials-probe';
import { createDynamoEventDedup, type EventDedup } from '#dispatcher/dedup';
import { createDynamoNpnStatusStore, type NpnStatusStore } from '#dispatcher/npn-status';
import { createDynamoPendingActivationStore, type PendingActivationStore } from '#dispatcher/pending-activations';
import { createSfnSyncExecutions, type SyncExecutions } from '#dispatcher/sync-executions';
import { UNLIMITED_BUDGET, type TimeBudget } from '#dispatcher/time-budget';
import { createDynamoWatermarkStore, type WatermarkStore } from '#sync/watermark';

/** `check-freshness` starts a catch-up run once the watermark is this old (CATCH_UP_AFTER_HOURS). */
export const DEFAULT_CATCH_UP_AFTER_HOURS = 26;

/** Everything the dispatcher acts through. */
export interface DispatcherDeps {
  dedup: EventDedup;
  npnStatus: NpnStatusStore;
  pendingActivations: PendingActivationStore;
  executions: SyncExecutions;
  /** The invocation's time: bulk work stops starting steps when it runs out. */
  budget: TimeBudget;
  /** The watermark (old events, freshness, day 0). */
  watermarks: WatermarkStore;
  /** Whether the ProducerSync credentials are in (the freshness check's day 0). */
  credentials: CredentialsProbe;
  /** The dispatcher's clock (epoch ms): injectable, a soak moves time. */
  now: () => number;
  /** Hours without the watermark advancing before `check-freshness` starts a catch-up run. */
  catchUpAfterHours: number;
}

/** Options of `createDispatcherDeps`. */
export interface DispatcherDepsOptions {
  dynamo: DynamoDBClient;
  sfn: SFNClient;
  /** For the credentials probe (DescribeSecret only). @default none: the probe then fails when asked */
  secrets?: SecretsManagerClient;
  /** NPN status items and "has this NPN any data yet". */
  dataTableName: string;
  /** Event dedup, pending activations and the watermark. */
  controlTableName: string;
  /** The sync state machine. */
  stateMachineArn: string;
  /** @default unlimited (the handler passes its Lambda context's) */
  budget?: TimeBudget;
  /** The ProducerSync credentials secret (id or ARN). @default none */
  credentialsSecretId?: string;
  /** @default Date.now */
  now?: () => number;
  /** @default DEFAULT_CATCH_UP_AFTER_HOURS */
  catchUpAfterHours?: number;
}

/** The DynamoDB, Step Functions and Secrets Manager adapters of every dispatcher dependency. */
export function createDispatcherDeps(options: DispatcherDepsOptions): DispatcherDeps {
  const { dynamo: client, dataTableName, controlTableName, now = Date.now } = options;
  return {
    dedup: createDynamoEventDedup({ client, tableName: controlTableName, now }),
    npnStatus: createDynamoNpnStatusStore({ client, tableName: dataTableName, now }),
    pendingActivations: createDynamoPendingActivationStore({ client, tableName: controlTableName }),
    executions: createSfnSyncExecutions({ client: options.sfn, stateMachineArn: options.stateMachineArn }),
    budget: options.budget ?? UNLIMITED_BUDGET,
    watermarks: createDynamoWatermarkStore({ client, tableName: controlTableName }),
    credentials: options.secrets
      ? createSecretsManagerCredentialsProbe({ client: options.secrets, secretId: options.credentialsSecretId })
      : { isSet: () => Promise.reject(new Error('the dispatcher was built without a Secrets Manager client (credentials probe)')) },
    now,
    catchUpAfterHours: options.catchUpAfterHours ?? DEFAULT_CATCH_UP_AFTER_HOURS,
  };
}
