import { ArnFormat, CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_ACCESS } from './access.ts';
import type { ProducerSyncConfig } from './config.ts';
import { CONTROL_TABLE_INDEXES, DATA_TABLE_INDEXES } from './data-stack.ts';
import { StackEncryptionKey } from './constructs/encryption-key.ts';
import { LOG_RETENTION, ProducerSyncFunction } from './constructs/node-function.ts';
import { Observability } from './constructs/observability.ts';
import { DispatcherSchedules } from './constructs/schedules.ts';
import { grantQueueConsume, grantQueueSend, grantSecretDescribe, grantSecretRead, grantStreamRead, grantTableAccess } from './grants.ts';
import type { SyncStack } from './sync-stack.ts';

export interface IngestStackProps extends StackProps {
  readonly config: ProducerSyncConfig;
  readonly dataTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
  /** Lives in the data stack, so replacing this stack keeps it. */
  readonly webhookSigningSecret: secretsmanager.ISecret;
  readonly syncStack: SyncStack;
}

/** The route that starts the sync. */
export const WEBHOOK_PATH = '/webhooks/psapi';

const DISPATCHER_TIMEOUT = Duration.seconds(60);
/**
 * Events per dispatcher invocation, and how long the event source gathers them: a wave of one-NPN
 * npn.activated events arrives as batches of up to 1,000, so its backfills hold 500 NPNs each
 * instead of 10 (more than 10 needs a batching window; Lambda also caps a batch at 6 MB). An
 * updates_available event waits at most the window before its run starts.
 */
const DISPATCHER_BATCH_SIZE = 1000;
const DISPATCHER_BATCHING_WINDOW = Duration.seconds(20);

