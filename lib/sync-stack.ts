import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ProducerSyncConfig } from './config.ts';
import { StackEncryptionKey } from './constructs/encryption-key.ts';
import { ProducerSyncFunction } from './constructs/node-function.ts';
import { grantSecretRead, grantTableAccess } from './grants.ts';
import { SyncStateMachine } from './constructs/sync-state-machine.ts';
import { TokenLayer } from './constructs/token-layer.ts';

/** Fixed so the CLI, the console and the dispatcher's DescribeExecution grant know the execution ARNs. */
export const SYNC_STATE_MACHINE_NAME = 'ProducerSync-Sync';

export interface SyncStackProps extends StackProps {
  readonly config: ProducerSyncConfig;
  readonly dataTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
}

/** The sync engine: token layer, the three sync Lambdas, the credentials secret and the state machine. */
export class SyncStack extends Stack {
  public readonly encryptionKey: StackEncryptionKey;
  public readonly tokenLayer: TokenLayer;
  /** `{"clientId","clientSecret","scope"?,"tokenUrl","apiBaseUrl"}`; the operator fills in the values. */
  public readonly credentialsSecret: secretsmanager.Secret;
  public readonly prepareFunction: ProducerSyncFunction;
  public readonly syncPagesFunction: ProducerSyncFunction;
  public readonly finalizeFunction: ProducerSyncFunction;
  public readonly syncStateMachine: SyncStateMachine;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id, props);
    const { config, dataTable, controlTable } = props;

    this.encryptionKey = new StackEncryptionKey(this, 'SyncKey', {
      description: 'ProducerSync: encrypts the credentials secret and the sync logs',
    });
    const key = this.encryptionKey.key;
    this.tokenLayer = new TokenLayer(this, 'TokenLayer');

    this.credentialsSecret = new secretsmanager.Secret(this, 'ProducerSyncCredentials', {
      description:
        `ProducerSync OAuth client credentials for AgentSync ${config.environment} ` +
        `(token ${config.hosts.tokenUrl}, API ${config.hosts.apiBaseUrl}). Replace clientId and clientSecret.`,
      encryptionKey: key,
      // Deleted with the stack (Secrets Manager keeps it restorable for 30 days).
      removalPolicy: RemovalPolicy.DESTROY,
      // Only a placeholder clientSecret is generated at deploy time: no credential is in the template.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ clientId: 'REPLACE_ME', tokenUrl: config.hosts.tokenUrl, apiBaseUrl: config.hosts.apiBaseUrl }),
        generateStringKey: 'clientSecret',
        excludePunctuation: true,
        passwordLength: 32,
      },
    });
    Validations.of(this.credentialsSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Third-party OAuth client credentials: AgentSync issues them, so rotation is manual (docs/DEPLOY.md "Rotating credentials").',
    });

    const syncEnvironment = {
      DATA_TABLE_NAME: dataTable.tableName,
      CONTROL_TABLE_NAME: controlTable.tableName,
      PRODUCERSYNC_SECRET_ARN: this.credentialsSecret.secretArn,
      API_REQUESTS_PER_MINUTE: String(config.apiRequestsPerMinute),
      TOKEN_REQUESTS_PER_MINUTE: String(config.tokenRequestsPerMinute),
      PAGE_SIZE: String(config.pageSize),
      SYNC_CONCURRENCY: String(config.syncConcurrency),
    };
    const common = { layers: [this.tokenLayer.layer], logEncryptionKey: key };

    this.prepareFunction = new ProducerSyncFunction(this, 'PrepareFunction', {
      ...common,
      entry: 'lambdas/sync/prepare.ts',
      description: 'ProducerSync: validate the run input, record the run, list the endpoints',
      environment: {
        CONTROL_TABLE_NAME: controlTable.tableName,
        ...(config.syncEndpoints ? { SYNC_ENDPOINTS: config.syncEndpoints } : {}),
      },
    });
    this.syncPagesFunction = new ProducerSyncFunction(this, 'SyncPagesFunction', {
      ...common,
      entry: 'lambdas/sync/sync-pages.ts',
      description: 'ProducerSync: page one endpoint into the data table, checkpointing every page',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environment: { ...syncEnvironment, SYNC_TIME_BUDGET_MS: '600000' },
    });
    this.finalizeFunction = new ProducerSyncFunction(this, 'FinalizeFunction', {
      ...common,
      entry: 'lambdas/sync/finalize.ts',
      description: 'ProducerSync: sum the checkpoints into the run record',
      environment: { CONTROL_TABLE_NAME: controlTable.tableName },
    });

    const readWrite = { read: true, write: true };
    grantTableAccess(this.prepareFunction.role, controlTable, readWrite);
    grantTableAccess(this.finalizeFunction.role, controlTable, readWrite);
    grantTableAccess(this.syncPagesFunction.role, dataTable, readWrite);
    grantTableAccess(this.syncPagesFunction.role, controlTable, readWrite);
    grantSecretRead(this.syncPagesFunction.role, this.credentialsSecret);

    this.syncStateMachine = new SyncStateMachine(this, 'SyncStateMachine', {
      prepareFunction: this.prepareFunction.function,
      syncPagesFunction: this.syncPagesFunction.function,
      finalizeFunction: this.finalizeFunction.function,
      stateMachineName: SYNC_STATE_MACHINE_NAME,
      syncConcurrency: config.syncConcurrency,
      logEncryptionKey: key,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'CredentialsSecretArn', { value: this.credentialsSecret.secretArn });
  }

  public get stateMachine(): sfn.StateMachine {
    return this.syncStateMachine.stateMachine;
  }
}
