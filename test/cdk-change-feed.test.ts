import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { ProducerSyncPipeline } from '#lib/pipeline';
import { actionsOf, functionProps, logicalIdOf, statementsOfRole, type Json } from './support/cdk-template.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

type Resource = { Type: string; Properties: Json & Record<string, unknown> };
const resources = (template: Template, type: string): Record<string, Resource> => template.findResources(type) as Record<string, Resource>;
const subscriptionOf = (template: Template, team: string): Json => resources(template, 'AWS::SNS::Subscription')[logicalIdOf(template, 'AWS::SNS::Subscription', `ChangeFeedTeam${team}Subscription`)]!.Properties;

describe('change feed (ProducerSyncPipeline.addChangeFeed)', () => {
  let pipeline: ProducerSyncPipeline;
  let template: Template;

  beforeAll(() => {
    const app = new App({ context: NO_BUNDLING });
    pipeline = new ProducerSyncPipeline(app, 'ProducerSync');
    pipeline.addChangeFeed('claims', { recordTypes: ['licenses'], states: ['TX'] });
    pipeline.addChangeFeed('texas', { states: ['TX', 'OK'] });
    pipeline.addChangeFeed('watchlist', { npns: ['15645555', '19855109'], maxReceiveCount: 2, visibilityTimeout: Duration.minutes(2), retentionPeriod: Duration.days(4) });
    pipeline.addChangeFeed('all-changes');
    template = Template.fromStack(pipeline.changeFeed!.topic.stack);
  });

  it('lives in its own stack, created by the first feed, named after the deployment', () => {
    expect(pipeline.changeFeed!.topic.stack.stackName).toBe('ProducerSyncFeed');
    expect([...pipeline.changeFeed!.teamFeeds.keys()]).toEqual(['claims', 'texas', 'watchlist', 'all-changes']);
    const bare = new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'ProducerSync');
    expect(bare.changeFeed).toBeUndefined();
    expect(bare.node.children.filter((c) => c instanceof Stack).map((s) => (s as Stack).stackName).sort()).toEqual(['ProducerSyncData', 'ProducerSyncIngest', 'ProducerSyncSync']);
    const staged = new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'ProducerSync', { stage: 'qa' });
    expect(staged.addChangeFeed('claims').queue.stack.stackName).toBe('ProducerSync-qa-Feed');
    const named = new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'ProducerSync', { names: { stacks: { feed: 'team-feed' } } });
    expect(named.addChangeFeed('claims').queue.stack.stackName).toBe('team-feed');
  });

  it('publishes to an SNS FIFO topic: per-group throughput, a 14-day archive for replay, KMS, TLS only', () => {
    const [topic] = Object.values(resources(template, 'AWS::SNS::Topic'));
    expect(topic!.Properties).toMatchObject({
      FifoTopic: true,
      FifoThroughputScope: 'MessageGroup',
      ArchivePolicy: { MessageRetentionPeriod: 14 },
      KmsMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^ChangeFeedFeedKey/), 'Arn'] },
    });
    expect(topic!.Properties.ContentBasedDeduplication).toBeUndefined();
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('runs one publisher on the data table stream: from LATEST, one batch per shard, partial batch failures, a DLQ after 6 hours', () => {
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toMatchObject({
      EventSourceArn: { 'Fn::ImportValue': expect.stringMatching(/DataTable.*StreamArn/) },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRecordAgeInSeconds: 21_600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'ChangeFeedPublisherDeadLetterQueue'), 'Arn'] } } },
    });
    const env = (functionProps(template, 'ChangeFeedFeedPublisherFunction').Environment as { Variables: Json }).Variables;
    expect(env).toMatchObject({ CHANGE_TOPIC_ARN: { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'ChangeFeedTopic') }, POWERTOOLS_SERVICE_NAME: 'producersync-feed-publisher' });
    expect(functionProps(template, 'ChangeFeedFeedPublisherFunction')).toMatchObject({ Runtime: 'nodejs24.x', Timeout: 60 });
  });

  it('grants the publisher exactly: read the stream (data key via DynamoDB), publish (feed key via SNS), send to its DLQ (via SQS)', () => {
    const statements = statementsOfRole(template, 'ChangeFeedFeedPublisherFunctionRole');
    expect(actionsOf(statements).sort()).toEqual(
      [
        'logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
        'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'kms:Decrypt', 'kms:DescribeKey',
        'sqs:SendMessage', 'kms:Decrypt', 'kms:GenerateDataKey', 'sns:Publish', 'kms:Decrypt', 'kms:GenerateDataKey',
      ].sort(),
    );
    const keyStatements = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')));
    const via = keyStatements.map((s) => JSON.stringify((s.Condition as Json).StringEquals)).map((c) => /"(dynamodb|sns|sqs)\./.exec(c)?.[1]);
    expect(via.sort()).toEqual(['dynamodb', 'sns', 'sqs']);
    expect(statements.find((s) => s.Action === 'sns:Publish')?.Resource).toEqual({ Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'ChangeFeedTopic') });
  });

  it('gives every team an encrypted FIFO queue with high throughput and a FIFO dead-letter queue, under a key of its own', () => {
    const queues = resources(template, 'AWS::SQS::Queue');
    for (const team of ['Claims', 'Texas', 'Watchlist', 'AllChanges']) {
      const queueId = logicalIdOf(template, 'AWS::SQS::Queue', `ChangeFeedTeam${team}Queue`);
      const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', `ChangeFeedTeam${team}DeadLetterQueue`);
      const key = { 'Fn::GetAtt': [expect.stringMatching(/^ChangeFeedQueueKey/), 'Arn'] };
      expect(queues[queueId]!.Properties).toMatchObject({
        FifoQueue: true,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        KmsMasterKeyId: key,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      });
      expect(queues[dlqId]!.Properties).toMatchObject({ FifoQueue: true, KmsMasterKeyId: key, RedriveAllowPolicy: { redrivePermission: 'allowAll' } });
      const subscription = subscriptionOf(template, team);
      expect(subscription).toMatchObject({
        TopicArn: { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'ChangeFeedTopic') },
        Endpoint: { 'Fn::GetAtt': [queueId, 'Arn'] },
        Protocol: 'sqs',
        RawMessageDelivery: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      });
      // SNS may send to the queue and its DLQ for this topic only, and the subscription waits for those policies.
      const policies = Object.entries(resources(template, 'AWS::SQS::QueuePolicy')).filter(([, p]) => (p.Properties.Queues as Json[]).some((q) => [queueId, dlqId].includes(q.Ref as string)));
      expect(policies).toHaveLength(2);
      for (const [, policy] of policies) {
        expect((policy.Properties.PolicyDocument as { Statement: Json[] }).Statement).toContainEqual(
          expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'ChangeFeedTopic') } } } }),
        );
      }
      const subscriptionId = logicalIdOf(template, 'AWS::SNS::Subscription', `ChangeFeedTeam${team}Subscription`);
      expect((template.toJSON() as { Resources: Record<string, { DependsOn?: string[] }> }).Resources[subscriptionId]!.DependsOn?.sort()).toEqual(policies.map(([id]) => id).sort());
    }
    const claims = queues[logicalIdOf(template, 'AWS::SQS::Queue', 'ChangeFeedTeamClaimsQueue')]!.Properties;
    expect(claims).toMatchObject({ VisibilityTimeout: 300, MessageRetentionPeriod: 1_209_600, RedrivePolicy: { maxReceiveCount: 5 } });
    const watchlist = queues[logicalIdOf(template, 'AWS::SQS::Queue', 'ChangeFeedTeamWatchlistQueue')]!.Properties;
    expect(watchlist).toMatchObject({ VisibilityTimeout: 120, MessageRetentionPeriod: 345_600, RedrivePolicy: { maxReceiveCount: 2 } });
    // SNS may put messages on the queues (this topic only) and encrypt them with the queue key.
    const queueKey = resources(template, 'AWS::KMS::Key')[logicalIdOf(template, 'AWS::KMS::Key', 'ChangeFeedQueueKey')]!.Properties as { KeyPolicy: { Statement: Json[] } };
    expect(queueKey.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'sns.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'ChangeFeedTopic') } } },
      }),
    );
  });

  it('filters each subscription on the event body by exactly the options given', () => {
    const orStates = (...states: string[]) => [{ forState: states }, { forState: [{ exists: false }] }];
    expect(subscriptionOf(template, 'Claims')).toMatchObject({ FilterPolicyScope: 'MessageBody', FilterPolicy: { recordType: ['licenses'], $or: orStates('TX') } });
    expect(subscriptionOf(template, 'Texas')).toMatchObject({ FilterPolicyScope: 'MessageBody', FilterPolicy: { $or: orStates('OK', 'TX') } });
    expect((subscriptionOf(template, 'Texas').FilterPolicy as Json).recordType).toBeUndefined();
    expect(subscriptionOf(template, 'Watchlist')).toMatchObject({ FilterPolicyScope: 'MessageBody', FilterPolicy: { npn: ['15645555', '19855109'] } });
    expect(subscriptionOf(template, 'AllChanges').FilterPolicy).toBeUndefined();
    expect(subscriptionOf(template, 'AllChanges').FilterPolicyScope).toBeUndefined();
  });

  it('alarms on publisher errors, lag and dead letters and on every team DLQ, into the pipeline alarm topic', () => {
    const alarms = resources(template, 'AWS::CloudWatch::Alarm');
    const byId = (prefix: string) => Object.entries(alarms).find(([id]) => id.startsWith(prefix))![1].Properties;
    expect(byId('ChangeFeedPublisherLag')).toMatchObject({ MetricName: 'IteratorAge', Statistic: 'Maximum', Threshold: 3_600_000 });
    expect(byId('ChangeFeedPublisherErrors')).toMatchObject({ MetricName: 'Errors', Threshold: 1 });
    expect(byId('ChangeFeedPublisherDeadLetterQueueNotEmpty')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
    expect(byId('ChangeFeedTeamClaimsDeadLetterQueueNotEmpty')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
    expect(Object.keys(alarms)).toHaveLength(3 + 4);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ 'Fn::ImportValue': expect.stringMatching(/AlarmTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    }
  });

  it('outputs the topic, the key consumers decrypt with, and each team queue', () => {
    for (const output of ['FeedTopicArn', 'FeedQueueKeyArn', 'FeedPublisherDeadLetterQueueUrl', 'ClaimsFeedQueueUrl', 'ClaimsFeedQueueArn', 'ClaimsFeedDeadLetterQueueUrl', 'ClaimsFeedSubscriptionArn', 'AllChangesFeedQueueUrl']) {
      template.hasOutput(output, {});
    }
    expect((template.toJSON() as { Outputs: Record<string, Json> }).Outputs.FeedQueueKeyArn).toEqual({
      Value: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::KMS::Key', 'ChangeFeedQueueKey'), 'Arn'] },
      Description: 'Team consumers need kms:Decrypt on this key',
    });
  });

  it('grantConsume lets a consumer receive, delete and decrypt through SQS only, for that team queue', () => {
    const fresh = new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'ProducerSync');
    const claims = fresh.addChangeFeed('claims', { recordTypes: ['licenses'] });
    const stack = claims.queue.stack;
    const role = new iam.Role(stack, 'ClaimsConsumerRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    claims.grantConsume(role);
    const statements = statementsOfRole(Template.fromStack(stack), 'ClaimsConsumerRole');
    expect(actionsOf(statements).sort()).toEqual(['kms:Decrypt', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    expect(statements.find((s) => actionsOf([s]).includes('kms:Decrypt'))?.Condition).toMatchObject({ StringEquals: { 'kms:ViaService': expect.anything() } });
  });

  it.each([
    ['a bad name', () => new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'P').addChangeFeed('claims team'), /change feed name must be 1-40 letters/],
    ['a name taken twice', () => {
      const p = new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'P');
      p.addChangeFeed('all-changes');
      p.addChangeFeed('AllChanges');
    }, /change feed "AllChanges" already exists \(as "all-changes"\)/],
    ['an unknown record type', () => new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'P').addChangeFeed('x', { recordTypes: ['license'] }), /change feed x: recordTypes must be/],
    ['too many combinations', () => new ProducerSyncPipeline(new App({ context: NO_BUNDLING }), 'P').addChangeFeed('x', { npns: Array.from({ length: 151 }, (_, i) => String(i + 1)) }), /151 value combinations/],
  ])('refuses %s at synth time', (_, add, message) => {
    expect(add).toThrow(message);
  });
});

