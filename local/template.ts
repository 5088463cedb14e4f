import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '#local/aws-env';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

export interface CfnTemplate {
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
}

export interface StackTemplate {
  stackName: string;
  template: CfnTemplate;
}

/** What a resource resolves to: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

export interface ResolveContext {
  stacks: StackTemplate[];
  /** The stack the value being resolved belongs to. */
  stack: StackTemplate;
  /** Provisioned resources by `physicalKey(stackName, logicalId)`; anything absent gets a deterministic default. */
  physical?: Map<string, PhysicalResource>;
}

export const physicalKey = (stackName: string, logicalId: string): string => `${stackName}/${logicalId}`;

/** Loads every stack template of a cloud assembly directory (cdk.out), nested stage assemblies included. */
export function loadCloudAssembly(dir: string): StackTemplate[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; displayName?: string; properties?: Record<string, unknown> }>;
  };
  const stacks: StackTemplate[] = [];
  for (const [artifactId, artifact] of Object.entries(manifest.artifacts ?? {})) {
    const props = artifact.properties ?? {};
    if (artifact.type === 'aws:cloudformation:stack' && typeof props.templateFile === 'string') {
      const template = JSON.parse(readFileSync(join(dir, props.templateFile), 'utf8')) as CfnTemplate;
      stacks.push({ stackName: typeof props.stackName === 'string' ? props.stackName : artifactId, template });
    } else if (artifact.type === 'cdk:cloud-assembly' && typeof props.directoryName === 'string') {
      stacks.push(...loadCloudAssembly(join(dir, props.directoryName)));
    }
  }
  return stacks;
}

/** Templates of an in-memory synthesized assembly (`app.synth()`), e.g. from `buildApp()`. */
export function templatesFromAssembly(assembly: { stacks: ReadonlyArray<{ stackName: string; template: unknown }> }): StackTemplate[] {
  return assembly.stacks.map((s) => ({ stackName: s.stackName, template: s.template as CfnTemplate }));
}

/** Segments that name the L1 inside a wrapper construct (`PrepareFunction/Function/Resource`) rather than the part. */
const GENERIC_SEGMENTS = new Set(['Resource', 'Default', 'Function', 'StateMachine', 'Table', 'Queue', 'Secret']);

/**
 * The construct id of a resource from `aws:cdk:path`: the innermost meaningful segment, so both
 * `Stack/DataTable/Resource` and `Stack/PrepareFunction/Function/Resource` name their part; else the logical id minus CDK's hash.
 */
export function constructIdOf(resource: CfnResource | undefined, logicalId: string): string {
  const path = resource?.Metadata?.['aws:cdk:path'];
  if (typeof path === 'string') {
    const segments = path.split('/').slice(1);
    if (segments.at(-1) === 'Resource' || segments.at(-1) === 'Default') segments.pop();
    while (segments.length > 1 && GENERIC_SEGMENTS.has(segments.at(-1) ?? '')) segments.pop();
    const id = segments.at(-1);
    if (id) return id;
  }
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/** Whether a resource's construct path contains the given construct id (e.g. `SyncStateMachine`). */
export function pathContains(resource: CfnResource, constructId: string): boolean {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' && path.split('/').includes(constructId);
}

/**
 * The Lambda function id (`PrepareFunction`, ...) of a function's logical id: from its `aws:cdk:path` when the
 * templates are given, else from the logical id alone (CDK's logical id is the path plus an 8-character hash).
 */
export function functionIdOf(logicalId: string, stacks?: StackTemplate[]): string {
  if (!stacks) return constructIdOf(undefined, logicalId);
  for (const { template } of stacks) {
    const resource = template.Resources?.[logicalId];
    if (resource?.Type === 'AWS::Lambda::Function') return constructIdOf(resource, logicalId);
  }
  throw new Error(`No AWS::Lambda::Function with logical id ${logicalId}`);
}

/** Every resource of the given type across all stacks. */
export function resourcesOfType(
  stacks: StackTemplate[],
  type: string,
): Array<{ stack: StackTemplate; logicalId: string; resource: CfnResource; constructId: string }> {
  const found = [];
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (resource.Type === type) found.push({ stack, logicalId, resource, constructId: constructIdOf(resource, logicalId) });
    }
  }
  return found;
}

const arn = (service: string, resource: string): string => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${resource}`;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** A deterministic stand-in for a resource that was not provisioned (functions, state machines, roles...). */
export function defaultPhysical(stack: StackTemplate, logicalId: string, resource: CfnResource): PhysicalResource {
  const props = resource.Properties ?? {};
  const id = constructIdOf(resource, logicalId);
  switch (resource.Type) {
    case 'AWS::Lambda::Function': {
      const name = str(props.FunctionName) ?? `${stack.stackName}-${id}`;
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    }
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable': {
      const name = str(props.TableName) ?? `${stack.stackName}-${id}`;
      const tableArn = arn('dynamodb', `table/${name}`);
      return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/1970-01-01T00:00:00.000` } };
    }
    case 'AWS::SQS::Queue': {
      const name = str(props.QueueName) ?? `${stack.stackName}-${id}`;
      const url = `http://127.0.0.1/${LOCAL_ACCOUNT_ID}/${name}`;
      return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::SecretsManager::Secret': {
      const name = str(props.Name) ?? `${stack.stackName}-${id}`;
      const secretArn = arn('secretsmanager', `secret:${name}`);
      return { ref: secretArn, attributes: { Id: secretArn } };
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = str(props.StateMachineName) ?? `${stack.stackName}-${id}`;
      const machineArn = arn('states', `stateMachine:${name}`);
      return { ref: machineArn, attributes: { Arn: machineArn, Name: name } };
    }
    default:
      return { ref: `${stack.stackName}-${logicalId}`, attributes: { Arn: arn('local', `${stack.stackName}/${logicalId}`) } };
  }
}

