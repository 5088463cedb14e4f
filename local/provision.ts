/**
 * Provisioning from the synthesized templates: the DynamoDB tables, SQS queues and Secrets Manager secrets of the
 * app on the local stand-ins, and every Lambda function's environment resolved against them. Nothing here restates
 * a table or a queue: the definitions are the templates'. Provisioning again on a persisted DynamoDB Local keeps
 * the tables that already exist.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, DescribeSecretCommand, ResourceExistsException } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { dynamoClient, secretsClient, sqsClient } from '#commons/clients';
import { createTopic, subscribe } from '#local/sns';
import {
  constructIdOf,
  defaultPhysical,
  physicalKey,
  resolveIntrinsics,
  resourcesOfType,
  type CfnResource,
  type PhysicalResource,
  type ResolveContext,
  type StackTemplate,
} from '#local/template';

export interface ProvisionedResource {
  type: string;
  stackName: string;
  logicalId: string;
  constructId: string;
  /** Table name, queue name, secret name, function name or state machine name. */
  name: string;
  arn: string;
  /** SQS queue URL. */
  url?: string;
  /** DynamoDB table stream ARN. */
  streamArn?: string;
}

export interface ProvisionResult {
  /** Every provisioned (or named) resource, keyed by logical id AND by construct id (`DataTable`, `EventsQueue`...). */
  resources: Record<string, ProvisionedResource>;
  /** Resolved `Environment.Variables` of each Lambda function, keyed by function id (`SyncPagesFunction`...). */
  functionEnv: Record<string, Record<string, string>>;
  /** Physical resources for `resolveIntrinsics` / `loadStateMachine` so they see the same names. */
  physical: Map<string, PhysicalResource>;
}

export interface ProvisionOptions {
  /** Physical names are `<prefix>-<ConstructId>`: unique per test (file) so parallel runs sharing one DynamoDB Local do not collide. */
  prefix: string;
  /** DynamoDB client for the tables (default: the shared client, AWS_ENDPOINT_URL_DYNAMODB). */
  dynamo?: DynamoDBClient;
}

type Located = { stack: StackTemplate; logicalId: string; resource: CfnResource; constructId: string };

const TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

