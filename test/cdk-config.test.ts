import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { AGENTSYNC_HOSTS } from '#producersync/endpoints';
import { actionsOf, functionProps, statementsOfRole, type Json } from './support/cdk-template.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

const syncPagesEnv = (template: Template): Json => (functionProps(template, 'SyncPagesFunction').Environment as { Variables: Json }).Variables;

describe('context', () => {
  it("points sync-pages at the sandbox hosts by default and the production hosts on request, through its environment only", () => {
    const sandbox = Template.fromStack(buildApp({ context: NO_BUNDLING }).syncStack);
    expect(syncPagesEnv(sandbox)).toMatchObject({ PRODUCERSYNC_API_BASE_URL: AGENTSYNC_HOSTS.sandbox.apiBaseUrl, PRODUCERSYNC_TOKEN_URL: AGENTSYNC_HOSTS.sandbox.tokenUrl });

    const production = Template.fromStack(buildApp({ context: { ...NO_BUNDLING, 'producersync:environment': 'production' } }).syncStack);
    expect(syncPagesEnv(production)).toMatchObject({ PRODUCERSYNC_API_BASE_URL: 'https://api.agentsync.io', PRODUCERSYNC_TOKEN_URL: 'https://auth.agentsync.io/oauth2/token' });
    // The environment's hosts never reach a secret (a changed secret template would regenerate the stored
    // credentials): both templates carry the same frozen 0.1.0 placeholder, whatever the environment.
    const secrets = [sandbox, production].map((template) => JSON.stringify(template.findResources('AWS::SecretsManager::Secret')));
    expect(secrets[1]).toBe(secrets[0]);
    expect(secrets[1]).not.toContain('api.agentsync.io');
  });

  it('rejects an unknown environment with a message naming the allowed values', () => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, 'producersync:environment': 'staging' } })).toThrow(
      /environment \(producersync:environment\) must be one of sandbox \| production, got "staging"/,
    );
  });

  it('rejects a non-numeric concurrency', () => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, 'producersync:syncConcurrency': 'lots' } })).toThrow(/producersync:syncConcurrency must be a positive integer/);
  });

  it('passes a chosen endpoint list to prepare and rejects unknown endpoint names', () => {
    const template = Template.fromStack(
      buildApp({ context: { ...NO_BUNDLING, 'producersync:syncEndpoints': 'licenses, licenseLoas' } }).syncStack,
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('validate the run input'),
      Environment: { Variables: Match.objectLike({ SYNC_ENDPOINTS: 'licenses,licenseLoas' }) },
    });
    expect(() => buildApp({ context: { ...NO_BUNDLING, 'producersync:syncEndpoints': 'licenses,licences' } })).toThrow(
      /syncEndpoints \(producersync:syncEndpoints\) must list endpoints of .*; unknown: licences/,
    );
  });

  it('adds the example stream consumer only with the flag, filtered to licenses', () => {
    const { ingestStack } = buildApp({ context: { ...NO_BUNDLING, 'producersync:exampleConsumer': 'true' } });
    expect(ingestStack.exampleConsumerFunction).toBeDefined();
    const template = Template.fromStack(ingestStack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^ExampleConsumerFunction') },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('DataTable.*StreamArn') },
      StartingPosition: 'LATEST',
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { NewImage: { recordType: { S: ['licenses'] } } } }) }] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Handler: 'index.handler' });
    // Least privilege: read the stream and decrypt it through DynamoDB, nothing else.
    const statements = statementsOfRole(template, 'ExampleConsumerFunctionRole');
    expect(actionsOf(statements).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:')).sort()).toEqual(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'kms:Decrypt', 'kms:DescribeKey']);
    expect(JSON.stringify(statements.find((s) => actionsOf([s]).includes('kms:Decrypt'))?.Condition)).toContain('"dynamodb.');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Statistic: 'Maximum', Threshold: 3_600_000 });

    expect(buildApp({ context: NO_BUNDLING }).ingestStack.exampleConsumerFunction).toBeUndefined();
  });

  it('subscribes the alarm e-mail only when given', () => {
    const withEmail = Template.fromStack(buildApp({ context: { ...NO_BUNDLING, 'producersync:alarmEmail': 'ops@example.com' } }).ingestStack);
    withEmail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const without = Template.fromStack(buildApp({ context: NO_BUNDLING }).ingestStack);
    without.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('serves the webhook on a custom domain when given, with alias records in the zone and the URL in WebhookUrl', () => {
    const domain = {
      'producersync:webhookDomainName': 'hooks.example.com',
      'producersync:webhookCertificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    };
    const withZone = Template.fromStack(
      buildApp({ context: { ...NO_BUNDLING, ...domain, 'producersync:webhookHostedZoneId': 'Z0123456789', 'producersync:webhookHostedZoneName': 'example.com' } }).ingestStack,
    );
    withZone.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'hooks.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: domain['producersync:webhookCertificateArn'], EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' })],
    });
    withZone.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    for (const type of ['A', 'AAAA']) withZone.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'hooks.example.com.', Type: type, HostedZoneId: 'Z0123456789' });
    withZone.hasOutput('WebhookUrl', { Value: 'https://hooks.example.com/webhooks/psapi' });

    const withoutZone = Template.fromStack(buildApp({ context: { ...NO_BUNDLING, ...domain } }).ingestStack);
    withoutZone.resourceCountIs('AWS::Route53::RecordSet', 0);
    withoutZone.hasOutput('WebhookDomainTarget', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhookDomain'), 'RegionalDomainName'] } });
    expect(() => buildApp({ context: { ...NO_BUNDLING, 'producersync:webhookDomainName': 'hooks.example.com' } })).toThrow(/go together/);
  });
});