function physicalOf(ctx: ResolveContext, logicalId: string): PhysicalResource {
  const provisioned = ctx.physical?.get(physicalKey(ctx.stack.stackName, logicalId));
  if (provisioned) return provisioned;
  const resource = ctx.stack.template.Resources?.[logicalId];
  if (!resource) throw new Error(`Unresolvable reference to ${logicalId} in stack ${ctx.stack.stackName}`);
  return defaultPhysical(ctx.stack, logicalId, resource);
}

/** Marks `Ref: AWS::NoValue`, removed from the enclosing object or array. */
const NO_VALUE = Symbol('AWS::NoValue');

function refOf(name: string, ctx: ResolveContext): unknown {
  switch (name) {
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::Region':
      return LOCAL_REGION;
    case 'AWS::AccountId':
      return LOCAL_ACCOUNT_ID;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return ctx.stack.stackName;
    case 'AWS::StackId':
      return arn('cloudformation', `stack/${ctx.stack.stackName}/local`);
    case 'AWS::NoValue':
      return NO_VALUE;
  }
  const parameter = ctx.stack.template.Parameters?.[name];
  if (parameter) return parameter.Default ?? '';
  return physicalOf(ctx, name).ref;
}

function getAtt(logicalId: string, attribute: string, ctx: ResolveContext): string {
  const physical = physicalOf(ctx, logicalId);
  const value = physical.attributes[attribute];
  if (value === undefined) {
    throw new Error(`Fn::GetAtt ${logicalId}.${attribute} is not supported locally (stack ${ctx.stack.stackName})`);
  }
  return value;
}

function importValue(name: string, ctx: ResolveContext): unknown {
  for (const stack of ctx.stacks) {
    for (const output of Object.values(stack.template.Outputs ?? {})) {
      if (!output.Export) continue;
      const exportCtx = { ...ctx, stack };
      if (resolveIntrinsics(output.Export.Name, exportCtx) === name) return resolveIntrinsics(output.Value, exportCtx);
    }
  }
  throw new Error(`Fn::ImportValue ${name}: no stack exports it`);
}

function sub(template: string, variables: Record<string, unknown>, ctx: ResolveContext): string {
  return template.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in variables) return String(variables[name]);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), ctx);
    return String(refOf(name, ctx));
  });
}

function condition(name: string, ctx: ResolveContext): boolean {
  const definition = ctx.stack.template.Conditions?.[name];
  if (definition === undefined) throw new Error(`Unknown condition ${name}`);
  return Boolean(resolveIntrinsics(definition, ctx));
}

function resolveFunction(name: string, arg: unknown, ctx: ResolveContext): unknown {
  const r = (v: unknown): unknown => resolveIntrinsics(v, ctx);
  switch (name) {
    case 'Ref':
      return refOf(String(arg), ctx);
    case 'Fn::GetAtt': {
      const [logicalId, ...attribute] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
      return getAtt(String(logicalId), attribute.join('.'), ctx);
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown];
      return (r(parts) as unknown[]).map(String).join(separator);
    }
    case 'Fn::Sub': {
      if (typeof arg === 'string') return sub(arg, {}, ctx);
      const [template, variables] = arg as [string, Record<string, unknown>];
      return sub(template, r(variables) as Record<string, unknown>, ctx);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      return (r(list) as unknown[])[Number(r(index))];
    }
    case 'Fn::Split': {
      const [separator, source] = arg as [string, unknown];
      return String(r(source)).split(separator);
    }
    case 'Fn::ImportValue':
      return importValue(String(r(arg)), ctx);
    case 'Fn::If': {
      const [conditionName, whenTrue, whenFalse] = arg as [string, unknown, unknown];
      return condition(conditionName, ctx) ? r(whenTrue) : r(whenFalse);
    }
    case 'Fn::Equals': {
      const [a, b] = r(arg) as [unknown, unknown];
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::Not':
      return !(r(arg) as unknown[])[0];
    case 'Fn::And':
      return (r(arg) as unknown[]).every(Boolean);
    case 'Fn::Or':
      return (r(arg) as unknown[]).some(Boolean);
    case 'Condition':
      return condition(String(arg), ctx);
    case 'Fn::GetAZs':
      return [`${LOCAL_REGION}a`, `${LOCAL_REGION}b`, `${LOCAL_REGION}c`];
    default:
      return undefined;
  }
}

const INTRINSICS = new Set([
  'Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Sub', 'Fn::Select', 'Fn::Split', 'Fn::ImportValue',
  'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Condition', 'Fn::GetAZs',
]);

/** Resolves CloudFormation intrinsic functions in a value, against provisioned (or default) physical resources. */
export function resolveIntrinsics(value: unknown, ctx: ResolveContext): unknown {
  const resolved = resolveValue(value, ctx);
  return resolved === NO_VALUE ? undefined : resolved;
}

function resolveValue(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, ctx)).filter((v) => v !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first) {
    const [key, arg] = first;
    if (INTRINSICS.has(key)) return resolveFunction(key, arg, ctx);
    if (key.startsWith('Fn::')) throw new Error(`Intrinsic ${key} is not supported locally`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) {
    const resolved = resolveValue(v, ctx);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}
