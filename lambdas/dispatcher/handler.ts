/**
 * The dispatcher Lambda (`producersync-dispatcher`): SQS batches of webhook events (dispatch.ts) and
 * scheduled actions (schedule.ts), over the tables and state machine named in its environment.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { numberEnv, optionalEnv, requiredEnv } from '#commons/env';
import { addLambdaContext } from '#commons/logger';
import { secretsClient } from '#commons/secrets-client';
import { sfnClient } from '#commons/sfn-client';
import { createDispatcherDeps, DEFAULT_CATCH_UP_AFTER_HOURS, type DispatcherDeps } from '#dispatcher/deps';
import { dispatchBatch } from '#dispatcher/dispatch';
import { isScheduledEvent, runScheduledAction, type ScheduledAction, type ScheduledActionName, type ScheduledActionResult } from '#dispatcher/schedule';
import { lambdaTimeBudget } from '#dispatcher/time-budget';

/** What invokes the dispatcher. */
export type DispatcherEvent = SQSEvent | ScheduledAction<string>;

/** Options of `createDispatcherHandler`. */
export interface DispatcherHandlerOptions {
  /** The dispatcher's clock (a soak moves time). @default Date.now */
  now?: () => number;
}

/** The dispatcher's handler signatures: SQS batches and scheduled actions. */
export interface DispatcherHandler {
  (event: SQSEvent, context?: Context): Promise<SQSBatchResponse>;
  <A extends ScheduledActionName>(event: ScheduledAction<A>, context?: Context): Promise<ScheduledActionResult<A>>;
  (event: DispatcherEvent, context?: Context): Promise<SQSBatchResponse | ScheduledActionResult>;
}

/** The dispatcher handler over the tables, state machine and secret named in its environment (read on every invocation: building the stores is cheap, the clients are shared). */
export function createDispatcherHandler({ now }: DispatcherHandlerOptions = {}): DispatcherHandler {
  const deps = (context?: Context): DispatcherDeps =>
    createDispatcherDeps({
      dynamo: dynamoClient(),
      sfn: sfnClient(),
      secrets: secretsClient(),
      dataTableName: requiredEnv('DATA_TABLE_NAME'),
      controlTableName: requiredEnv('CONTROL_TABLE_NAME'),
      stateMachineArn: requiredEnv('STATE_MACHINE_ARN'),
      credentialsSecretId: optionalEnv('PRODUCERSYNC_SECRET_ARN'),
      catchUpAfterHours: numberEnv('CATCH_UP_AFTER_HOURS', DEFAULT_CATCH_UP_AFTER_HOURS),
      ...(now ? { now } : {}),
      budget: lambdaTimeBudget(context),
    });
  return (async (event: DispatcherEvent, context?: Context): Promise<SQSBatchResponse | ScheduledActionResult> => {
    addLambdaContext(context);
    if ('Records' in event && Array.isArray(event.Records)) return dispatchBatch(deps(context), event.Records);
    if (isScheduledEvent(event)) return runScheduledAction(deps(context), event);
    throw new Error('dispatcher received an event it does not handle');
  }) as DispatcherHandler;
}

/** The dispatcher handler. */
export const handler = createDispatcherHandler();