/** The route that starts the sync: the webhook API, the queue, the dispatcher, its schedules, the alarms. */
export class IngestStack extends Stack {
  /** Encrypts the queues, the alarm topic and the ingest logs. */
  public readonly encryptionKey: StackEncryptionKey;
  public readonly eventsQueue: sqs.Queue;
  public readonly eventsDeadLetterQueue: sqs.Queue;
  /** Scheduled events EventBridge could not deliver, and scheduled invocations the dispatcher failed. */
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  public readonly webhookFunction: ProducerSyncFunction;
  public readonly dispatcherFunction: ProducerSyncFunction;
  public readonly httpApi: apigwv2.HttpApi;
  public readonly apiStage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly schedules: DispatcherSchedules;
  public readonly observability: Observability;
  /** Only with a custom webhook domain. */
  public readonly webhookDomain?: apigwv2.DomainName;
  /** Only with the example consumer. */
  public readonly exampleConsumerFunction?: ProducerSyncFunction;
  /** The URL to register in AgentSync's portal (the custom domain's when there is one). */
  public readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: IngestStackProps) {
    super(scope, id, props);
    const { config, dataTable, controlTable, syncStack, webhookSigningSecret } = props;

    this.encryptionKey = new StackEncryptionKey(this, 'IngestKey', {
      description: 'ProducerSync: encrypts the event queues, the alarm topic and the ingest logs',
      allowCloudWatchAlarms: true,
      allowEventBridge: true,
    });
    const key = this.encryptionKey.key;

    const deadLetterQueue = (queueId: string): sqs.Queue =>
      new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        // Marks it a dead-letter queue (CT.SQS.PR.1); naming the source queue would be a dependency cycle.
        redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
      });
    this.eventsDeadLetterQueue = deadLetterQueue('EventsDeadLetterQueue');
    this.scheduleDeadLetterQueue = deadLetterQueue('ScheduleDeadLetterQueue');
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'It is a dead-letter queue, of EventBridge rule targets and of Lambda asynchronous invocations (no SQS redrive policy names those).',
    });
    this.eventsQueue = new sqs.Queue(this, 'EventsQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // AWS guidance for Lambda event sources: at least six times the function timeout plus the batching window.
      visibilityTimeout: Duration.seconds(DISPATCHER_TIMEOUT.toSeconds() * 6 + DISPATCHER_BATCHING_WINDOW.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.eventsDeadLetterQueue, maxReceiveCount: config.dlqMaxReceiveCount },
    });

    const logEncryptionKey = key;
    this.webhookFunction = new ProducerSyncFunction(this, 'WebhookFunction', {
      entry: 'lambdas/webhook/handler.ts',
      name: 'webhook',
      description: 'ProducerSync: verify the Svix signature and queue the webhook event',
      memorySize: 512,
      timeout: Duration.seconds(10),
      logEncryptionKey,
      environment: {
        WEBHOOK_SECRET_ARN: webhookSigningSecret.secretArn,
        EVENTS_QUEUE_URL: this.eventsQueue.queueUrl,
      },
    });
    grantSecretRead(this.webhookFunction.role, webhookSigningSecret);
    grantQueueSend(this.webhookFunction.role, this.eventsQueue);

    this.dispatcherFunction = new ProducerSyncFunction(this, 'DispatcherFunction', {
      entry: 'lambdas/dispatcher/handler.ts',
      name: 'dispatcher',
      description: 'ProducerSync: start sync runs and record NPN status from queued webhook events and schedules',
      timeout: DISPATCHER_TIMEOUT,
      // CPU scales with memory: an onboarding wave signs thousands of DynamoDB requests per invocation.
      memorySize: 512,
      logEncryptionKey,
      // No ProducerSync credentials: the dispatcher never calls the API, the executions it starts do. It only
      // describes the credentials secret (never reads it) to know whether the operator has filled it in.
      environment: {
        DATA_TABLE_NAME: dataTable.tableName,
        CONTROL_TABLE_NAME: controlTable.tableName,
        STATE_MACHINE_ARN: syncStack.stateMachine.stateMachineArn,
        PRODUCERSYNC_SECRET_ARN: syncStack.credentialsSecret.secretArn,
        // check-freshness starts a catch-up run when the watermark is older than this.
        CATCH_UP_AFTER_HOURS: String(config.catchUpAfterHours),
      },
    });
    const dispatcher = this.dispatcherFunction.function;
    const dispatcherRole = this.dispatcherFunction.role;
    // Mapped by hand (not SqsEventSource) so the role gets exactly the queue and key actions polling needs.
    dispatcher.addEventSourceMapping('EventsQueueSource', {
      eventSourceArn: this.eventsQueue.queueArn,
      batchSize: DISPATCHER_BATCH_SIZE,
      maxBatchingWindow: DISPATCHER_BATCHING_WINDOW,
      reportBatchItemFailures: true,
      // Bounded: at most this many dispatcher invocations (batches) at once.
      maxConcurrency: config.dispatcherConcurrency,
    });
    grantQueueConsume(dispatcherRole, this.eventsQueue);
    dispatcherRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [syncStack.stateMachine.stateMachineArn] }));
    // The dispatcher reports on executions it started (dedup by execution name): this machine's executions only.
    const executionArns = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${config.names.stateMachine}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    dispatcherRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionArns] }));
    Validations.of(dispatcherRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${config.names.stateMachine}:*]`,
      reason: 'Execution ARNs are only known at run time; the wildcard covers executions of the sync state machine only.',
    });
    grantTableAccess(dispatcherRole, controlTable, TABLE_ACCESS.dispatcher.control);
    grantTableAccess(dispatcherRole, dataTable, TABLE_ACCESS.dispatcher.data);
    grantSecretDescribe(dispatcherRole, syncStack.credentialsSecret);

    // Scheduled (asynchronous) invocations: Lambda retries a failed one twice, then sends it to the schedule DLQ.
    dispatcher.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(2),
      onFailure: { bind: () => ({ destination: this.scheduleDeadLetterQueue.queueArn }) },
    });
    grantQueueSend(dispatcherRole, this.scheduleDeadLetterQueue);
    this.schedules = new DispatcherSchedules(this, 'Schedules', {
      target: dispatcher,
      deadLetterQueue: this.scheduleDeadLetterQueue,
      reconcileSchedule: config.reconcileSchedule,
    });

    this.accessLogGroup = new logs.LogGroup(this, 'WebhookApiAccessLogs', {
      retention: LOG_RETENTION,
      encryptionKey: key,
    });
    this.httpApi = new apigwv2.HttpApi(this, 'WebhookApi', {
      apiName: config.names.webhookApi,
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

    // A custom domain keeps the URL registered in AgentSync's portal when the API is ever replaced.
    const domain = config.webhookDomain;
    if (domain) {
      this.webhookDomain = new apigwv2.DomainName(this, 'WebhookDomain', {
        domainName: domain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'WebhookCertificate', domain.certificateArn),
        securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
      });
      new apigwv2.ApiMapping(this, 'WebhookApiMapping', { api: this.httpApi, domainName: this.webhookDomain, stage: this.apiStage });
      if (domain.hostedZone) {
        const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'WebhookZone', domain.hostedZone);
        const target = route53.RecordTarget.fromAlias(
          new route53targets.ApiGatewayv2DomainProperties(this.webhookDomain.regionalDomainName, this.webhookDomain.regionalHostedZoneId),
        );
        new route53.ARecord(this, 'WebhookAliasRecord', { zone, recordName: domain.domainName, target });
        new route53.AaaaRecord(this, 'WebhookAliasRecordIpv6', { zone, recordName: domain.domainName, target });
      }
    }
    this.webhookUrl = domain ? `https://${domain.domainName}${WEBHOOK_PATH}` : `${this.httpApi.apiEndpoint}${WEBHOOK_PATH}`;

    if (config.exampleConsumer) {
      this.exampleConsumerFunction = new ProducerSyncFunction(this, 'ExampleConsumerFunction', {
        entry: 'lambdas/stream-consumer/example-consumer.ts',
        name: 'example-consumer',
        description: 'ProducerSync example: react to changed licenses on the data table stream',
        logEncryptionKey,
      });
      const streamArn = dataTable.tableStreamArn;
      if (!streamArn) throw new Error('the data table has no stream');
      this.exampleConsumerFunction.function.addEventSourceMapping('DataTableStreamSource', {
        eventSourceArn: streamArn,
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 3,
        filters: [lambda.FilterCriteria.filter({ dynamodb: { NewImage: { recordType: { S: lambda.FilterRule.isEqual('licenses') } } } })],
      });
      grantStreamRead(this.exampleConsumerFunction.role, dataTable);
    }

    this.observability = new Observability(this, 'Observability', {
      stateMachine: syncStack.stateMachine,
      eventsQueue: this.eventsQueue,
      deadLetterQueue: this.eventsDeadLetterQueue,
      httpApi: this.httpApi,
      functions: {
        WebhookFunction: this.webhookFunction.function,
        DispatcherFunction: dispatcher,
        PrepareFunction: syncStack.prepareFunction.function,
        SyncPagesFunction: syncStack.syncPagesFunction.function,
        FinalizeFunction: syncStack.finalizeFunction.function,
        ...(this.exampleConsumerFunction ? { ExampleConsumerFunction: this.exampleConsumerFunction.function } : {}),
      },
      tables: [
        { table: dataTable, indexNames: DATA_TABLE_INDEXES },
        { table: controlTable, indexNames: CONTROL_TABLE_INDEXES },
      ],
      schedules: { rules: this.schedules.rules, deadLetterQueue: this.scheduleDeadLetterQueue },
      streamConsumer: this.exampleConsumerFunction?.function,
      topicKey: key,
      alarmEmail: config.alarmEmail,
      dashboardName: config.names.dashboard,
      freshnessAlarmHours: config.freshnessAlarmHours,
    });

    new CfnOutput(this, 'WebhookUrl', { value: this.webhookUrl, description: 'Register this URL as the webhook endpoint in the AgentSync portal' });
    if (this.webhookDomain) {
      new CfnOutput(this, 'WebhookDomainTarget', {
        value: this.webhookDomain.regionalDomainName,
        description: 'Point the custom domain here (CNAME or alias) when its DNS is not in the given Route 53 zone',
      });
    }
    new CfnOutput(this, 'EventsQueueUrl', { value: this.eventsQueue.queueUrl });
    new CfnOutput(this, 'EventsDeadLetterQueueUrl', { value: this.eventsDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'ScheduleDeadLetterQueueUrl', { value: this.scheduleDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
  }
}
