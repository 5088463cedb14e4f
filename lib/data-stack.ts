import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CHANGE_INDEX_ATTRIBUTES, CHANGE_INDEX_NAME } from '#sync/change-index';
import { restrictGrantsToAwsServices } from './constructs/encryption-key.ts';

/** GSIs of the data table (alarmed on for throttling, next to the table). */
export const DATA_TABLE_INDEXES = [CHANGE_INDEX_NAME] as const;
/** The 0.1.0 index (partition `recordType`: seven values, a hot partition), kept only during an upgrade. */
export const LEGACY_DATA_TABLE_INDEX = 'byTypeUpdatedAt';

export interface DataStackProps extends StackProps {
  /**
   * Keep 0.1.0's `byTypeUpdatedAt` index beside the change index. CloudFormation adds or removes one GSI
   * per table update, so upgrading a 0.1.0 deployment takes two deploys: the first with this set (adds
   * the change index), the second without (drops the old one). CHANGELOG.md. @default false
   */
  readonly legacyTypeIndex?: boolean;
}
/** GSIs of the control table: `byKind` lists runs and pending activations. */
export const CONTROL_TABLE_INDEXES = ['byKind'] as const;

/**
 * What must outlive every other stack: the mirrored data, the run bookkeeping (docs/ARCHITECTURE.md
 * "DynamoDB") and the webhook signing secret. Kept in its own stack and retained on delete, so tearing
 * down, replacing or redeploying the compute and the webhook API never touches them.
 */
export class DataStack extends Stack {
  /** Customer-managed key encrypting both tables (and their stream) and the signing secret. */
  public readonly dataKey: kms.Key;
  /** One item per source record, stream NEW_AND_OLD_IMAGES for downstream consumers. */
  public readonly dataTable: dynamodb.Table;
  /** Runs, checkpoints, quarantine, event dedup, pending activations, rate buckets. */
  public readonly controlTable: dynamodb.Table;
  /**
   * Holds the Svix signing secret (`whsec_...`); the operator puts the value in. Here rather than beside
   * the webhook, so a replaced ingest stack keeps it (issue 14.10).
   */
  public readonly webhookSigningSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props?: DataStackProps) {
    super(scope, id, props);

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'ProducerSync: encrypts the data and control tables and the webhook signing secret',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    restrictGrantsToAwsServices(this.dataKey);

    const common = {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    } satisfies Partial<dynamodb.TableProps>;

    this.dataTable = new dynamodb.Table(this, 'DataTable', {
      ...common,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // The change index (docs/STREAM-CONTRACT.md): "every item of type T" and "type T changed since T0", one Query
    // per shard. Only the flags a sweep or a listing reads are projected: each change writes ~100 bytes to
    // the index (one write unit), not a second copy of records up to 350 KB.
    if (props?.legacyTypeIndex) {
      this.dataTable.addGlobalSecondaryIndex({
        indexName: LEGACY_DATA_TABLE_INDEX,
        partitionKey: { name: 'recordType', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'updatedAt', type: dynamodb.AttributeType.STRING },
      });
    }
    this.dataTable.addGlobalSecondaryIndex({
      indexName: CHANGE_INDEX_NAME,
      partitionKey: { name: 'typeShard', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'changedAt', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...CHANGE_INDEX_ATTRIBUTES],
    });

    this.controlTable = new dynamodb.Table(this, 'ControlTable', {
      ...common,
      timeToLiveAttribute: 'expiresAt',
    });
    this.controlTable.addGlobalSecondaryIndex({
      indexName: CONTROL_TABLE_INDEXES[0],
      partitionKey: { name: 'kind', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'startedAt', type: dynamodb.AttributeType.STRING },
    });

    // Its definition is fixed (no prop, no context), so no redeploy can regenerate the value.
    this.webhookSigningSecret = new secretsmanager.Secret(this, 'WebhookSigningSecret', {
      description: 'Svix signing secret of the AgentSync webhook: put the whsec_... value from the AgentSync portal in.',
      encryptionKey: this.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
      // A random placeholder that never verifies, so nothing is accepted until the real value is set.
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'signingSecret', excludePunctuation: true },
    });
    Validations.of(this.webhookSigningSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'AgentSync (Svix) issues the signing secret; it is rotated in their portal, then copied here (docs/DEPLOY.md).',
    });

    new CfnOutput(this, 'DataTableName', { value: this.dataTable.tableName });
    new CfnOutput(this, 'DataTableStreamArn', { value: this.dataTable.tableStreamArn ?? '' });
    new CfnOutput(this, 'ControlTableName', { value: this.controlTable.tableName });
    new CfnOutput(this, 'DataKeyArn', { value: this.dataKey.keyArn, description: 'Stream consumers need kms:Decrypt on this key' });
    new CfnOutput(this, 'WebhookSigningSecretArn', { value: this.webhookSigningSecret.secretArn });
  }
}