/** A name valid for tables, queues and secrets alike: letters, digits, `-` and `_` only. */
function physicalName(prefix: string, constructId: string, maxLength: number): string {
  return `${prefix}-${constructId}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, maxLength);
}

/**
 * Creates the DynamoDB tables, SQS queues and Secrets Manager secrets of the templates on the local stand-ins
 * (endpoints from AWS_ENDPOINT_URL_*), and resolves every Lambda function's environment against them.
 */
export async function provisionFromTemplates(stacks: StackTemplate[], options: ProvisionOptions): Promise<ProvisionResult> {
  const physical = new Map<string, PhysicalResource>();
  const resources: Record<string, ProvisionedResource> = {};
  const all: Located[] = stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources ?? {}).map(([logicalId, resource]) => ({
      stack,
      logicalId,
      resource,
      constructId: constructIdOf(resource, logicalId),
    })),
  );
  const ctxFor = (stack: StackTemplate): ResolveContext => ({ stacks, stack, physical });
  // A construct id several resources share (each team feed's `DeadLetterQueue`) names none of them: those go by logical id.
  const seen = new Map<string, number>();
  for (const { constructId } of all) seen.set(constructId, (seen.get(constructId) ?? 0) + 1);
  for (const located of all) if ((seen.get(located.constructId) ?? 0) > 1) located.constructId = located.logicalId;
  const record = (located: Located, entry: Omit<ProvisionedResource, 'type' | 'stackName' | 'logicalId' | 'constructId'>, ref: PhysicalResource): void => {
    physical.set(physicalKey(located.stack.stackName, located.logicalId), ref);
    const full = { type: located.resource.Type, stackName: located.stack.stackName, logicalId: located.logicalId, constructId: located.constructId, ...entry };
    resources[located.logicalId] = full;
    resources[located.constructId] = full;
  };

  // Names first, so that any resource referring to a function or state machine sees the prefixed name.
  for (const located of all) {
    const { Type } = located.resource;
    if (Type !== 'AWS::Lambda::Function' && Type !== 'AWS::StepFunctions::StateMachine') continue;
    const name = physicalName(options.prefix, located.constructId, 64);
    const props = { ...located.resource.Properties, FunctionName: name, StateMachineName: name };
    const ref = defaultPhysical(located.stack, located.logicalId, { ...located.resource, Properties: props });
    record(located, { name, arn: ref.attributes.Arn ?? ref.ref }, ref);
  }

  for (const located of all.filter((l) => TABLE_TYPES.has(l.resource.Type))) {
    const name = physicalName(options.prefix, located.constructId, 255);
    const props = resolveIntrinsics(located.resource.Properties ?? {}, ctxFor(located.stack)) as Record<string, unknown>;
    const created = await createTable(options.dynamo ?? dynamoClient(), name, props);
    const ref: PhysicalResource = { ref: name, attributes: { Arn: created.arn, ...(created.streamArn ? { StreamArn: created.streamArn } : {}) } };
    record(located, { name, arn: created.arn, ...(created.streamArn ? { streamArn: created.streamArn } : {}) }, ref);
  }

  for (const located of all.filter((l) => l.resource.Type === 'AWS::SecretsManager::Secret')) {
    const name = physicalName(options.prefix, located.constructId, 256);
    const props = resolveIntrinsics(located.resource.Properties ?? {}, ctxFor(located.stack)) as Record<string, unknown>;
    const secretArn = await createSecret(name, props);
    record(located, { name, arn: secretArn }, { ref: secretArn, attributes: { Id: secretArn } });
  }

  for (const located of all.filter((l) => l.resource.Type === 'AWS::SNS::Topic')) {
    const props = resolveIntrinsics(located.resource.Properties ?? {}, ctxFor(located.stack)) as Record<string, unknown>;
    const fifo = props.FifoTopic === true || props.FifoTopic === 'true';
    const name = physicalName(options.prefix, located.constructId, fifo ? 251 : 256) + (fifo ? '.fifo' : '');
    const arn = await createTopic(name, props);
    record(located, { name, arn }, { ref: arn, attributes: { TopicArn: arn, TopicName: name } });
  }

  // Dead-letter queues before the queues that redrive into them.
  const queues = all.filter((l) => l.resource.Type === 'AWS::SQS::Queue');
  const hasRedrive = (l: Located): boolean => l.resource.Properties?.RedrivePolicy !== undefined;
  for (const located of [...queues.filter((q) => !hasRedrive(q)), ...queues.filter(hasRedrive)]) {
    const props = resolveIntrinsics(located.resource.Properties ?? {}, ctxFor(located.stack)) as Record<string, unknown>;
    const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
    const name = physicalName(options.prefix, located.constructId, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
    const created = await createQueue(name, props);
    record(
      located,
      { name, arn: created.arn, url: created.url },
      { ref: created.url, attributes: { Arn: created.arn, QueueName: name, QueueUrl: created.url } },
    );
  }

  // SQS subscriptions once their topics and queues exist (fauxqs delivers to SQS only).
  for (const located of all.filter((l) => l.resource.Type === 'AWS::SNS::Subscription')) {
    const props = resolveIntrinsics(located.resource.Properties ?? {}, ctxFor(located.stack)) as Record<string, unknown>;
    if (props.Protocol !== 'sqs') continue;
    const arn = await subscribe(props);
    record(located, { name: arn, arn }, { ref: arn, attributes: {} });
  }

  const functionEnv: Record<string, Record<string, string>> = {};
  for (const located of all.filter((l) => l.resource.Type === 'AWS::Lambda::Function')) {
    const environment = located.resource.Properties?.Environment as { Variables?: unknown } | undefined;
    const variables = resolveIntrinsics(environment?.Variables ?? {}, ctxFor(located.stack)) as Record<string, unknown>;
    functionEnv[located.constructId] = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
  }

  return { resources, functionEnv, physical };
}

/**
 * Creates the tables of the templates named by construct id (`{DataTable: 'data-1a2b'}`), e.g. for a test that
 * needs fresh tables without the rest of the app.
 */
export async function createTablesFromTemplates(
  stacks: StackTemplate[],
  names: Record<string, string>,
  options: { dynamo?: DynamoDBClient } = {},
): Promise<Record<string, { name: string; arn: string; streamArn?: string }>> {
  const tables = resourcesOfType(stacks, 'AWS::DynamoDB::GlobalTable').concat(resourcesOfType(stacks, 'AWS::DynamoDB::Table'));
  const created: Record<string, { name: string; arn: string; streamArn?: string }> = {};
  await Promise.all(
    Object.entries(names).map(async ([constructId, name]) => {
      const found = tables.find((t) => t.constructId === constructId);
      if (!found) throw new Error(`The templates have no table ${constructId} (found: ${tables.map((t) => t.constructId).join(', ') || 'none'})`);
      const props = resolveIntrinsics(found.resource.Properties ?? {}, { stacks, stack: found.stack }) as Record<string, unknown>;
      created[constructId] = { name, ...(await createTable(options.dynamo ?? dynamoClient(), name, props)) };
    }),
  );
  return created;
}

/** CreateTable from resolved template properties; a table that already exists (a persisted DynamoDB Local) is kept as it is. */
async function createTable(client: DynamoDBClient, name: string, props: Record<string, unknown>): Promise<{ arn: string; streamArn?: string }> {
  type Gsi = { IndexName: string; KeySchema: unknown; Projection: unknown };
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  const input: CreateTableCommandInput = {
    TableName: name,
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    // Local tables are always on-demand; SSE, PITR, deletion protection and replicas are not emulated.
    BillingMode: 'PAY_PER_REQUEST',
  };
  const gsis = props.GlobalSecondaryIndexes as Gsi[] | undefined;
  if (gsis?.length) {
    input.GlobalSecondaryIndexes = gsis.map((g) => ({
      IndexName: g.IndexName,
      KeySchema: g.KeySchema,
      Projection: g.Projection,
    })) as CreateTableCommandInput['GlobalSecondaryIndexes'];
  }
  const lsis = props.LocalSecondaryIndexes as Gsi[] | undefined;
  if (lsis?.length) {
    input.LocalSecondaryIndexes = lsis.map((l) => ({
      IndexName: l.IndexName,
      KeySchema: l.KeySchema,
      Projection: l.Projection,
    })) as CreateTableCommandInput['LocalSecondaryIndexes'];
  }
  if (stream?.StreamViewType) {
    input.StreamSpecification = { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' };
  }
  let description;
  try {
    description = (await client.send(new CreateTableCommand(input))).TableDescription;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    description = (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
    return { arn: description?.TableArn ?? name, ...(description?.LatestStreamArn ? { streamArn: description.LatestStreamArn } : {}) };
  }
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.Enabled && ttl.AttributeName) {
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true } }));
  }
  return {
    arn: description?.TableArn ?? name,
    ...(description?.LatestStreamArn ? { streamArn: description.LatestStreamArn } : {}),
  };
}

const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'MaximumMessageSize',
  'ReceiveMessageWaitTimeSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
] as const;

async function createQueue(name: string, props: Record<string, unknown>): Promise<{ url: string; arn: string }> {
  const attributes: Record<string, string> = {};
  for (const key of QUEUE_ATTRIBUTES) if (props[key] !== undefined) attributes[key] = String(props[key]);
  if (props.RedrivePolicy !== undefined) {
    attributes.RedrivePolicy = typeof props.RedrivePolicy === 'string' ? props.RedrivePolicy : JSON.stringify(props.RedrivePolicy);
  }
  const created = await sqsClient().send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = created.QueueUrl;
  if (!url) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  const described = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: described.Attributes?.QueueArn ?? name };
}

/** CreateSecret with the template's initial value; an existing secret (same name) is kept with its value. */
async function createSecret(name: string, props: Record<string, unknown>): Promise<string> {
  try {
    const created = await secretsClient().send(new CreateSecretCommand({ Name: name, ...initialSecretValue(props) }));
    return created.ARN ?? name;
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    return (await secretsClient().send(new DescribeSecretCommand({ SecretId: name }))).ARN ?? name;
  }
}

/** A secret starts with its template value, a generated placeholder, or no value (callers then PutSecretValue). */
function initialSecretValue(props: Record<string, unknown>): { SecretString?: string } {
  if (typeof props.SecretString === 'string') return { SecretString: props.SecretString };
  const generate = props.GenerateSecretString as { SecretStringTemplate?: string; GenerateStringKey?: string } | undefined;
  if (!generate) return {};
  const generated = randomBytes(16).toString('hex');
  if (generate.SecretStringTemplate && generate.GenerateStringKey) {
    const template = JSON.parse(generate.SecretStringTemplate) as Record<string, unknown>;
    return { SecretString: JSON.stringify({ ...template, [generate.GenerateStringKey]: generated }) };
  }
  return { SecretString: generated };
}
