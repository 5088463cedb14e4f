/**
 * How the synthesized templates connect the functions to their triggers, read the way AWS reads them: HTTP API
 * routes (route → integration → function), event source mappings (queue or table stream → function, batch size,
 * partial batch responses, filter criteria) and EventBridge schedules (rule → target function, input). The
 * harness starts a stand-in for each; nothing about the app's wiring is restated here.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { ProvisionResult } from '#local/provision';
import { resolveIntrinsics, resourcesOfType, type StackTemplate } from '#local/template';

export interface HttpRoute {
  /** API Gateway route key, e.g. `POST /webhooks/psapi`. */
  routeKey: string;
  functionId: string;
}

export type EventSource = { kind: 'sqs'; queueUrl: string; queueArn: string } | { kind: 'dynamodb'; streamArn: string };

export interface EventSourceMapping {
  functionId: string;
  source: EventSource;
  batchSize?: number;
  /** `FunctionResponseTypes: [ReportBatchItemFailures]`: without it a returned response counts as complete success. */
  reportBatchItemFailures: boolean;
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  maximumRetryAttempts?: number;
  /** FilterCriteria as one predicate (any pattern matches); absent without filters. */
  filter?: (record: DynamoDBRecord) => boolean;
}

export interface ScheduleRule {
  /** The rule's construct id, e.g. `RetryPendingActivationsSchedule`. */
  ruleId: string;
  /** `rate(1 hour)` or `cron(0 6 ? * SUN *)`. */
  expression: string;
  functionId: string;
  /** The target's Input, parsed (the event the function receives). */
  input: unknown;
}

type Ctx = { stacks: StackTemplate[]; physical: ProvisionResult['physical'] };

/** The function id (construct id) of a resolved function name or ARN, as provisioned. */
function functionIdOf(provisioned: ProvisionResult, nameOrArn: unknown, usedBy: string): string {
  const text = String(nameOrArn);
  const found = Object.values(provisioned.resources).find((r) => r.type === 'AWS::Lambda::Function' && (r.arn === text || r.name === text));
  if (!found) throw new Error(`${usedBy} targets ${text}, which is not a function of the templates`);
  return found.constructId;
}

export function httpRoutes(stacks: StackTemplate[], provisioned: ProvisionResult): HttpRoute[] {
  const ctx: Ctx = { stacks, physical: provisioned.physical };
  return resourcesOfType(stacks, 'AWS::ApiGatewayV2::Route').map(({ stack, resource, logicalId }) => {
    const props = resource.Properties ?? {};
    const routeKey = String(props.RouteKey);
    // Target is `integrations/<integration logical id's Ref>`: find that integration in the same stack.
    const target = props.Target as { 'Fn::Join'?: [string, unknown[]] } | undefined;
    const integrationRef = (target?.['Fn::Join']?.[1] ?? []).find((part): part is { Ref: string } => typeof part === 'object' && part !== null && 'Ref' in part);
    const integration = integrationRef ? stack.template.Resources?.[integrationRef.Ref] : undefined;
    if (!integration) throw new Error(`Route ${routeKey} (${logicalId}) has no integration the local HTTP front understands`);
    const uri = resolveIntrinsics(integration.Properties?.IntegrationUri, { ...ctx, stack });
    return { routeKey, functionId: functionIdOf(provisioned, uri, `Route ${routeKey}`) };
  });
}

