import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from '#commons/metrics';

export interface ObservedTable {
  readonly table: dynamodb.ITable;
  /** Its GSIs, alarmed on with the table (an index that throttles slows the table's writes too). */
  readonly indexNames: readonly string[];
}

export interface ObservabilityProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly eventsQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly httpApi: apigwv2.IHttpApi;
  /** Every function, by the construct id the alarms are named after (`WebhookFunction`...). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly tables: readonly ObservedTable[];
  /** The schedules invoking the dispatcher, and the queue their undeliverable or failed events land in. */
  readonly schedules: { readonly rules: readonly events.IRule[]; readonly deadLetterQueue: sqs.IQueue };
  /** The example stream consumer, alarmed on its iterator age. @default none */
  readonly streamConsumer?: lambda.IFunction;
  /** Key for the alarm topic (its policy must admit CloudWatch alarms). */
  readonly topicKey: kms.IKey;
  /** Subscribes this address to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Dashboard name (unique per account). @default 'ProducerSync' */
  readonly dashboardName?: string;
  /** Hours since the watermark last advanced that raise the freshness alarm. @default 30 */
  readonly freshnessAlarmHours?: number;
  /** Webhook 4xx responses in 5 minutes that count as a spike. @default 20 */
  readonly webhookClientErrorThreshold?: number;
}

/** Oldest message on the events queue: the dispatcher handles a batch in seconds, so 15 minutes means it is stuck. */
const OLDEST_EVENT_SECONDS = 15 * 60;
/** The stream keeps records 24 hours; an hour behind leaves time to act. */
const ITERATOR_AGE_MS = 60 * 60 * 1000;

/**
 * Alarms on every way the pipeline can silently stop or lose data, an SNS topic they notify (e-mail
 * here; chat and paging subscribe to the same topic, docs/DEPLOY.md "Alarm routing"), and one dashboard.
 * Missing data never breaches: a fresh deployment starts quiet and every alarm goes to OK once its
 * metric is evaluated.
 */
export class Observability extends Construct {
  /** The topic every alarm notifies (on ALARM and on OK). */
  public readonly alarmTopic: sns.Topic;
  public readonly deadLetterQueueAlarm: cloudwatch.Alarm;
  public readonly oldestEventAlarm: cloudwatch.Alarm;
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  public readonly executionsTimedOutAlarm: cloudwatch.Alarm;
  public readonly webhookClientErrorsAlarm: cloudwatch.Alarm;
  public readonly webhookServerErrorsAlarm: cloudwatch.Alarm;
  /** `WatermarkAgeHours` over the threshold: the copy is going stale. */
  public readonly freshnessAlarm: cloudwatch.Alarm;
  /** `RecordsQuarantined > 0`: a quarantined record is missing from the copy. */
  public readonly recordsQuarantinedAlarm: cloudwatch.Alarm;
  /** Per function construct id: its Errors and Throttles alarms. */
  public readonly functionAlarms: Readonly<Record<string, { readonly errors: cloudwatch.Alarm; readonly throttles: cloudwatch.Alarm }>>;
  /** Per table construct id: read and write throttle events of the table and its indexes. */
  public readonly tableThrottleAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** EventBridge could not invoke the dispatcher for a schedule. */
  public readonly scheduleFailedInvocationsAlarm: cloudwatch.Alarm;
  /** A scheduled event was dead-lettered (undeliverable, or the dispatcher failed it after Lambda's retries). */
  public readonly scheduleDeadLetterAlarm: cloudwatch.Alarm;
  /** Only with a stream consumer. */
  public readonly iteratorAgeAlarm?: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'ProducerSync alarms',
      masterKey: props.topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const fiveMinutes = Duration.minutes(5);
    const atLeastOne = { threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD };
    const overZero = { threshold: 0, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD };

