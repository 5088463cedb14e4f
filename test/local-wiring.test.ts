import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePattern, eventSourceMappings, httpRoutes, scheduleRules } from '#local/wiring';
import { provisionTestResources, useLocalAws, type LocalAws, type TestResources } from './support/local-aws.ts';

/** The triggers of the real app, read from its synthesized templates as AWS reads them. */
describe('wiring of the real app', () => {
  let local: LocalAws;
  let resources: TestResources;

  beforeAll(async () => {
    local = await useLocalAws();
    resources = await provisionTestResources('wiring');
  });
  afterAll(() => local?.cleanup());

  it('routes POST /webhooks/psapi to the webhook function', () => {
    expect(httpRoutes(resources.stacks, resources)).toEqual([{ routeKey: 'POST /webhooks/psapi', functionId: 'WebhookFunction' }]);
  });

  it('feeds the events queue to the dispatcher in batches of up to 1,000 with partial batch responses', () => {
    const mappings = eventSourceMappings(resources.stacks, resources);
    expect(mappings).toEqual([
      {
        functionId: 'DispatcherFunction',
        source: { kind: 'sqs', queueUrl: resources.resources.EventsQueue?.url, queueArn: resources.resources.EventsQueue?.arn },
        batchSize: 1000,
        reportBatchItemFailures: true,
      },
    ]);
  });

  it('finds every scheduled rule with its target function and input', () => {
    const rules = scheduleRules(resources.stacks, resources);
    expect(rules).toContainEqual({
      ruleId: 'RetryPendingActivationsSchedule',
      expression: 'rate(1 hour)',
      functionId: 'DispatcherFunction',
      input: { source: 'producersync.schedule', action: 'retry-pending-activations' },
    });
    for (const rule of rules) expect(rule.expression).toMatch(/^(rate|cron)\(.+\)$/);
  });
});

describe('compilePattern (event source mapping FilterCriteria)', () => {
  const record = (recordType: string | undefined) => ({
    eventName: 'MODIFY',
    dynamodb: { NewImage: recordType === undefined ? {} : { recordType: { S: recordType } } },
  });

  it('matches nested values from a list, as the example consumer filter does', () => {
    const licenses = compilePattern({ dynamodb: { NewImage: { recordType: { S: ['licenses', 'appointments'] } } } }, 'test');
    expect(licenses(record('licenses'))).toBe(true);
    expect(licenses(record('appointments'))).toBe(true);
    expect(licenses(record('addresses'))).toBe(false);
    expect(licenses(record(undefined))).toBe(false);
    expect(licenses({ eventName: 'REMOVE' })).toBe(false);
  });

  it('supports exists, prefix and anything-but', () => {
    expect(compilePattern({ eventName: [{ prefix: 'INS' }] }, 't')({ eventName: 'INSERT' })).toBe(true);
    expect(compilePattern({ eventName: [{ 'anything-but': ['REMOVE'] }] }, 't')({ eventName: 'REMOVE' })).toBe(false);
    expect(compilePattern({ eventName: [{ 'anything-but': 'REMOVE' }] }, 't')({ eventName: 'MODIFY' })).toBe(true);
    expect(compilePattern({ dynamodb: { OldImage: [{ exists: false }] } }, 't')({ dynamodb: {} })).toBe(true);
    expect(compilePattern({ dynamodb: { OldImage: [{ exists: true }] } }, 't')({ dynamodb: {} })).toBe(false);
  });

  it('refuses an operator it cannot evaluate instead of matching everything', () => {
    expect(() => compilePattern({ size: [{ numeric: ['>', 0] }] }, 'ExampleMapping')).toThrow('ExampleMapping: size: filter operator numeric is not supported locally');
  });
});
