import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { templatesFromAssembly, type StackTemplate } from '#local/template';

/** How the endpoint loop decides "there is another page" (the interpreter mishandles `IsNull: false`). */
export type NotNullStyle = 'notIsNull' | 'isNotNull';

function fn(scope: Construct, id: string, environment: Record<string, string> = {}): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    environment,
  });
}

/** Prepare (lambda:invoke) → Map over endpoints: SyncPages (plain Lambda ARN) ⟲ Wait/Choice → Finalize. */
function syncDefinition(scope: Construct, prefix: string, style: NotNullStyle, functions: Record<string, lambda.IFunction>): sfn.IChainable {
  const prepare = new tasks.LambdaInvoke(scope, `${prefix}Prepare`, {
    lambdaFunction: functions.PrepareFunction as lambda.IFunction,
    payload: sfn.TaskInput.fromObject({ input: sfn.JsonPath.entirePayload, executionName: sfn.JsonPath.stringAt('$$.Execution.Name') }),
    outputPath: '$.Payload',
  });
  prepare.addCatch(new sfn.Fail(scope, `${prefix}InvalidInputFail`, { errorPath: '$.Error', causePath: '$.Cause' }), {
    errors: ['InvalidInput'],
  });

  const syncPages = new tasks.LambdaInvoke(scope, `${prefix}SyncPages`, {
    lambdaFunction: functions.SyncPagesFunction as lambda.IFunction,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
  });
  syncPages.addRetry({ errors: ['Throttled'], interval: Duration.seconds(30), maxAttempts: 2 });
  const wait = new sfn.Wait(scope, `${prefix}Wait`, { time: sfn.WaitTime.secondsPath('$.waitSeconds') });
  const more = style === 'isNotNull' ? sfn.Condition.isNotNull('$.nextPage') : sfn.Condition.not(sfn.Condition.isNull('$.nextPage'));
  const loop = syncPages.next(
    new sfn.Choice(scope, `${prefix}MorePages`)
      .when(sfn.Condition.and(more, sfn.Condition.numberGreaterThan('$.waitSeconds', 0)), wait.next(syncPages))
      .when(more, syncPages)
      .otherwise(new sfn.Pass(scope, `${prefix}EndpointDone`)),
  );
  const map = new sfn.Map(scope, `${prefix}SyncEndpoints`, { itemsPath: '$.endpoints', maxConcurrency: 2, resultPath: '$.results' });
  map.itemProcessor(loop);
  const finalize = new tasks.LambdaInvoke(scope, `${prefix}RecordRun`, {
    lambdaFunction: functions.FinalizeFunction as lambda.IFunction,
    outputPath: '$.Payload',
  });
  return prepare.next(map).next(finalize);
}

/**
 * A two-stack app shaped like the product (tables in one stack, everything else in another, cross-stack
 * references via exports) with two state machines that differ only in how the loop tests for "not null".
 */
export function synthSmallApp(): StackTemplate[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const data = new Stack(app, 'SmallData');
  const dataTable = new dynamodb.Table(data, 'DataTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
  });
  dataTable.addGlobalSecondaryIndex({
    indexName: 'byTypeUpdatedAt',
    partitionKey: { name: 'recordType', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'updatedAt', type: dynamodb.AttributeType.STRING },
  });
  const controlTable = new dynamodb.TableV2(data, 'ControlTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: 'expiresAt',
  });

  const main = new Stack(app, 'SmallMain');
  const dlq = new sqs.Queue(main, 'EventsDeadLetterQueue', { retentionPeriod: Duration.days(14) });
  const queue = new sqs.Queue(main, 'EventsQueue', {
    visibilityTimeout: Duration.seconds(1),
    deadLetterQueue: { queue: dlq, maxReceiveCount: 2 },
  });
  const credentials = new secretsmanager.Secret(main, 'ProducerSyncCredentials');
  const signing = new secretsmanager.Secret(main, 'WebhookSigningSecret', {
    generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'signingSecret' },
  });
  const tableEnv = { DATA_TABLE_NAME: dataTable.tableName, CONTROL_TABLE_NAME: controlTable.tableName };
  const functions = {
    PrepareFunction: fn(main, 'PrepareFunction', tableEnv),
    SyncPagesFunction: fn(main, 'SyncPagesFunction', { ...tableEnv, PRODUCERSYNC_SECRET_ARN: credentials.secretArn }),
    FinalizeFunction: fn(main, 'FinalizeFunction', tableEnv),
  };
  const machine = new sfn.StateMachine(main, 'SyncStateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(syncDefinition(main, '', 'notIsNull', functions)),
  });
  const buggyShape = new sfn.StateMachine(main, 'IsNotNullStateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(syncDefinition(main, 'B', 'isNotNull', functions)),
  });
  fn(main, 'WebhookFunction', { EVENTS_QUEUE_URL: queue.queueUrl, WEBHOOK_SECRET_ARN: signing.secretArn });
  fn(main, 'DispatcherFunction', { ...tableEnv, STATE_MACHINE_ARN: machine.stateMachineArn });
  new CfnOutput(main, 'OtherMachineArn', { value: buggyShape.stateMachineArn });

  return templatesFromAssembly(app.synth());
}
