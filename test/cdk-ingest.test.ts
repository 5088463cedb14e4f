import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { METRIC_NAMES } from '#commons/metrics';
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
      VisibilityTimeout: 380, // 6 x the 60 s dispatcher timeout + the 20 s batching window
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

  it('feeds the dispatcher from the queue in batches of up to 1,000 gathered for 20 s, with partial batch failures, at most 2 batches at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 20,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'EventsQueue'), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const env = (functionProps(template, 'DispatcherFunction').Environment as { Variables: Json }).Variables;
    expect(Object.keys(env).filter((name) => !name.startsWith('POWERTOOLS_') && name !== 'NODE_OPTIONS').sort()).toEqual(['CATCH_UP_AFTER_HOURS', 'CONTROL_TABLE_NAME', 'DATA_TABLE_NAME', 'PRODUCERSYNC_SECRET_ARN', 'STATE_MACHINE_ARN']);
    expect(env).toMatchObject({ CATCH_UP_AFTER_HOURS: '26', POWERTOOLS_SERVICE_NAME: 'producersync-dispatcher' });
    expect(functionProps(template, 'DispatcherFunction')).toMatchObject({ MemorySize: 512, Timeout: 60 });
    expect(functionProps(template, 'DispatcherFunction').Layers).toBeUndefined();
    expect(functionProps(template, 'DispatcherFunction').ReservedConcurrentExecutions).toBeUndefined();
  });

  it('invokes the dispatcher on three schedules, each target with retries and the schedule dead-letter queue', () => {
    const dlqArn = { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'ScheduleDeadLetterQueue'), 'Arn'] };
    const expected = { 'retry-pending-activations': 'rate(1 hour)', 'check-freshness': 'rate(1 hour)', reconcile: 'cron(0 6 ? * SUN *)' };
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => (r as { Properties: Json & { Targets: Json[] } }).Properties);
    expect(rules).toHaveLength(3);
    for (const [action, schedule] of Object.entries(expected)) {
      const rule = rules.find((r) => r.Targets[0]!.Input === JSON.stringify({ source: 'producersync.schedule', action }));
      expect(rule, action).toMatchObject({ ScheduleExpression: schedule, State: 'ENABLED' });
      expect(rule!.Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^DispatcherFunction/), 'Arn'] },
          DeadLetterConfig: { Arn: dlqArn },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 7200 },
        }),
      ]);
    }
    // A scheduled invocation the dispatcher fails (after Lambda's two retries) lands in the same queue.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^DispatcherFunction') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: dlqArn } },
    });
    const reconfigured = Template.fromStack(
      buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'producersync:reconcileSchedule': 'cron(30 2 ? * SAT *)' } }).ingestStack,
    );
    reconfigured.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(30 2 ? * SAT *)' });
    expect(() => buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'producersync:reconcileSchedule': 'weekly' } })).toThrow(/reconcileSchedule .* must be an EventBridge/);
  });

  it('lets the webhook function read the signing secret (in the data stack) and send to the queue, nothing else', () => {
    const statements = statementsOfRole(template, 'WebhookFunctionRole').filter((s) => !actionsOf([s]).some((a) => a.startsWith('logs:') || a.startsWith('xray:')));
    expect(actionsOf(statements).sort()).toEqual(['kms:Decrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']);
    const secretRead = statements.find((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(secretRead?.Resource)).toMatch(/"Fn::ImportValue":"ProducerSyncData:ExportsOutputRefWebhookSigningSecret/);
    const send = statements.find((s) => actionsOf([s]).includes('sqs:SendMessage'));
    expect(send?.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'EventsQueue'), 'Arn'] });
    const viaServices = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:'))).map((s) => JSON.stringify(s.Condition));
    expect(viaServices).toHaveLength(2);
    expect(viaServices.some((c) => c.includes('"secretsmanager.'))).toBe(true);
    expect(viaServices.some((c) => c.includes('"sqs.'))).toBe(true);
    const env = (functionProps(template, 'WebhookFunction').Environment as { Variables: Json }).Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['WEBHOOK_SECRET_ARN', 'EVENTS_QUEUE_URL']));
    expect(env.POWERTOOLS_SERVICE_NAME).toBe('producersync-webhook');
  });

  it('grants the dispatcher exactly the calls its code makes: executions of the sync machine, its table actions, the queues', () => {
    const statements = statementsOfRole(template, 'DispatcherFunctionRole');
    const start = statements.find((s) => actionsOf([s]).includes('states:StartExecution'));
    expect(actionsOf([start!])).toEqual(['states:StartExecution']);
    expect(JSON.stringify(start?.Resource)).toContain('ProducerSyncSync:ExportsOutputRefSyncStateMachine');
    const describe = statements.find((s) => actionsOf([s]).includes('states:DescribeExecution'));
    expect(JSON.stringify(describe?.Resource)).toContain(':execution:ProducerSync-Sync:*');
    const onResource = (pattern: RegExp) => actionsOf(statements.filter((s) => pattern.test(JSON.stringify(s.Resource)) && !JSON.stringify(s.Resource).includes('/index/'))).sort();
    // Status items: conditional Puts in TransactWriteItems (IAM checks PutItem) and BatchGetItem of statuses.
    expect(onResource(/DataTable/)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem']);
    expect(onResource(/ControlTable/)).toEqual([
      'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
    ]);
    const indexStatements = statements.filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    expect(actionsOf(indexStatements)).toEqual(['dynamodb:Query']);
    expect(JSON.stringify(indexStatements.map((s) => s.Resource))).toContain('/index/byKind');
    expect(JSON.stringify(statements.map((s) => s.Resource))).not.toContain('index/*');
    expect(actionsOf(statements).filter((a) => /Scan|BatchWriteItem/.test(a))).toEqual([]);
    // The credentials secret's metadata only (has the operator filled it in?), never its value, so no key use either.
    expect(actionsOf(statements).filter((a) => a.startsWith('secretsmanager:'))).toEqual(['secretsmanager:DescribeSecret']);
    const describeSecret = statements.find((s) => actionsOf([s]).includes('secretsmanager:DescribeSecret'));
    expect(JSON.stringify(describeSecret?.Resource)).toContain('ProducerSyncCredentials');
    expect(onResource(/EventsQueue/)).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    expect(onResource(/ScheduleDeadLetterQueue/)).toEqual(['sqs:SendMessage']);
    for (const statement of statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')))) {
      expect(JSON.stringify(statement.Condition)).toMatch(/"kms:ViaService":\{"Fn::Join":\["",\["(dynamodb|sqs)\./);
    }
  });

  it('holds no secret: the signing secret lives in the retained data stack', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('alarms on every way the pipeline stops or loses data, each to the KMS-encrypted topic on ALARM and OK, none breaching on missing data', () => {
    const topicId = logicalIdOf(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestKey'), 'Arn'] } });
    const alarms: Array<Json & { id: string }> = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).map(([id, a]) => ({ ...(a as { Properties: Json }).Properties, id }));
    for (const alarm of alarms) {
      expect(alarm.AlarmActions, alarm.id).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions, alarm.id).toEqual([{ Ref: topicId }]);
      expect(alarm.TreatMissingData, alarm.id).toBe('notBreaching');
    }
    const byId = (name: string) => {
      const found = alarms.filter((a) => a.id.startsWith(`Observability${name}`));
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const metricOf = (alarm: Json) => JSON.stringify(alarm.Metrics ?? [alarm]);
    expect(byId('DeadLetterQueueNotEmpty')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byId('EventsQueueStalled')).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Namespace: 'AWS/SQS', Threshold: 900 });
    expect(byId('SyncExecutionsFailed')).toMatchObject({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', Threshold: 1 });
    expect(byId('SyncExecutionsTimedOut')).toMatchObject({ MetricName: 'ExecutionsTimedOut', Namespace: 'AWS/States', Threshold: 1 });
    expect(byId('WebhookClientErrorSpike')).toMatchObject({ MetricName: '4xx', Namespace: 'AWS/ApiGateway' });
    expect(byId('WebhookServerErrors')).toMatchObject({ MetricName: '5xx', Namespace: 'AWS/ApiGateway', Threshold: 1 });
    expect(byId('DataNotFresh')).toMatchObject({
      MetricName: 'WatermarkAgeHours',
      Namespace: 'ProducerSync',
      Dimensions: [{ Name: 'service', Value: 'producersync-aws' }],
      Statistic: 'Maximum',
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 3600,
    });
    expect(byId('RecordsQuarantined')).toMatchObject({ MetricName: 'RecordsQuarantined', Dimensions: [{ Name: 'service', Value: 'producersync-aws' }], Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms.some((a) => a.MetricName === 'RunsSucceeded')).toBe(false); // NoSuccessfulRunIn26Hours is gone
    for (const fn of ['WebhookFunction', 'DispatcherFunction', 'PrepareFunction', 'SyncPagesFunction', 'FinalizeFunction']) {
      expect(byId(`${fn}Errors`), fn).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1 });
      expect(byId(`${fn}Throttles`), fn).toMatchObject({ MetricName: 'Throttles', Namespace: 'AWS/Lambda', Threshold: 1, EvaluationPeriods: 3 });
    }
    const dataThrottles = metricOf(byId('DataTableThrottled'));
    for (const part of ['ReadThrottleEvents', 'WriteThrottleEvents', '"GlobalSecondaryIndexName","Value":"byTypeChangedAt"']) expect(dataThrottles).toContain(part);
    expect(metricOf(byId('ControlTableThrottled'))).toContain('"GlobalSecondaryIndexName","Value":"byKind"');
    const scheduleFailures = metricOf(byId('ScheduleFailedInvocations'));
    expect(scheduleFailures.match(/"MetricName":"FailedInvocations"/g)).toHaveLength(3);
    expect(byId('ScheduleDeadLetterQueueNotEmpty')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
    expect(alarms).toHaveLength(22);
  });

  it('has one dashboard with the alarms and every EMF metric', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'ProducerSync' });
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: unknown } };
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of METRIC_NAMES) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('alarm');
  });

  it('deploys no example consumer unless asked', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).some((id) => id.startsWith('ExampleConsumer'))).toBe(false);
    template.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', { StartingPosition: Match.anyValue() }, 0);
  });
});
