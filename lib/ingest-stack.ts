import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ProducerSyncConfig } from './config.ts';
import { StackEncryptionKey } from './constructs/encryption-key.ts';
import { LOG_RETENTION, ProducerSyncFunction } from './constructs/node-function.ts';
import { Observability } from './constructs/observability.ts';
import { acknowledgeKeyWildcards, grantSecretRead, grantTableAccess } from './grants.ts';
import { SYNC_STATE_MACHINE_NAME, type SyncStack } from './sync-stack.ts';

export interface IngestStackProps extends StackProps {
  readonly config: ProducerSyncConfig;
  readonly dataTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
  readonly syncStack: SyncStack;
}

/** The route that starts the sync: the webhook API, the queue, the dispatcher, the hourly retry schedule, the alarms. */
export const WEBHOOK_PATH = '/webhooks/psapi';
/** The scheduled event the dispatcher recognises. */
export const RETRY_PENDING_ACTIVATIONS_EVENT = { source: 'producersync.schedule', action: 'retry-pending-activations' } as const;

const DISPATCHER_TIMEOUT = Duration.seconds(60);

export class IngestStack extends Stack {
  public readonly encryptionKey: StackEncryptionKey;
  /** Holds the Svix signing secret (`whsec_...`); the operator puts the value in. */
  public readonly webhookSigningSecret: secretsmanager.Secret;
  public readonly eventsQueue: sqs.Queue;
  public readonly eventsDeadLetterQueue: sqs.Queue;
  public readonly webhookFunction: ProducerSyncFunction;
  public readonly dispatcherFunction: ProducerSyncFunction;
  public readonly httpApi: apigwv2.HttpApi;
  public readonly apiStage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly retrySchedule: events.Rule;
  public readonly observability: Observability;
  /** Only with context `producersync:exampleConsumer=true`. */
  public readonly exampleConsumerFunction?: ProducerSyncFunction;

