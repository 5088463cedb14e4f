import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { logicalIdOf, statementsOfRole, actionsOf, functionProps, type Json, type Statement } from './support/cdk-template.ts';

describe('ProducerSyncIngest stack', () => {
  let template: Template;

  beforeAll(() => {
    const { ingestStack } = buildApp({
      context: { 'aws:cdk:bundling-stacks': [], 'producersync:webhookRateLimit': 7, 'producersync:webhookBurstLimit': '9', 'producersync:dlqMaxReceiveCount': 3 },
    });
    expect(ingestStack.stackName).toBe('ProducerSyncIngest');
    template = Template.fromStack(ingestStack);
  });

  it('routes POST /webhooks/psapi to the webhook function with payload v2', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/psapi', AuthorizationType: 'NONE' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhookFunction'), 'Arn'] },
    });
    expect(functionProps(template, 'WebhookFunction')).toMatchObject({ Runtime: 'nodejs24.x', MemorySize: 512, Timeout: 10 });
    template.hasOutput('WebhookUrl', { Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/webhooks/psapi$')])] } });
  });

  it('throttles the stage from context and writes access logs to a KMS-encrypted log group', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as { Properties: Json & { AccessLogSettings: { DestinationArn: unknown; Format: string } } };
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 } });
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^WebhookApiAccessLogs/), 'Arn'] });
    expect(JSON.parse(stage.Properties.AccessLogSettings.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logicalIdOf(template, 'AWS::Logs::LogGroup', 'WebhookApiAccessLogs')] as { Properties: Json };
    expect(logGroup.Properties).toMatchObject({ KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^IngestKey/), 'Arn'] }, RetentionInDays: 365 });
  });

  it('encrypts both queues with KMS, enforces TLS and redrives to the DLQ after the configured receives', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const mainId = logicalIdOf(template, 'AWS::SQS::Queue', 'EventsQueue');
    const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'EventsDeadLetterQueue');
    for (const id of [mainId, dlqId]) {
      expect((queues[id] as { Properties: Json }).Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IngestKey/), 'Arn'] });
    }
    expect((queues[mainId] as { Properties: Json }).Properties).toMatchObject({
      VisibilityTimeout: 360, // 6 x the 60 s dispatcher timeout
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
    });
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as { Properties: { Queues: { Ref: string }[]; PolicyDocument: { Statement: Json[] } } }[];
    for (const id of [mainId, dlqId]) {
      const policy = policies.find((p) => p.Properties.Queues.some((q) => q.Ref === id));
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('feeds the dispatcher from the queue in batches of 10 with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'EventsQueue'), 'Arn'] },
    });
    const env = (functionProps(template, 'DispatcherFunction').Environment as { Variables: Json }).Variables;
    expect(Object.keys(env).filter((name) => !name.startsWith('POWERTOOLS_') && name !== 'NODE_OPTIONS').sort()).toEqual(['CONTROL_TABLE_NAME', 'DATA_TABLE_NAME', 'STATE_MACHINE_ARN']);
    expect(functionProps(template, 'DispatcherFunction').Layers).toBeUndefined();
  });

  it('invokes the dispatcher hourly to retry pending activations', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DispatcherFunction'), 'Arn'] },
          Input: JSON.stringify({ source: 'producersync.schedule', action: 'retry-pending-activations' }),
        }),
      ],
    });
  });

  it('keeps the webhook function away from DynamoDB, the state machine and the ProducerSync credentials', () => {
    const statements = statementsOfRole(template, 'WebhookFunctionRole');
    const actions = actionsOf(statements);
    expect(actions.filter((a) => a.startsWith('dynamodb:') || a.startsWith('states:'))).toEqual([]);
    expect(actions).toEqual(expect.arrayContaining(['sqs:SendMessage', 'secretsmanager:GetSecretValue']));
    const secretRead = statements.find((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'));
    expect(secretRead?.Resource).toEqual({ Ref: expect.stringMatching(/^WebhookSigningSecret/) });
    const env = (functionProps(template, 'WebhookFunction').Environment as { Variables: Json }).Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['WEBHOOK_SECRET_ARN', 'EVENTS_QUEUE_URL']));
  });

  it('lets the dispatcher start and describe sync executions, use both tables and the byKind index, and not read the credentials', () => {
    const statements = statementsOfRole(template, 'DispatcherFunctionRole');
    const start = statements.find((s) => actionsOf([s]).includes('states:StartExecution'));
    expect(JSON.stringify(start?.Resource)).toContain('ProducerSyncSync:ExportsOutputRefSyncStateMachine');
    const describe = statements.find((s) => actionsOf([s]).includes('states:DescribeExecution'));
    expect(JSON.stringify(describe?.Resource)).toContain(':execution:ProducerSync-Sync:*');
    const dataStatements = statements.filter((s) => JSON.stringify(s.Resource).includes('DataTable'));
    expect(actionsOf(dataStatements)).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']));
    const controlStatement = statements.find((s) => JSON.stringify(s.Resource).includes('ControlTable') && actionsOf([s]).includes('dynamodb:Query'));
    expect(JSON.stringify(controlStatement?.Resource)).toContain('/index/byKind');
    expect(JSON.stringify(controlStatement?.Resource)).not.toContain('index/*');
    expect(actionsOf(statements).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('keeps the signing secret KMS-encrypted with no value in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestKey'), 'Arn'] },
      GenerateSecretString: { GenerateStringKey: 'signingSecret' },
      SecretString: Match.absent(),
    });
  });

  it('alarms on the DLQ, failed and timed-out runs, webhook 4xx/5xx and 26 h without a successful run, to a KMS topic', () => {
    const topicId = logicalIdOf(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestKey'), 'Arn'] } });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: Json }).Properties);
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    const byMetric = (name: string) => alarms.find((a) => a.MetricName === name);
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byMetric('ExecutionsFailed')).toMatchObject({ Namespace: 'AWS/States', Threshold: 1 });
    expect(byMetric('ExecutionsTimedOut')).toMatchObject({ Namespace: 'AWS/States', Threshold: 1 });
    expect(byMetric('4xx')).toMatchObject({ Namespace: 'AWS/ApiGateway' });
    expect(byMetric('5xx')).toMatchObject({ Namespace: 'AWS/ApiGateway', Threshold: 1 });
    const noRun = byMetric('RunsSucceeded')!;
    expect(noRun).toMatchObject({
      Namespace: 'ProducerSync',
      Dimensions: [{ Name: 'service', Value: 'producersync-aws' }],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect((noRun.Period as number) * (noRun.EvaluationPeriods as number)).toBe(26 * 3600);
    expect(noRun.DatapointsToAlarm).toBe(noRun.EvaluationPeriods);
  });

  it('has one dashboard with the alarms and every EMF metric', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'ProducerSync' });
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: unknown } };
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['RecordsInserted', 'RecordsModified', 'RecordsUnchanged', 'RecordsDeleted', 'RecordsQuarantined', 'Pages', 'Throttled', 'TokenRefreshes', 'WebhookVerifyFailures', 'RunsSucceeded']) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('alarm');
  });

  it('deploys no example consumer unless asked', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).some((id) => id.startsWith('ExampleConsumer'))).toBe(false);
    template.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', { StartingPosition: Match.anyValue() }, 0);
  });
});
