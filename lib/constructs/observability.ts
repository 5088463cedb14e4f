import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SERVICE_NAME } from '../paths.ts';

/** The EMF metrics the Lambdas publish (namespace ProducerSync, dimension service). */
export const DASHBOARD_METRICS = [
  'RecordsInserted',
  'RecordsModified',
  'RecordsUnchanged',
  'RecordsDeleted',
  'RecordsQuarantined',
  'Pages',
  'Throttled',
  'TokenRefreshes',
  'WebhookVerifyFailures',
] as const;

export interface ObservabilityProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly deadLetterQueue: sqs.IQueue;
  readonly httpApi: apigwv2.IHttpApi;
  /** Key for the alarm topic (its policy must admit CloudWatch alarms). */
  readonly topicKey: kms.IKey;
  /** Subscribes this address to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Dashboard name (unique per account). @default 'ProducerSync' */
  readonly dashboardName?: string;
  /** Webhook 4xx responses in 5 minutes that count as a spike. @default 20 */
  readonly webhookClientErrorThreshold?: number;
}

/** Alarms on every way the pipeline can silently stop, an SNS topic for them, and one dashboard. */
export class Observability extends Construct {
  public readonly alarmTopic: sns.Topic;
  public readonly deadLetterQueueAlarm: cloudwatch.Alarm;
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  public readonly executionsTimedOutAlarm: cloudwatch.Alarm;
  public readonly webhookClientErrorsAlarm: cloudwatch.Alarm;
  public readonly webhookServerErrorsAlarm: cloudwatch.Alarm;
  public readonly noSuccessfulRunAlarm: cloudwatch.Alarm;
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
    this.deadLetterQueueAlarm = this.alarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'Webhook events could not be dispatched and are in the dead-letter queue (docs/DEPLOY.md "Redrive").',
    });
    this.executionsFailedAlarm = this.alarm('SyncExecutionsFailed', {
      metric: props.stateMachine.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'A sync execution failed; redrive it from the Step Functions console.',
    });
    this.executionsTimedOutAlarm = this.alarm('SyncExecutionsTimedOut', {
      metric: props.stateMachine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
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
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'The webhook answered 5xx: AgentSync will retry, but events may be delayed.',
    });
    // 13 two-hour periods = 26 hours; no data at all is as bad as a failed run.
    this.noSuccessfulRunAlarm = this.alarm('NoSuccessfulRunIn26Hours', {
      metric: productMetric('RunsSucceeded', Duration.hours(2)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 13,
      datapointsToAlarm: 13,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: 'No sync run succeeded in the last 26 hours (daily webhook missing or every run failing).',
    });

    const alarms = [
      this.deadLetterQueueAlarm,
      this.executionsFailedAlarm,
      this.executionsTimedOutAlarm,
      this.webhookClientErrorsAlarm,
      this.webhookServerErrorsAlarm,
      this.noSuccessfulRunAlarm,
    ];
    const hour = Duration.hours(1);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'ProducerSync',
      defaultInterval: Duration.days(7),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 })],
        [
          graph('Records written', ['RecordsInserted', 'RecordsModified', 'RecordsDeleted'], hour),
          graph('Records unchanged / quarantined', ['RecordsUnchanged', 'RecordsQuarantined'], hour),
          graph('Pages, throttles, token refreshes', ['Pages', 'Throttled', 'TokenRefreshes'], hour),
        ],
        [
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
            title: 'Webhook responses',
            width: 8,
            left: [
              props.httpApi.metricCount({ period: hour, statistic: 'Sum' }),
              props.httpApi.metricClientError({ period: hour, statistic: 'Sum' }),
              props.httpApi.metricServerError({ period: hour, statistic: 'Sum' }),
              productMetric('WebhookVerifyFailures', hour),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queue',
            width: 8,
            left: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' })],
          }),
        ],
      ],
    });
  }

  /** An alarm notifying the topic; one evaluation period and missing data = OK unless given. */
  private alarm(id: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number }): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
      evaluationPeriods: props.evaluationPeriods ?? 1,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    alarm.addOkAction(new actions.SnsAction(this.alarmTopic));
    return alarm;
  }
}

/** One EMF metric of this product (see lambdas/commons/metrics.ts). */
export function productMetric(metricName: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'ProducerSync', metricName, dimensionsMap: { service: SERVICE_NAME }, statistic: 'Sum', period });
}

function graph(title: string, names: readonly (typeof DASHBOARD_METRICS)[number][], period: Duration): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, width: 8, left: names.map((name) => productMetric(name, period)) });
}