  constructor(scope: Construct, id: string, props: IngestStackProps) {
    super(scope, id, props);
    const { config, dataTable, controlTable, syncStack } = props;

    this.encryptionKey = new StackEncryptionKey(this, 'IngestKey', {
      description: 'ProducerSync: encrypts the event queues, the signing secret, the alarm topic and the ingest logs',
      allowCloudWatchAlarms: true,
    });
    const key = this.encryptionKey.key;

    this.webhookSigningSecret = new secretsmanager.Secret(this, 'WebhookSigningSecret', {
      description: 'Svix signing secret of the AgentSync webhook: put the whsec_... value from the AgentSync portal in.',
      encryptionKey: key,
      // Deleted with the stack (Secrets Manager keeps it restorable for 30 days).
      removalPolicy: RemovalPolicy.DESTROY,
      // A random placeholder that never verifies, so nothing is accepted until the real value is set.
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'signingSecret', excludePunctuation: true },
    });
    Validations.of(this.webhookSigningSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'AgentSync (Svix) issues the signing secret; it is rotated in their portal, then copied here (docs/DEPLOY.md).',
    });

    this.eventsDeadLetterQueue = new sqs.Queue(this, 'EventsDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Marks it a dead-letter queue (CT.SQS.PR.1); naming the source queue would be a dependency cycle.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    this.eventsQueue = new sqs.Queue(this, 'EventsQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // AWS guidance for Lambda event sources: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(DISPATCHER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.eventsDeadLetterQueue, maxReceiveCount: config.dlqMaxReceiveCount },
    });

    const logEncryptionKey = key;
    this.webhookFunction = new ProducerSyncFunction(this, 'WebhookFunction', {
      entry: 'lambdas/webhook/handler.ts',
      description: 'ProducerSync: verify the Svix signature and queue the webhook event',
      memorySize: 512,
      timeout: Duration.seconds(10),
      logEncryptionKey,
      environment: {
        WEBHOOK_SECRET_ARN: this.webhookSigningSecret.secretArn,
        EVENTS_QUEUE_URL: this.eventsQueue.queueUrl,
      },
    });
    grantSecretRead(this.webhookFunction.role, this.webhookSigningSecret);
    this.eventsQueue.grantSendMessages(this.webhookFunction.role);
    acknowledgeKeyWildcards(this.webhookFunction.role);

    this.dispatcherFunction = new ProducerSyncFunction(this, 'DispatcherFunction', {
      entry: 'lambdas/dispatcher/handler.ts',
      description: 'ProducerSync: start sync runs and record NPN status from queued webhook events',
      timeout: DISPATCHER_TIMEOUT,
      logEncryptionKey,
      // No ProducerSync credentials: the dispatcher never calls the API, the executions it starts do.
      environment: {
        DATA_TABLE_NAME: dataTable.tableName,
        CONTROL_TABLE_NAME: controlTable.tableName,
        STATE_MACHINE_ARN: syncStack.stateMachine.stateMachineArn,
      },
    });
    const dispatcherRole = this.dispatcherFunction.role;
    this.dispatcherFunction.function.addEventSource(
      new SqsEventSource(this.eventsQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    syncStack.stateMachine.grantStartExecution(dispatcherRole);
    // The dispatcher reports on executions it started (dedup by execution name): this machine's executions only.
    const executionArns = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${SYNC_STATE_MACHINE_NAME}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    dispatcherRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionArns] }));
    Validations.of(dispatcherRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${SYNC_STATE_MACHINE_NAME}:*]`,
      reason: 'Execution ARNs are only known at run time; the wildcard covers executions of the sync state machine only.',
    });
    // Control table: event dedup and pending activations, listed through `byKind`.
    grantTableAccess(dispatcherRole, controlTable, { read: true, write: true, indexes: ['byKind'] });
    // Data table: NPN status items, and a look at whether an activated NPN has any data yet.
    grantTableAccess(dispatcherRole, dataTable, { read: true, write: true });
    acknowledgeKeyWildcards(dispatcherRole);

    this.retrySchedule = new events.Rule(this, 'RetryPendingActivationsSchedule', {
      description: 'Hourly: retry NPN activations the dispatcher could not complete yet',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [
        new targets.LambdaFunction(this.dispatcherFunction.function, {
          event: events.RuleTargetInput.fromObject(RETRY_PENDING_ACTIVATIONS_EVENT),
          retryAttempts: 2,
        }),
      ],
    });

    this.accessLogGroup = new logs.LogGroup(this, 'WebhookApiAccessLogs', {
      retention: LOG_RETENTION,
      encryptionKey: key,
    });
    this.httpApi = new apigwv2.HttpApi(this, 'WebhookApi', {
      description: 'ProducerSync: receives the AgentSync webhook',
      createDefaultStage: false,
    });
    this.apiStage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.webhookRateLimit, burstLimit: config.webhookBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const [route] = this.httpApi.addRoutes({
      path: WEBHOOK_PATH,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('WebhookIntegration', this.webhookFunction.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    if (route) {
      const reason = 'Svix (AgentSync) cannot send AWS credentials or tokens; the webhook Lambda authenticates every call by its HMAC signature.';
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(route).acknowledge({ id: 'cdk-validator-cfnguard::api_gw_v2_authorization_type_configured_check', reason });
      Validations.of(route).acknowledge({
        id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
        reason: 'The invoke permission is for apigateway.amazonaws.com with SourceArn set to this API and route (an Fn::Join the rule cannot read).',
      });
    }

    this.observability = new Observability(this, 'Observability', {
      stateMachine: syncStack.stateMachine,
      deadLetterQueue: this.eventsDeadLetterQueue,
      httpApi: this.httpApi,
      topicKey: key,
      alarmEmail: config.alarmEmail,
    });

    if (config.exampleConsumer) {
      this.exampleConsumerFunction = new ProducerSyncFunction(this, 'ExampleConsumerFunction', {
        entry: 'lambdas/stream-consumer/example-consumer.ts',
        description: 'ProducerSync example: react to changed licenses on the data table stream',
        logEncryptionKey,
      });
      this.exampleConsumerFunction.function.addEventSource(
        new DynamoEventSource(dataTable, {
          startingPosition: lambda.StartingPosition.LATEST,
          batchSize: 100,
          bisectBatchOnError: true,
          retryAttempts: 3,
          filters: [lambda.FilterCriteria.filter({ dynamodb: { NewImage: { recordType: { S: lambda.FilterRule.isEqual('licenses') } } } })],
        }),
      );
    }

    new CfnOutput(this, 'WebhookUrl', {
      value: `${this.httpApi.apiEndpoint}${WEBHOOK_PATH}`,
      description: 'Register this URL as the webhook endpoint in the AgentSync portal',
    });
    new CfnOutput(this, 'WebhookSigningSecretArn', { value: this.webhookSigningSecret.secretArn });
    new CfnOutput(this, 'EventsQueueUrl', { value: this.eventsQueue.queueUrl });
    new CfnOutput(this, 'EventsDeadLetterQueueUrl', { value: this.eventsDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
  }
}
