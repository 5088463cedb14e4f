import { createRequire } from 'node:module';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { ProducerSyncPipeline } from '#lib/pipeline';
import { CREDENTIALS_PLACEHOLDER_TEMPLATE } from '#lib/sync-stack';
import { definitionTextOf } from './cdk-definition.ts';

// What a production deployer reads in the templates across deployments: a redeploy with any context
// keeps every stateful resource and secret as it is, stages share no physical name, and every state
// machine definition the construct can produce is one Step Functions accepts.
type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
type Json = Record<string, unknown>;

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
// Every option that changes the templates, at a non-default value (the stage-less deployment).
const ALL_OPTIONS = {
  ...NO_BUNDLING,
  'producersync:environment': 'production',
  'producersync:syncConcurrency': 6,
  'producersync:syncPagesConcurrency': 12,
  'producersync:dispatcherConcurrency': 5,
  'producersync:apiRequestsPerMinute': 250,
  'producersync:tokenRequestsPerMinute': 150,
  'producersync:pageSize': 500,
  'producersync:syncEndpoints': 'entities,licenses',
  'producersync:webhookRateLimit': 10,
  'producersync:webhookBurstLimit': 20,
  'producersync:dlqMaxReceiveCount': 3,
  'producersync:exampleConsumer': true,
  'producersync:alarmEmail': 'ops@example.com',
  'producersync:reconcileSchedule': 'cron(0 3 ? * SAT *)',
  'producersync:catchUpAfterHours': 30,
  'producersync:freshnessAlarmHours': 36,
  'producersync:webhookDomainName': 'hooks.example.com',
  'producersync:webhookCertificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
  'producersync:webhookHostedZoneId': 'Z0123456789',
  'producersync:webhookHostedZoneName': 'example.com',
};

/** Today's logical ids of what holds data, keys, secrets, queued events and the webhook URL (v0.1.0): never to change. */
const PINNED_LOGICAL_IDS: Record<string, Record<string, string>> = {
  ProducerSyncData: {
    DataKey17AFBB84: 'AWS::KMS::Key',
    DataTable447BC44E: 'AWS::DynamoDB::Table',
    ControlTableF3E1E223: 'AWS::DynamoDB::Table',
    WebhookSigningSecretDD964680: 'AWS::SecretsManager::Secret',
  },
  ProducerSyncSync: { SyncKey3B643820: 'AWS::KMS::Key', ProducerSyncCredentialsB68E5865: 'AWS::SecretsManager::Secret' },
  ProducerSyncIngest: {
    IngestKey8C94DE6D: 'AWS::KMS::Key',
    EventsQueueB96EB0D2: 'AWS::SQS::Queue',
    EventsDeadLetterQueue404572C7: 'AWS::SQS::Queue',
    WebhookApi28122C53: 'AWS::ApiGatewayV2::Api',
  },
};

/** Exports of v0.1.0 that other stacks import: removing one makes the producing stack's update fail. */
const V0_1_EXPORTS = [
  'ProducerSyncData:ExportsOutputFnGetAttControlTableF3E1E223ArnCD7F000D',
  'ProducerSyncData:ExportsOutputFnGetAttDataKey17AFBB84ArnCE2A1BC6',
  'ProducerSyncData:ExportsOutputRefControlTableF3E1E223C23C7EAE',
  'ProducerSyncData:ExportsOutputFnGetAttDataTable447BC44EArnA4C585D9',
  'ProducerSyncData:ExportsOutputRefDataTable447BC44E7F3657BE',
  'ProducerSyncSync:ExportsOutputRefSyncStateMachine55BE6ABB1F465B39',
];

const templatesOf = (stacks: readonly Stack[]): Record<string, Json & { Resources: Resources }> =>
  Object.fromEntries(stacks.map((stack) => [stack.stackName, Template.fromStack(stack).toJSON() as Json & { Resources: Resources }]));

const resourcesOfType = (templates: Record<string, { Resources: Resources }>, type: string) =>
  Object.entries(templates).flatMap(([stackName, t]) => Object.entries(t.Resources).filter(([, r]) => r.Type === type).map(([id, r]) => ({ stackName, id, resource: r })));

const definitionOf = (resource: { Properties?: Record<string, unknown> }): Json => JSON.parse(definitionTextOf(resource)) as Json;

const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

