/**
 * The dispatcher Lambda (`producersync-dispatcher`): SQS batches of webhook events (dispatch.ts) and
 * scheduled actions (schedule.ts), over the tables and state machine named in its environment.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { requiredEnv } from '#commons/env';
import { addLambdaContext } from '#commons/logger';
import { sfnClient } from '#commons/sfn-client';
import { createDispatcherDeps, type DispatcherDeps } from '#dispatcher/deps';
import { dispatchBatch } from '#dispatcher/dispatch';
import { isScheduledEvent, runScheduledAction, type ScheduledAction, type ScheduledActionName, type ScheduledActionResult } from '#dispatcher/schedule';

/** What invokes the dispatcher. */
export type DispatcherEvent = SQSEvent | ScheduledAction<string>;

/** Read on every invocation: building the stores is cheap and the clients are shared. */
const deps = (): DispatcherDeps =>
  createDispatcherDeps({
    dynamo: dynamoClient(),
    sfn: sfnClient(),
    dataTableName: requiredEnv('DATA_TABLE_NAME'),
    controlTableName: requiredEnv('CONTROL_TABLE_NAME'),
    stateMachineArn: requiredEnv('STATE_MACHINE_ARN'),
  });

/** The dispatcher handler. */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse>;
export async function handler<A extends ScheduledActionName>(event: ScheduledAction<A>, context?: Context): Promise<ScheduledActionResult<A>>;
export async function handler(event: DispatcherEvent, context?: Context): Promise<SQSBatchResponse | ScheduledActionResult>;
export async function handler(event: DispatcherEvent, context?: Context): Promise<SQSBatchResponse | ScheduledActionResult> {
  addLambdaContext(context);
  if ('Records' in event && Array.isArray(event.Records)) return dispatchBatch(deps(), event.Records);
  if (isScheduledEvent(event)) return runScheduledAction(deps(), event);
  throw new Error('dispatcher received an event it does not handle');
}
