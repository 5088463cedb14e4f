import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';

const outdirs: string[] = [];
function freshOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'producersync-nag-'));
  outdirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('cdk-nag AwsSolutions', () => {
  it('synthesizes every stack, example consumer, alarm e-mail and custom domain included, with no unacknowledged finding', () => {
    const outdir = freshOutdir();
    const { app } = buildApp({
      outdir,
      context: {
        'aws:cdk:bundling-stacks': [],
        'producersync:exampleConsumer': true,
        'producersync:alarmEmail': 'ops@example.com',
        'producersync:environment': 'production',
        'producersync:webhookDomainName': 'hooks.example.com',
        'producersync:webhookCertificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        'producersync:webhookHostedZoneId': 'Z0123456789',
        'producersync:webhookHostedZoneName': 'example.com',
      },
    });
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['ProducerSyncData', 'ProducerSyncIngest', 'ProducerSyncSync']);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[]; suppressedViolations?: { reason?: string }[] }[];
    };
    const guard = report.pluginReports.find((r) => r.pluginName === 'cdk-validator-cfnguard');
    expect(guard, 'the template validator ran').toBeDefined();
    for (const plugin of report.pluginReports) {
      expect(plugin.violations, plugin.pluginName).toEqual([]);
      expect(plugin.conclusion).toBe('success');
    }
    // Every acknowledged finding carries its reason.
    for (const suppressed of guard!.suppressedViolations ?? []) expect(suppressed.reason?.length).toBeGreaterThan(20);
  });

  it('also runs the Control Tower template validator: a log group kept for a week fails the synth with its control id', () => {
    const { app, dataStack } = buildApp({ outdir: freshOutdir(), context: { 'aws:cdk:bundling-stacks': [] } });
    new logs.LogGroup(dataStack, 'ShortLivedLogs', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
    expect(() => app.synth()).toThrow(/CT\.CLOUDWATCH\.PR\.2|cloudwatch_log_group_retention_period_check/);
  });

  it('is really checking: an unencrypted, non-TLS queue added to a stack fails the synth with the rule id', () => {
    const { app, ingestStack } = buildApp({ outdir: freshOutdir(), context: { 'aws:cdk:bundling-stacks': [] } });
    new sqs.Queue(ingestStack, 'CarelessQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});

describe('least privilege', () => {
  // Actions AWS offers no resource-level permissions for, so "*" is the only possible resource.
  const RESOURCELESS_ACTIONS = /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)|dynamodb:ListStreams)$/;

  it('uses a bare "*" resource only for actions without resource-level permissions, and attaches no managed policies', () => {
    const { dataStack, syncStack, ingestStack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'producersync:exampleConsumer': true } });
    for (const stack of [dataStack, syncStack, ingestStack]) {
      const template = Template.fromStack(stack);
      const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
        (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
      );
      for (const statement of statements.filter((s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')))) {
        const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
        for (const action of actions) expect(action, `${stack.stackName}: ${action} on "*"`).toMatch(RESOURCELESS_ACTIONS);
      }
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect((role as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns).toBeUndefined();
      }
    }
  });
});