describe('deployments side by side and over time', () => {
  let byDefault: ReturnType<typeof templatesOf>;
  let withOptions: ReturnType<typeof templatesOf>;
  let stages: { sandbox: ReturnType<typeof templatesOf>; prod: ReturnType<typeof templatesOf> };

  beforeAll(() => {
    const plain = buildApp({ context: NO_BUNDLING });
    byDefault = templatesOf([plain.dataStack, plain.syncStack, plain.ingestStack]);
    const options = buildApp({ context: ALL_OPTIONS });
    withOptions = templatesOf([options.dataStack, options.syncStack, options.ingestStack]);
    // Two stages in one app, as a platform team might deploy them into one account.
    const app = new App({ context: NO_BUNDLING });
    const sandbox = new ProducerSyncPipeline(app, 'Sandbox', { stage: 'sandbox' });
    const prod = new ProducerSyncPipeline(app, 'Prod', { stage: 'prod', environment: 'production', exampleConsumer: true, alarmEmail: 'ops@example.com' });
    stages = {
      sandbox: templatesOf([sandbox.dataStack, sandbox.syncStack, sandbox.ingestStack]),
      prod: templatesOf([prod.dataStack, prod.syncStack, prod.ingestStack]),
    };
  });

  it('keeps the stack names and the logical ids of every stateful resource of the unstaged deployment, with any options', () => {
    for (const templates of [byDefault, withOptions]) {
      expect(Object.keys(templates).sort()).toEqual(['ProducerSyncData', 'ProducerSyncIngest', 'ProducerSyncSync']);
      for (const [stackName, pinned] of Object.entries(PINNED_LOGICAL_IDS)) {
        for (const [logicalId, type] of Object.entries(pinned)) expect(templates[stackName]!.Resources[logicalId]?.Type, `${stackName}/${logicalId}`).toBe(type);
      }
    }
  });

  it('still exports everything v0.1.0 exported, so the stacks update in order', () => {
    const exported = Object.values(byDefault).flatMap((t) => Object.values((t.Outputs ?? {}) as Record<string, { Export?: { Name: string } }>).map((o) => o.Export?.Name));
    for (const name of V0_1_EXPORTS) expect(exported, name).toContain(name);
  });

  it('defines every secret identically whatever the context or stage, so no redeploy regenerates a value', () => {
    const secretsOf = (templates: ReturnType<typeof templatesOf>) =>
      Object.fromEntries(resourcesOfType(templates, 'AWS::SecretsManager::Secret').map(({ id, resource }) => [id, resource]));
    const reference = secretsOf(byDefault);
    expect(Object.keys(reference).sort()).toEqual(['ProducerSyncCredentialsB68E5865', 'WebhookSigningSecretDD964680']);
    for (const templates of [withOptions, stages.sandbox, stages.prod]) expect(secretsOf(templates)).toEqual(reference);
    // Nothing that varies by deployment is in a secret: no environment, no stage. The one URL-bearing
    // string is the credentials placeholder frozen as 0.1.0 wrote it (lib/sync-stack.ts), the same everywhere.
    const withoutFrozenPlaceholder = JSON.stringify(reference).replace(JSON.stringify(CREDENTIALS_PLACEHOLDER_TEMPLATE).slice(1, -1), '');
    expect(withoutFrozenPlaceholder).not.toMatch(/agentsync|sandbox|production|https?:/);
  });

  it('gives two stages in one app no physical name in common, and stage names to each', () => {
    // Account-wide names a template can set; any it leaves out CloudFormation derives from the stack name.
    const NAME_PROPERTIES: Record<string, string> = {
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::CloudWatch::Dashboard': 'DashboardName',
      'AWS::CloudWatch::Alarm': 'AlarmName',
      'AWS::ApiGatewayV2::Api': 'Name',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::Events::Rule': 'Name',
      'AWS::SecretsManager::Secret': 'Name',
      'AWS::IAM::Role': 'RoleName',
      'AWS::KMS::Alias': 'AliasName',
    };
    const physicalNames = (templates: ReturnType<typeof templatesOf>): string[] => [
      ...Object.keys(templates),
      ...Object.values(templates).flatMap((t) =>
        Object.values(t.Resources).flatMap((r) => {
          const value = r.Properties?.[NAME_PROPERTIES[r.Type] ?? ''];
          return value === undefined ? [] : [typeof value === 'string' ? value : JSON.stringify(value)];
        }),
      ),
    ];
    const sandbox = physicalNames(stages.sandbox);
    const prod = physicalNames(stages.prod);
    expect(sandbox.filter((name) => prod.includes(name))).toEqual([]);
    expect(sandbox).toEqual(expect.arrayContaining(['ProducerSync-sandbox-Data', 'ProducerSync-sandbox-SyncRun', 'ProducerSync-sandbox', 'ProducerSync-sandbox-Webhook']));
    expect(prod).toEqual(expect.arrayContaining(['ProducerSync-prod-Ingest', 'ProducerSync-prod-SyncRun']));
    // Least privilege follows the stage: the dispatcher may describe its own stage's executions only.
    expect(JSON.stringify(stages.prod['ProducerSync-prod-Ingest']!.Resources)).toContain(':execution:ProducerSync-prod-SyncRun:*');
    expect(JSON.stringify(stages.prod['ProducerSync-prod-Ingest']!.Resources)).not.toContain('ProducerSync-sandbox');
  });

  it('produces state machine definitions Step Functions accepts (asl-validator), for every stage and option', () => {
    const machines = [byDefault, withOptions, stages.sandbox, stages.prod].flatMap((templates) => resourcesOfType(templates, 'AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(4);
    for (const { stackName, resource } of machines) {
      const result = aslValidator(definitionOf(resource), { checkPaths: true, checkArn: true });
      expect(result.isValid, `${stackName}: ${result.errorsText('; ')}`).toBe(true);
    }
    // The validator is really checking: a Task without a Resource is refused.
    const broken = definitionOf(machines[0]!.resource) as { States: Record<string, Json> };
    delete broken.States.Prepare!.Resource;
    expect(aslValidator(broken, { checkPaths: true, checkArn: true }).isValid).toBe(false);
  });
});
