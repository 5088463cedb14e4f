import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient, secretsClient, sqsClient } from '#commons/clients';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { constructIdOf, functionIdOf, resolveIntrinsics, type StackTemplate } from '#local/template';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';
import { smallAppTemplates } from './support/small-app.ts';

describe('provisionFromTemplates', () => {
  let local: LocalAws;
  let stacks: StackTemplate[];
  let provisioned: ProvisionResult;
  const prefix = `prov${process.pid}`;

  beforeAll(async () => {
    local = await useLocalAws();
    stacks = await smallAppTemplates();
    provisioned = await provisionFromTemplates(stacks, { prefix });
  });
  afterAll(() => local.cleanup());

  it('creates both table kinds with keys, GSI, stream and TTL, under the prefix', async () => {
    const data = provisioned.resources.DataTable;
    expect(data?.name).toBe(`${prefix}-DataTable`);
    const described = await dynamoClient().send(new DescribeTableCommand({ TableName: data?.name }));
    expect(described.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(described.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual(['byTypeUpdatedAt']);
    expect(described.Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(data?.streamArn).toBe(described.Table?.LatestStreamArn);

    const control = provisioned.resources.ControlTable;
    expect(control?.type).toBe('AWS::DynamoDB::GlobalTable');
    const ttl = await dynamoClient().send(new DescribeTimeToLiveCommand({ TableName: control?.name }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe('expiresAt');
  });

  it('creates the queue with its redrive policy pointing at the provisioned DLQ', async () => {
    const queue = provisioned.resources.EventsQueue;
    const dlq = provisioned.resources.EventsDeadLetterQueue;
    const attributes = await sqsClient().send(
      new GetQueueAttributesCommand({ QueueUrl: queue?.url, AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'] }),
    );
    expect(JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: dlq?.arn, maxReceiveCount: 2 });
    expect(attributes.Attributes?.VisibilityTimeout).toBe('1');
    const dlqAttributes = await sqsClient().send(
      new GetQueueAttributesCommand({ QueueUrl: dlq?.url, AttributeNames: ['MessageRetentionPeriod'] }),
    );
    expect(dlqAttributes.Attributes?.MessageRetentionPeriod).toBe(String(14 * 24 * 3600));
  });

  it('creates secrets: empty ones without a value, generated ones with a placeholder', async () => {
    const credentials = provisioned.resources.ProducerSyncCredentials;
    const described = await secretsClient().send(new DescribeSecretCommand({ SecretId: credentials?.arn }));
    expect(described.Name).toBe(`${prefix}-ProducerSyncCredentials`);
    const signing = await secretsClient().send(new GetSecretValueCommand({ SecretId: provisioned.resources.WebhookSigningSecret?.arn }));
    expect(Object.keys(JSON.parse(signing.SecretString ?? '{}'))).toEqual(['signingSecret']);
  });

  it('resolves each function environment, cross-stack imports included', () => {
    expect(provisioned.functionEnv.SyncPagesFunction).toEqual({
      DATA_TABLE_NAME: `${prefix}-DataTable`,
      CONTROL_TABLE_NAME: `${prefix}-ControlTable`,
      PRODUCERSYNC_SECRET_ARN: provisioned.resources.ProducerSyncCredentials?.arn,
    });
    expect(provisioned.functionEnv.WebhookFunction?.EVENTS_QUEUE_URL).toBe(provisioned.resources.EventsQueue?.url);
    expect(provisioned.functionEnv.DispatcherFunction?.STATE_MACHINE_ARN).toBe(
      `arn:aws:states:us-east-1:000000000000:stateMachine:${prefix}-SyncStateMachine`,
    );
  });

  it('resolves Fn::Sub, Fn::Select/Split and pseudo parameters', () => {
    const stack = stacks.find((s) => s.stackName === 'SmallMain') as StackTemplate;
    const ctx = { stacks, stack, physical: provisioned.physical };
    const dataArn = provisioned.resources.DataTable?.arn;
    expect(
      resolveIntrinsics(
        {
          sub: { 'Fn::Sub': ['arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Q}/${!Literal}', { Q: 'q' }] },
          select: { 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] },
          queueName: { 'Fn::GetAtt': [provisioned.resources.EventsQueue?.logicalId, 'QueueName'] },
          imported: { 'Fn::ImportValue': 'SmallData:ExportsOutputRefDataTable447BC44E7F3657BE' },
          none: { Ref: 'AWS::NoValue' },
        },
        ctx,
      ),
    ).toEqual({
      sub: 'arn:aws:x:us-east-1:000000000000:q/${Literal}',
      select: 'b',
      queueName: `${prefix}-EventsQueue`,
      imported: `${prefix}-DataTable`,
    });
    expect(dataArn).toContain(`${prefix}-DataTable`);
  });

  it('names constructs from aws:cdk:path, unwrapping L2 wrappers', () => {
    expect(constructIdOf({ Type: 'X', Metadata: { 'aws:cdk:path': 'S/PrepareFunction/Function/Resource' } }, 'L')).toBe('PrepareFunction');
    expect(constructIdOf({ Type: 'X', Metadata: { 'aws:cdk:path': 'S/SyncStateMachine/StateMachine/Resource' } }, 'L')).toBe('SyncStateMachine');
    expect(constructIdOf({ Type: 'X', Metadata: { 'aws:cdk:path': 'S/StateMachine/Resource' } }, 'L')).toBe('StateMachine');
    expect(constructIdOf({ Type: 'X' }, 'PrepareFunction8FAA640B')).toBe('PrepareFunction');
    expect(functionIdOf(provisioned.resources.SyncPagesFunction?.logicalId as string, stacks)).toBe('SyncPagesFunction');
    expect(functionIdOf('DispatcherFunction87C9E645')).toBe('DispatcherFunction');
  });
});
