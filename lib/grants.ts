import { Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'];
const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'];
// The same key actions aws-cdk-lib's own table grants use for a customer-managed key.
const KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_WRITE_ACTIONS = ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

export interface TableAccess {
  readonly read?: boolean;
  readonly write?: boolean;
  /** GSIs the grantee may query, by name (instead of aws-cdk-lib's `index/*`). @default none */
  readonly indexes?: readonly string[];
}

/**
 * Item access to one table and the named indexes only, plus use of the table's key.
 * Preferred over `table.grantReadWriteData`, which adds `index/*` and every data action.
 */
export function grantTableAccess(grantee: iam.IGrantable & Construct, table: dynamodb.ITable, access: TableAccess): void {
  const actions = new Set([...(access.read ? READ_ACTIONS : []), ...(access.write ? WRITE_ACTIONS : [])]);
  const resources = [table.tableArn, ...(access.indexes ?? []).map((name) => `${table.tableArn}/index/${name}`)];
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...actions], resources }));
  const key = table.encryptionKey;
  if (!key) return;
  const keyActions = new Set([...(access.read ? KEY_READ_ACTIONS : []), ...(access.write ? KEY_WRITE_ACTIONS : [])]);
  key.grant(grantee, ...keyActions);
  if (access.write) acknowledgeKeyWildcards(grantee);
}

/** `kms:ReEncrypt*` / `kms:GenerateDataKey*` are scoped to one key ARN; the wildcard only spans that API family. */
export function acknowledgeKeyWildcards(scope: Construct): void {
  for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} on the single customer-managed key of the resource it encrypts (DynamoDB/SQS/SNS envelope encryption), not on any other key.`,
    });
  }
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

/**
 * Read one secret and decrypt it through Secrets Manager only. Unlike `secret.grantRead`, this
 * never edits the key policy, so a function in another stack can be granted without a cycle.
 */
export function grantSecretRead(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [secret.secretArn] }),
  );
  const key = secret.encryptionKey;
  if (!key) return;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com` } },
    }),
  );
}