describe('change feeds from context (this app)', () => {
  it('adds one feed per team of producersync:changeFeeds, given in cdk.json form or as JSON text on the command line', () => {
    for (const feeds of [{ claims: { recordTypes: ['licenses'], states: ['TX'] }, audit: {} }, '{"claims":{"recordTypes":["licenses"],"states":["TX"]},"audit":{}}']) {
      const { pipeline } = buildApp({ context: { ...NO_BUNDLING, 'producersync:changeFeeds': feeds } });
      expect([...pipeline.changeFeed!.teamFeeds.keys()]).toEqual(['claims', 'audit']);
      expect(pipeline.changeFeed!.teamFeeds.get('claims')!.filter).toEqual({ recordTypes: ['licenses'], states: ['TX'] });
    }
    expect(buildApp({ context: NO_BUNDLING }).pipeline.changeFeed).toBeUndefined();
  });

  it.each([
    ['{not json', /producersync:changeFeeds must be JSON/],
    ['["claims"]', /must be an object of team name to feed options/],
    ['{"claims":{"recordType":["licenses"]}}', /claims has unknown options recordType/],
    ['{"claims":{"states":"TX"}}', /claims.states must be a list of strings/],
    ['{"claims":{"maxReceiveCount":0}}', /claims.maxReceiveCount must be a positive integer/],
    ['{"claims":{"states":["Texas"]}}', /change feed claims: states must be two upper-case letters/],
  ])('refuses %s', (feeds, message) => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, 'producersync:changeFeeds': feeds } })).toThrow(message);
  });

  it('synthesizes with feeds and no cdk-nag or template validator finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'producersync-feed-nag-'));
    outdirs.push(outdir);
    const { app } = buildApp({ outdir, context: { ...NO_BUNDLING, 'producersync:exampleConsumer': true, 'producersync:changeFeeds': { claims: { recordTypes: ['licenses'], states: ['TX'] }, all: {} } } });
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['ProducerSyncData', 'ProducerSyncFeed', 'ProducerSyncIngest', 'ProducerSyncSync']);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[] };
    expect(report.pluginReports.map((r) => r.pluginName)).toContain('cdk-validator-cfnguard');
    for (const plugin of report.pluginReports) expect([plugin.pluginName, plugin.conclusion, plugin.violations]).toEqual([plugin.pluginName, 'success', []]);
  });
});