export function eventSourceMappings(stacks: StackTemplate[], provisioned: ProvisionResult): EventSourceMapping[] {
  const ctx: Ctx = { stacks, physical: provisioned.physical };
  return resourcesOfType(stacks, 'AWS::Lambda::EventSourceMapping').map(({ stack, resource, logicalId }) => {
    const props = resolveIntrinsics(resource.Properties ?? {}, { ...ctx, stack }) as Record<string, unknown>;
    const functionId = functionIdOf(provisioned, props.FunctionName, `Event source mapping ${logicalId}`);
    const sourceArn = String(props.EventSourceArn);
    const provisionedSource = Object.values(provisioned.resources).find((r) => r.arn === sourceArn || r.streamArn === sourceArn);
    let source: EventSource;
    if (provisionedSource?.type === 'AWS::SQS::Queue' && provisionedSource.url) {
      source = { kind: 'sqs', queueUrl: provisionedSource.url, queueArn: provisionedSource.arn };
    } else if (provisionedSource?.streamArn === sourceArn) {
      source = { kind: 'dynamodb', streamArn: sourceArn };
    } else {
      throw new Error(`Event source mapping ${logicalId} reads ${sourceArn}, which is neither a provisioned queue nor a table stream`);
    }
    const filters = ((props.FilterCriteria as { Filters?: Array<{ Pattern?: string }> } | undefined)?.Filters ?? []).map((f) =>
      compilePattern(JSON.parse(String(f.Pattern)) as Record<string, unknown>, logicalId),
    );
    const mapping: EventSourceMapping = {
      functionId,
      source,
      reportBatchItemFailures: Array.isArray(props.FunctionResponseTypes) && props.FunctionResponseTypes.includes('ReportBatchItemFailures'),
    };
    if (typeof props.BatchSize === 'number') mapping.batchSize = props.BatchSize;
    if (props.StartingPosition === 'TRIM_HORIZON' || props.StartingPosition === 'LATEST') mapping.startingPosition = props.StartingPosition;
    if (typeof props.MaximumRetryAttempts === 'number') mapping.maximumRetryAttempts = props.MaximumRetryAttempts;
    if (filters.length > 0) mapping.filter = (record) => filters.some((matches) => matches(record));
    return mapping;
  });
}

export function scheduleRules(stacks: StackTemplate[], provisioned: ProvisionResult): ScheduleRule[] {
  const ctx: Ctx = { stacks, physical: provisioned.physical };
  const rules: ScheduleRule[] = [];
  for (const { stack, resource, constructId } of resourcesOfType(stacks, 'AWS::Events::Rule')) {
    const props = resolveIntrinsics(resource.Properties ?? {}, { ...ctx, stack }) as Record<string, unknown>;
    if (typeof props.ScheduleExpression !== 'string' || props.State === 'DISABLED') continue;
    for (const target of (props.Targets as Array<Record<string, unknown>> | undefined) ?? []) {
      const functionId = functionIdOf(provisioned, target.Arn, `Rule ${constructId}`);
      const input = typeof target.Input === 'string' ? (JSON.parse(target.Input) as unknown) : {};
      rules.push({ ruleId: constructId, expression: props.ScheduleExpression, functionId, input });
    }
  }
  return rules;
}

type Matcher = (value: unknown) => boolean;

/**
 * An EventBridge-style filter pattern (what Lambda's FilterCriteria use) as a predicate: nested objects, lists
 * of allowed values, and the `exists`, `prefix` and `anything-but` operators. Anything else is refused here
 * rather than silently matching.
 */
export function compilePattern(pattern: Record<string, unknown>, where: string): (event: unknown) => boolean {
  const fields = Object.entries(pattern).map(([key, sub]): [string, Matcher] => {
    if (Array.isArray(sub)) return [key, anyOf(sub, `${where}: ${key}`)];
    if (sub !== null && typeof sub === 'object') {
      const nested = compilePattern(sub as Record<string, unknown>, `${where}.${key}`);
      return [key, (value) => nested(value)];
    }
    throw new Error(`${where}: filter pattern ${key} must be a list or an object`);
  });
  return (event) => {
    if (event === null || typeof event !== 'object') return false;
    return fields.every(([key, matches]) => matches((event as Record<string, unknown>)[key]));
  };
}

function anyOf(allowed: unknown[], where: string): Matcher {
  const checks = allowed.map((rule): Matcher => {
    if (rule === null || typeof rule !== 'object') return (value) => (Array.isArray(value) ? value.includes(rule) : value === rule);
    const [operator, argument] = Object.entries(rule)[0] ?? [];
    switch (operator) {
      case 'exists':
        return (value) => (value !== undefined) === Boolean(argument);
      case 'prefix':
        return (value) => typeof value === 'string' && value.startsWith(String(argument));
      case 'anything-but': {
        const excluded = Array.isArray(argument) ? argument : [argument];
        return (value) => value !== undefined && !excluded.includes(value);
      }
      default:
        throw new Error(`${where}: filter operator ${String(operator)} is not supported locally`);
    }
  });
  return (value) => checks.some((check) => check(value));
}
