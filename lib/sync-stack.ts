import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { TABLE_ACCESS } from './access.ts';
import type { ProducerSyncConfig } from './config.ts';
import { StackEncryptionKey } from './constructs/encryption-key.ts';
import { ProducerSyncFunction } from './constructs/node-function.ts';
import { SyncStateMachine } from './constructs/sync-state-machine.ts';
import { TokenLayer } from './constructs/token-layer.ts';
import { grantSecretRead, grantTableAccess } from './grants.ts';

/**
 * The credentials secret's generated placeholder, frozen as 0.1.0 wrote it for the default (sandbox)
 * deployment: changing this string would make CloudFormation regenerate the stored value of every
 * deployed secret, so it must never change again, whatever the settings. Its URL fields are ignored
 * (sync-pages reads the hosts from its environment; a secret's own URLs are only a fallback for an
 * environment without them) and the operator replaces the whole value anyway (docs/DEPLOY.md).
 */
export const CREDENTIALS_PLACEHOLDER_TEMPLATE =
  '{"clientId":"REPLACE_ME","tokenUrl":"https://auth.sandbox.agentsync.io/oauth2/token","apiBaseUrl":"https://api.sandbox.agentsync.io"}';

export interface SyncStackProps extends StackProps {
  readonly config: ProducerSyncConfig;
  readonly dataTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
}

/** The sync engine: token layer, the three sync Lambdas, the credentials secret and the state machine. */
export class SyncStack extends Stack {
  /** Encrypts the credentials secret and the sync logs. */
  public readonly encryptionKey: StackEncryptionKey;
  /** The token layer (attached to SyncPages only: the one function that fetches tokens). */
  public readonly tokenLayer: TokenLayer;
  /** `{"clientId","clientSecret","scope"?}`; the operator fills in the values. */
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

    // Its definition is fixed (no prop, no context: CONTRACTS.md §1). CloudFormation regenerates a
    // generated secret whenever its GenerateSecretString changes, which would overwrite the real
    // credentials with this placeholder; the API URLs therefore live in sync-pages' environment.
    this.credentialsSecret = new secretsmanager.Secret(this, 'ProducerSyncCredentials', {
      description: 'ProducerSync OAuth client credentials {"clientId","clientSecret","scope"?}: replace clientId and clientSecret (docs/DEPLOY.md).',
      encryptionKey: key,
      // Deleted with the stack (Secrets Manager keeps it restorable for 30 days).
      removalPolicy: RemovalPolicy.DESTROY,
      // Only a placeholder clientSecret is generated at deploy time: no credential is in the template.
      generateSecretString: {
        secretStringTemplate: CREDENTIALS_PLACEHOLDER_TEMPLATE,
        generateStringKey: 'clientSecret',
        excludePunctuation: true,
        passwordLength: 32,
      },
    });
    Validations.of(this.credentialsSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Third-party OAuth client credentials: AgentSync issues them, so rotation is manual (docs/DEPLOY.md "Rotate secrets").',
    });

    const logEncryptionKey = key;
    this.prepareFunction = new ProducerSyncFunction(this, 'PrepareFunction', {
      entry: 'lambdas/sync/prepare.ts',
      name: 'prepare',
      description: 'ProducerSync: validate the run input, record the run, list the endpoints',
      logEncryptionKey,
      environment: {
        CONTROL_TABLE_NAME: controlTable.tableName,
        ...(config.syncEndpoints ? { SYNC_ENDPOINTS: config.syncEndpoints } : {}),
        // A full pull's partitions: the NPN status items (data table) and the sizing rule's page size and budget.
        DATA_TABLE_NAME: dataTable.tableName,
        API_REQUESTS_PER_MINUTE: String(config.apiRequestsPerMinute),
        PAGE_SIZE: String(config.pageSize),
      },
    });
    this.syncPagesFunction = new ProducerSyncFunction(this, 'SyncPagesFunction', {
      entry: 'lambdas/sync/sync-pages.ts',
      name: 'sync-pages',
      description: 'ProducerSync: page one endpoint into the data table, checkpointing every page',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      layers: [this.tokenLayer.layer],
      logEncryptionKey,
      // Sized to the rate budget, not the account's shared pool (lib/concurrency.ts).
      reservedConcurrentExecutions: config.syncPagesConcurrency,
      environment: {
        DATA_TABLE_NAME: dataTable.tableName,
        CONTROL_TABLE_NAME: controlTable.tableName,
        PRODUCERSYNC_SECRET_ARN: this.credentialsSecret.secretArn,
        PRODUCERSYNC_API_BASE_URL: config.hosts.apiBaseUrl,
        PRODUCERSYNC_TOKEN_URL: config.hosts.tokenUrl,
        API_REQUESTS_PER_MINUTE: String(config.apiRequestsPerMinute),
        TOKEN_REQUESTS_PER_MINUTE: String(config.tokenRequestsPerMinute),
        PAGE_SIZE: String(config.pageSize),
        // The Map's MaxConcurrency, for tools that read the deployed environment (bench).
        SYNC_CONCURRENCY: String(config.syncConcurrency),
        SYNC_TIME_BUDGET_MS: '600000',
      },
    });
    this.finalizeFunction = new ProducerSyncFunction(this, 'FinalizeFunction', {
      entry: 'lambdas/sync/finalize.ts',
      name: 'finalize',
      description: 'ProducerSync: sum the checkpoints into the run record',
      logEncryptionKey,
      environment: { CONTROL_TABLE_NAME: controlTable.tableName },
    });

    grantTableAccess(this.prepareFunction.role, controlTable, TABLE_ACCESS.prepare.control);
    grantTableAccess(this.prepareFunction.role, dataTable, TABLE_ACCESS.prepare.data);
    grantTableAccess(this.syncPagesFunction.role, dataTable, TABLE_ACCESS.syncPages.data);
    grantTableAccess(this.syncPagesFunction.role, controlTable, TABLE_ACCESS.syncPages.control);
    grantTableAccess(this.finalizeFunction.role, controlTable, TABLE_ACCESS.finalize.control);
    grantSecretRead(this.syncPagesFunction.role, this.credentialsSecret);

    this.syncStateMachine = new SyncStateMachine(this, 'SyncStateMachine', {
      prepareFunction: this.prepareFunction.function,
      syncPagesFunction: this.syncPagesFunction.function,
      finalizeFunction: this.finalizeFunction.function,
      stateMachineName: config.names.stateMachine,
      syncConcurrency: config.syncConcurrency,
      logEncryptionKey: key,
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'CredentialsSecretArn', { value: this.credentialsSecret.secretArn });
  }

  /** The sync state machine. */
  public get stateMachine(): sfn.StateMachine {
    return this.syncStateMachine.stateMachine;
  }
}
