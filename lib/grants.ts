import { Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Least-privilege grants: each function gets exactly the API actions its code in lambdas/ calls, on
 * the one resource it calls them on, and uses a customer-managed key only through the service that
 * encrypts with it (`kms:ViaService`). Used instead of aws-cdk-lib's `grantReadWriteData` and friends,
 * which add `index/*`, Scan, BatchWriteItem, DeleteItem and unconditioned KMS actions.
 */

/** DynamoDB item actions (the SDK commands the Lambda code sends). */
export type ItemAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem';

const WRITE_ACTIONS: ReadonlySet<ItemAction> = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/**
 * What a principal needs of a customer-managed key for reads (decrypt) and writes (encrypt too) through
 * a service that encrypts with it: the action set aws-cdk-lib's grants use, spelled out without wildcards.
 */
const KEY_DECRYPT = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_ENCRYPT = ['kms:Encrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'];

export interface TableAccess {
  /** Actions on the table's items, exactly those the function calls. */
  readonly actions: readonly ItemAction[];
  /** Indexes the function queries, by name (instead of aws-cdk-lib's `index/*`). @default none */
  readonly queryIndexes?: readonly string[];
}

/** The given item actions on one table (and Query on the named indexes), plus the table key through DynamoDB. */
export function grantTableAccess(grantee: iam.IGrantable & Construct, table: dynamodb.ITable, access: TableAccess): void {
  const principal = grantee.grantPrincipal;
  // A function that only queries an index has no item actions on the table itself.
  if (access.actions.length > 0) {
    principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: access.actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }));
  }
  const indexes = access.queryIndexes ?? [];
  if (indexes.length > 0) {
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: indexes.map((name) => `${table.tableArn}/index/${name}`) }),
    );
  }
  const writes = access.actions.some((action) => WRITE_ACTIONS.has(action));
  if (table.encryptionKey) grantKeyVia(grantee, table.encryptionKey, 'dynamodb', writes ? [...KEY_DECRYPT, ...KEY_ENCRYPT] : KEY_DECRYPT);
}

/** Read the table's change stream (a Lambda event source mapping polls it with the function's role). */
export function grantStreamRead(grantee: iam.IGrantable & Construct, table: dynamodb.ITable): void {
  const streamArn = table.tableStreamArn;
  if (!streamArn) throw new Error(`${table.node.path} has no stream`);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [streamArn] }),
  );
  // ListStreams has no resource-level permissions.
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
  Validations.of(grantee).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'dynamodb:ListStreams has no resource-level permissions; AWS requires Resource "*".',
  });
  if (table.encryptionKey) grantKeyVia(grantee, table.encryptionKey, 'dynamodb', KEY_DECRYPT);
}

/** SendMessage to one queue (SSE-KMS: the producer needs GenerateDataKey and Decrypt on the queue key). */
export function grantQueueSend(grantee: iam.IGrantable & Construct, queue: sqs.IQueue): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  if (queue.encryptionMasterKey) grantKeyVia(grantee, queue.encryptionMasterKey, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']);
}

/** What a Lambda event source mapping on one queue does with the function's role (receive, delete, extend visibility). */
export function grantQueueConsume(grantee: iam.IGrantable & Construct, queue: sqs.IQueue): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
      resources: [queue.queueArn],
    }),
  );
  if (queue.encryptionMasterKey) grantKeyVia(grantee, queue.encryptionMasterKey, 'sqs', ['kms:Decrypt']);
}

/** Publish to one topic (SSE-KMS: the publisher needs GenerateDataKey and Decrypt on the topic key, through SNS only). */
export function grantTopicPublish(grantee: iam.IGrantable & Construct, topic: sns.ITopic): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
  // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
  if (topic.masterKey) grantKeyVia(grantee, topic.masterKey, 'sns', ['kms:GenerateDataKey', 'kms:Decrypt']);
}

/**
 * Read one secret and decrypt it through Secrets Manager only. Unlike `secret.grantRead`, this
 * never edits the key policy, so a function in another stack can be granted without a cycle.
 */
export function grantSecretRead(grantee: iam.IGrantable & Construct, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
  );
  if (secret.encryptionKey) grantKeyVia(grantee, secret.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
}

/** DescribeSecret on one secret: its metadata (versions, dates), never its value, so no key use either. */
export function grantSecretDescribe(grantee: iam.IGrantable & Construct, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [secret.secretArn] }));
}

/** Key actions allowed only when `service` calls KMS for the grantee (its own region). */
function grantKeyVia(grantee: iam.IGrantable & Construct, key: kms.IKey, service: string, actions: readonly string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(grantee).region}.amazonaws.com` } },
    }),
  );
}

/** Step Functions' Lambda integration also grants `<function ARN>:*` so versions and aliases can be invoked. */
export function acknowledgeLambdaVersionWildcards(scope: Construct, functions: readonly lambda.IFunction[]): void {
  for (const fn of functions) {
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(fn).getLogicalId(cfn)}.Arn>:*]`,
      reason: `Invoking ${fn.node.path}: the wildcard only spans that function's own versions and aliases.`,
    });
  }
}
