import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface StackEncryptionKeyProps {
  /** Key description shown in the KMS console. */
  readonly description: string;
  /**
   * Let CloudWatch Alarms use the key (needed when it encrypts the SNS topic alarms publish to).
   * @default false
   */
  readonly allowCloudWatchAlarms?: boolean;
  /**
   * Let EventBridge use the key (needed when it encrypts a dead-letter queue of rule targets:
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
   * @default false
   */
  readonly allowEventBridge?: boolean;
}

/**
 * Only AWS services acting for a resource (DynamoDB, SQS, Lambda, Logs) may create grants on the
 * key, so a principal with key access cannot hand it on by a grant (Control Tower CT.KMS.PR.3).
 */
export function restrictGrantsToAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'], // in a key policy "*" means this key
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
}

/**
 * A rotating customer-managed key for one stack's queues, secrets, topics and log groups.
 * CloudWatch Logs may use it for this account's log groups in this region only (log groups
 * encrypt with KMS only when the key policy lets the Logs service in).
 */
export class StackEncryptionKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: StackEncryptionKeyProps) {
    super(scope, id);
    const { region, account, partition } = Stack.of(this);

    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      enableKeyRotation: true,
      // Log groups outlive the stack; keeping the key keeps their history readable.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    restrictGrantsToAwsServices(this.key);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*` },
        },
      }),
    );
    if (props.allowCloudWatchAlarms) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopic',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'], // in a key policy "*" means this key
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
    }
    if (props.allowEventBridge) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowEventBridgeToWriteEncryptedDeadLetterQueue',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'], // in a key policy "*" means this key
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
    }
  }
}
