import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { restrictGrantsToAwsServices } from './constructs/encryption-key.ts';

/**
 * The mirrored data and the run bookkeeping (docs/ARCHITECTURE.md "DynamoDB").
 * Kept in its own stack and retained on delete, so tearing down or redeploying the
 * compute never touches the data.
 */
export class DataStack extends Stack {
  /** Customer-managed key encrypting both tables (and their stream). */
  public readonly dataKey: kms.Key;
  /** One item per source record, stream NEW_AND_OLD_IMAGES for downstream consumers. */
  public readonly dataTable: dynamodb.Table;
  /** Runs, checkpoints, quarantine, event dedup, pending activations, rate buckets. */
  public readonly controlTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'ProducerSync: encrypts the data and control tables',
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
    this.dataTable.addGlobalSecondaryIndex({
      indexName: 'byTypeUpdatedAt',
      partitionKey: { name: 'recordType', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'updatedAt', type: dynamodb.AttributeType.STRING },
    });

    this.controlTable = new dynamodb.Table(this, 'ControlTable', {
      ...common,
      timeToLiveAttribute: 'expiresAt',
    });
    this.controlTable.addGlobalSecondaryIndex({
      indexName: 'byKind',
      partitionKey: { name: 'kind', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'startedAt', type: dynamodb.AttributeType.STRING },
    });

    new CfnOutput(this, 'DataTableName', { value: this.dataTable.tableName });
    new CfnOutput(this, 'DataTableStreamArn', { value: this.dataTable.tableStreamArn ?? '' });
    new CfnOutput(this, 'ControlTableName', { value: this.controlTable.tableName });
  }
}