    this.deadLetterQueueAlarm = this.alarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      ...overZero,
      alarmDescription: 'Webhook events could not be dispatched and are in the dead-letter queue (docs/DEPLOY.md "Redrive").',
    });
    this.oldestEventAlarm = this.alarm('EventsQueueStalled', {
      metric: props.eventsQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: OLDEST_EVENT_SECONDS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'A webhook event has waited over 15 minutes on the events queue: the dispatcher is failing or throttled.',
    });
    this.executionsFailedAlarm = this.alarm('SyncExecutionsFailed', {
      metric: props.stateMachine.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
      ...atLeastOne,
      alarmDescription: 'A sync execution failed; redrive it from the Step Functions console.',
    });
    this.executionsTimedOutAlarm = this.alarm('SyncExecutionsTimedOut', {
      metric: props.stateMachine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
      ...atLeastOne,
      alarmDescription: 'A sync execution ran into its 24-hour timeout.',
    });
    this.webhookClientErrorsAlarm = this.alarm('WebhookClientErrorSpike', {
      metric: props.httpApi.metricClientError({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: props.webhookClientErrorThreshold ?? 20,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'Many rejected webhook calls: wrong signing secret, or someone probing the endpoint.',
    });
    this.webhookServerErrorsAlarm = this.alarm('WebhookServerErrors', {
      metric: props.httpApi.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      ...atLeastOne,
      alarmDescription: 'The webhook answered 5xx: AgentSync will retry, but events may be delayed.',
    });
    const freshnessHours = props.freshnessAlarmHours ?? 30;
    // The hourly check-freshness schedule emits the metric from the first hour on; until then there is no data, which does not breach.
    this.freshnessAlarm = this.alarm('DataNotFresh', {
      metric: productMetric('WatermarkAgeHours', Duration.hours(1), 'Maximum'),
      threshold: freshnessHours,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `No sync has advanced the watermark for over ${freshnessHours} hours: the copy is going stale (daily webhook missing or runs failing).`,
    });
    this.recordsQuarantinedAlarm = this.alarm('RecordsQuarantined', {
      metric: productMetric('RecordsQuarantined', fiveMinutes),
      ...overZero,
      alarmDescription: 'Source records were quarantined and are missing from the copy (control table QUARANTINE# items of the run).',
    });

    const functionAlarms: Record<string, { errors: cloudwatch.Alarm; throttles: cloudwatch.Alarm }> = {};
    for (const [name, fn] of Object.entries(props.functions)) {
      functionAlarms[name] = {
        errors: this.alarm(`${name}Errors`, {
          metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
          ...atLeastOne,
          alarmDescription: `${name} raised an error (its log group has the details; sync tasks are retried by the state machine).`,
        }),
        throttles: this.alarm(`${name}Throttles`, {
          metric: fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
          ...atLeastOne,
          // Three periods in a row: a short burst against a reserved pool is retried, a lasting one is not normal.
          evaluationPeriods: 3,
          alarmDescription: `${name} was throttled for 15 minutes (reserved concurrency or the account's Lambda pool exhausted).`,
        }),
      };
    }
    this.functionAlarms = functionAlarms;

    const tableThrottleAlarms: Record<string, cloudwatch.Alarm> = {};
    for (const { table, indexNames } of props.tables) {
      const name = table.node.id;
      const metrics: Record<string, cloudwatch.IMetric> = {};
      const add = (dimensions: Record<string, string>, prefix: string): void => {
        for (const [suffix, metricName] of [['r', 'ReadThrottleEvents'], ['w', 'WriteThrottleEvents']] as const) {
          metrics[`${prefix}${suffix}`] = new cloudwatch.Metric({ namespace: 'AWS/DynamoDB', metricName, dimensionsMap: dimensions, statistic: 'Sum', period: fiveMinutes });
        }
      };
      add({ TableName: table.tableName }, 'table');
      indexNames.forEach((indexName, i) => add({ TableName: table.tableName, GlobalSecondaryIndexName: indexName }, `gsi${i}`));
      tableThrottleAlarms[name] = this.alarm(`${name}Throttled`, {
        metric: new cloudwatch.MathExpression({ expression: Object.keys(metrics).join(' + '), usingMetrics: metrics, period: fiveMinutes, label: `${name} throttle events` }),
        ...atLeastOne,
        alarmDescription: `DynamoDB throttled reads or writes on ${name} or its indexes (a hot partition key: docs/DEPLOY.md "Monitoring").`,
      });
    }
    this.tableThrottleAlarms = tableThrottleAlarms;

    this.scheduleFailedInvocationsAlarm = this.alarm('ScheduleFailedInvocations', {
      metric: new cloudwatch.MathExpression({
        expression: props.schedules.rules.map((_, i) => `f${i}`).join(' + '),
        usingMetrics: Object.fromEntries(
          props.schedules.rules.map((rule, i) => [
            `f${i}`,
            new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'FailedInvocations', dimensionsMap: { RuleName: rule.ruleName }, statistic: 'Sum', period: fiveMinutes }),
          ]),
        ),
        period: fiveMinutes,
        label: 'schedule failed invocations',
      }),
      ...atLeastOne,
      alarmDescription: 'EventBridge could not invoke the dispatcher for a scheduled action.',
    });
    this.scheduleDeadLetterAlarm = this.alarm('ScheduleDeadLetterQueueNotEmpty', {
      metric: props.schedules.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      ...overZero,
      alarmDescription: 'A scheduled action (retry activations, freshness check, reconcile) failed after its retries; the event is in the schedule dead-letter queue.',
    });

    if (props.streamConsumer) {
      this.iteratorAgeAlarm = this.alarm('StreamConsumerIteratorAge', {
        metric: props.streamConsumer.metric('IteratorAge', { period: fiveMinutes, statistic: 'Maximum' }),
        threshold: ITERATOR_AGE_MS,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: 'The example stream consumer is over an hour behind the data table stream (records expire after 24 hours).',
      });
    }

    const alarms = [
      this.deadLetterQueueAlarm,
      this.oldestEventAlarm,
      this.executionsFailedAlarm,
      this.executionsTimedOutAlarm,
      this.webhookClientErrorsAlarm,
      this.webhookServerErrorsAlarm,
      this.freshnessAlarm,
      this.recordsQuarantinedAlarm,
      this.scheduleFailedInvocationsAlarm,
      this.scheduleDeadLetterAlarm,
      ...Object.values(tableThrottleAlarms),
      ...Object.values(functionAlarms).flatMap((a) => [a.errors, a.throttles]),
      ...(this.iteratorAgeAlarm ? [this.iteratorAgeAlarm] : []),
    ];
    const hour = Duration.hours(1);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'ProducerSync',
      defaultInterval: Duration.days(7),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 })],
        [
          graph('Records written', ['RecordsInserted', 'RecordsModified', 'RecordsDeleted', 'RecordsCorrected'], hour),
          graph('Records unchanged / stale / quarantined', ['RecordsUnchanged', 'RecordsStale', 'RecordsQuarantined'], hour),
          graph('Pages, throttles, token refreshes', ['Pages', 'Throttled', 'TokenRefreshes'], hour),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Freshness (hours since the watermark advanced)',
            width: 8,
            left: [productMetric('WatermarkAgeHours', hour, 'Maximum')],
            leftAnnotations: [{ value: freshnessHours, label: 'alarm' }],
          }),
          new cloudwatch.GraphWidget({
            title: 'Sync executions',
            width: 8,
            left: [
              props.stateMachine.metricSucceeded({ period: hour, statistic: 'Sum' }),
              props.stateMachine.metricFailed({ period: hour, statistic: 'Sum' }),
              props.stateMachine.metricTimedOut({ period: hour, statistic: 'Sum' }),
              productMetric('RunsSucceeded', hour),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Webhook responses and events',
            width: 8,
            left: [
              props.httpApi.metricCount({ period: hour, statistic: 'Sum' }),
              props.httpApi.metricClientError({ period: hour, statistic: 'Sum' }),
              props.httpApi.metricServerError({ period: hour, statistic: 'Sum' }),
              productMetric('WebhookVerifyFailures', hour),
              productMetric('EventsSkipped', hour),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Queues',
            width: 12,
            left: [
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
              props.schedules.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
            ],
            right: [props.eventsQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' })],
          }),
          new cloudwatch.GraphWidget({
            title: 'Lambda errors and throttles',
            width: 12,
            left: Object.values(props.functions).map((fn) => fn.metricErrors({ period: hour, statistic: 'Sum' })),
            right: Object.values(props.functions).map((fn) => fn.metricThrottles({ period: hour, statistic: 'Sum' })),
          }),
        ],
      ],
    });
  }

  /** An alarm notifying the alarm topic (notifyingAlarm). */
  private alarm(id: string, props: NotifyingAlarmProps): cloudwatch.Alarm {
    return notifyingAlarm(this, id, this.alarmTopic, props);
  }
}

export type NotifyingAlarmProps = Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number };

/** An alarm notifying `topic` on ALARM and OK; one evaluation period and missing data = not breaching unless given. */
export function notifyingAlarm(scope: Construct, id: string, topic: sns.ITopic, props: NotifyingAlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    ...props,
    evaluationPeriods: props.evaluationPeriods ?? 1,
  });
  alarm.addAlarmAction(new actions.SnsAction(topic));
  alarm.addOkAction(new actions.SnsAction(topic));
  return alarm;
}

/** One EMF metric of this product: namespace and the single `service` dimension from lambdas/commons/metrics.ts. */
export function productMetric(metricName: MetricName, period: Duration, statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: METRICS_SERVICE }, statistic, period });
}

function graph(title: string, names: readonly MetricName[], period: Duration): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, width: 8, left: names.map((name) => productMetric(name, period)) });
}
