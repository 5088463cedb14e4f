import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The `source` of every scheduled event; the dispatcher routes on `action` (CONTRACTS.md §3). */
export const SCHEDULE_SOURCE = 'producersync.schedule';

/** The scheduled actions, by the construct id of their rule. */
export const SCHEDULED_ACTIONS = {
  RetryPendingActivationsSchedule: 'retry-pending-activations',
  CheckFreshnessSchedule: 'check-freshness',
  ReconcileSchedule: 'reconcile',
} as const;

export type ScheduledAction = (typeof SCHEDULED_ACTIONS)[keyof typeof SCHEDULED_ACTIONS];

/** The event a schedule sends the dispatcher. */
export const scheduledEvent = (action: ScheduledAction) => ({ source: SCHEDULE_SOURCE, action });

export interface DispatcherSchedulesProps {
  /** The function every schedule invokes (asynchronously). */
  readonly target: lambda.IFunction;
  /** Where an event goes that EventBridge could not deliver after its retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The weekly reconcile run, an EventBridge `cron(...)` or `rate(...)` expression. */
  readonly reconcileSchedule: string;
}

/**
 * The dispatcher's schedules: retry pending activations and check freshness every hour, reconcile
 * weekly. Each target retries delivery twice within two hours, then dead-letters the event.
 */
export class DispatcherSchedules extends Construct {
  /** Hourly: retry NPN activations the dispatcher could not complete yet. */
  public readonly retryPendingActivations: events.Rule;
  /** Hourly: report the watermark's age, start the initial load or a catch-up run when due. */
  public readonly checkFreshness: events.Rule;
  /** Weekly (configurable): start a reconcile run. */
  public readonly reconcile: events.Rule;

  constructor(scope: Construct, id: string, props: DispatcherSchedulesProps) {
    super(scope, id);
    const hourly = events.Schedule.rate(Duration.hours(1));
    const rule = (ruleId: keyof typeof SCHEDULED_ACTIONS, schedule: events.Schedule, description: string): events.Rule =>
      new events.Rule(this, ruleId, {
        description,
        schedule,
        targets: [
          new targets.LambdaFunction(props.target, {
            event: events.RuleTargetInput.fromObject(scheduledEvent(SCHEDULED_ACTIONS[ruleId])),
            retryAttempts: 2,
            maxEventAge: Duration.hours(2),
            deadLetterQueue: props.deadLetterQueue,
          }),
        ],
      });
    this.retryPendingActivations = rule('RetryPendingActivationsSchedule', hourly, 'Hourly: retry NPN activations the dispatcher could not complete yet');
    this.checkFreshness = rule('CheckFreshnessSchedule', hourly, 'Hourly: report the watermark age; start the initial load or a catch-up run when due');
    this.reconcile = rule('ReconcileSchedule', events.Schedule.expression(props.reconcileSchedule), 'Weekly: start a reconcile run');
  }

  /** Every rule. */
  public get rules(): events.Rule[] {
    return [this.retryPendingActivations, this.checkFreshness, this.reconcile];
  }
}
