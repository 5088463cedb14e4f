import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';

describe('ProducerSyncData stack', () => {
  let template: Template;
  beforeAll(() => {
    const { dataStack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(dataStack.stackName).toBe('ProducerSyncData');
    template = Template.fromStack(dataStack);
  });

  const key = (name: string, type: 'HASH' | 'RANGE') => ({ AttributeName: name, KeyType: type });

  it('has a customer-managed KMS key with rotation, retained', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
    });
  });

  it('data table: pk/sk, NEW_AND_OLD_IMAGES stream, the byTypeChangedAt change index (keys and three flags), PITR, deletion protection, KMS, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [key('pk', 'HASH'), key('sk', 'RANGE')],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byTypeChangedAt',
            KeySchema: [key('typeShard', 'HASH'), key('changedAt', 'RANGE')],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['deleted', 'missingFromSource', 'status'] },
          },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] } },
        TimeToLiveSpecification: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keeps 0.1.0\'s byTypeUpdatedAt beside the change index only with producersync:legacyTypeIndex (the first deploy of an upgrade: one GSI change per update)', () => {
    const indexesOf = (context: Record<string, unknown>) =>
      Object.values(Template.fromStack(buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context } }).dataStack).findResources('AWS::DynamoDB::Table'))
        .map((table) => ((table.Properties as { GlobalSecondaryIndexes?: { IndexName: string }[] }).GlobalSecondaryIndexes ?? []).map((g) => g.IndexName))
        .filter((names) => names.includes('byTypeChangedAt'));
    expect(indexesOf({ 'producersync:legacyTypeIndex': 'true' })).toEqual([['byTypeUpdatedAt', 'byTypeChangedAt']]);
    expect(indexesOf({})).toEqual([['byTypeChangedAt']]);
  });

  it('control table: pk/sk, TTL expiresAt, byKind GSI, no stream, PITR, deletion protection, KMS, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [key('pk', 'HASH'), key('sk', 'RANGE')],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        GlobalSecondaryIndexes: [
          { IndexName: 'byKind', KeySchema: [key('kind', 'HASH'), key('startedAt', 'RANGE')], Projection: { ProjectionType: 'ALL' } },
        ],
        StreamSpecification: Match.absent(),
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('keeps the signing secret here, retained, KMS-encrypted with the data key and no value in the template', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
        GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'signingSecret', ExcludePunctuation: true },
        SecretString: Match.absent(),
      },
      DeletionPolicy: 'Retain',
    });
    template.hasOutput('DataKeyArn', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] } });
  });

  it('keeps the construct ids other parts look up', () => {
    const ids = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    expect(ids.some((id) => id.startsWith('DataTable'))).toBe(true);
    expect(ids.some((id) => id.startsWith('ControlTable'))).toBe(true);
    expect(ids).toHaveLength(2);
  });
});
