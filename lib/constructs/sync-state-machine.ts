import { Aws, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DEFAULT_SYNC_CONCURRENCY } from '../concurrency.ts';
import { acknowledgeLambdaVersionWildcards } from '../grants.ts';
import { LOG_RETENTION } from './node-function.ts';

export interface SyncStateMachineProps {
  readonly prepareFunction: lambda.IFunction;
  readonly syncPagesFunction: lambda.IFunction;
  readonly finalizeFunction: lambda.IFunction;
  /** Map MaxConcurrency: endpoints synced at once. @default DEFAULT_SYNC_CONCURRENCY (every endpoint of the catalogue and the NPN status target: 9) */
  readonly syncConcurrency?: number;
  /** Key encrypting the execution log group. @default AWS-owned encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** Log retention. @default LOG_RETENTION (one year) */
  readonly logRetention?: logs.RetentionDays;
  /** Physical name (known execution ARNs for tools and least-privilege grants; names the log group too). */
  readonly stateMachineName: string;
}

/**
 * Transient Lambda service failures, retried with a short backoff (the task's own errors are retried
 * separately): the list AWS recommends retrying, https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
];

/**
 * Throttling: the function's reserved concurrency (SyncPages) or the account's pool is exhausted. Retried
 * long enough for running invocations (up to 15 min each) to finish and free their slots: up to 20
 * attempts, 5 s doubling to at most 5 min, i.e. up to about 75 minutes.
 */
export const LAMBDA_THROTTLE_ERROR = 'Lambda.TooManyRequestsException';

/**
 * The sync run (docs/ARCHITECTURE.md "Sync state machine"): Prepare → RunSkipped (a skipped run ends
 * here) → SyncEndpoints (Map of endpoint loops; a reconcile's loop also sweeps, and yields through the
 * same Wait) → RecordRun → ResumeFailed (only when something failed) → RecordRun2 → Succeed.
 *
 * State shape: Prepare's result is the state; the Map writes its iteration results to
 * `$.results`; finalize gets the whole state and its `{status, failedEndpoints}` lands in `$.run`.
 * Conditions only use `IsPresent`/`IsNull` in their positive forms (local interpreter gap).
 */
export class SyncStateMachine extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** Its execution log group, `/aws/vendedlogs/states/<name>-<stack id>`. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SyncStateMachineProps) {
    super(scope, id);

    const prepare = new tasks.LambdaInvoke(this, 'Prepare', {
      lambdaFunction: props.prepareFunction,
      payloadResponseOnly: true,
      taskTimeout: LAMBDA_TASK_TIMEOUT,
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        executionName: sfn.JsonPath.stringAt('$$.Execution.Name'),
        startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      }),
    });
    // Bad input is final (caught below); every other failure is retried like any task's.
    prepare.addRetry({ errors: ['InvalidInput'], maxAttempts: 0 });
    addLambdaRetries(prepare);
    prepare.addCatch(new sfn.Fail(this, 'InvalidInput', { error: 'InvalidInput', causePath: '$.Cause' }), {
      errors: ['InvalidInput'],
    });

    const syncEndpoints = new sfn.Map(this, 'SyncEndpoints', {
      // Each iteration gets its endpoint item unchanged: {runId, endpoint, mode, updatedSince, npns}.
      itemsPath: '$.endpoints',
      maxConcurrency: props.syncConcurrency ?? DEFAULT_SYNC_CONCURRENCY,
      resultPath: '$.results',
    });
    syncEndpoints.itemProcessor(
      this.endpointLoop('', props.syncPagesFunction, {
        catchTo: new sfn.Pass(this, 'EndpointFailed', {
          parameters: { 'endpoint.$': '$.endpoint', failed: true, 'error.$': '$.error' },
        }),
      }),
    );

    const recordRun = this.recordRun('RecordRun', props.finalizeFunction);
    const recordRunAgain = this.recordRun('RecordRun2', props.finalizeFunction);

    // No Catch: if an endpoint still fails the execution fails here, and a redrive reruns only that iteration.
    const resumeFailed = new sfn.Map(this, 'ResumeFailed', {
      itemsPath: '$.run.failedEndpoints',
      maxConcurrency: props.syncConcurrency ?? DEFAULT_SYNC_CONCURRENCY,
      resultPath: '$.results',
    });
    resumeFailed.itemProcessor(this.endpointLoop('Resume', props.syncPagesFunction));

    const succeeded = new sfn.Succeed(this, 'Synced');
    const anyFailed = new sfn.Choice(this, 'AnyEndpointFailed')
      .when(sfn.Condition.isPresent('$.run.failedEndpoints[0]'), resumeFailed.next(recordRunAgain).next(succeeded))
      .otherwise(succeeded);

    // A run Prepare skipped (another initial load in flight) has nothing to sync: it ends at once.
    const runSkipped = new sfn.Choice(this, 'RunSkipped')
      .when(sfn.Condition.isPresent('$.skipped'), new sfn.Succeed(this, 'Skipped'))
      .otherwise(syncEndpoints.next(recordRun).next(anyFailed));
    const definition = prepare.next(runSkipped);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Under /aws/vendedlogs/ CloudWatch Logs needs no resource-policy entry for the delivery (that policy
      // is capped at 5,120 characters per account and region). The stack id keeps the name free after a
      // teardown, which retains the old group.
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`,
      retention: props.logRetention ?? LOG_RETENTION,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment:
        'ProducerSync sync run: {"mode":"incremental","runDate":"YYYY-MM-DD"}, {"runDate":"YYYY-MM-DD"} (exactly that date), {"mode":"catchUp"}, {"mode":"backfill","runDate"?:...,"npns"?:[...]} or {"mode":"reconcile"}',
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeLambdaVersionWildcards(this.stateMachine.role, [props.prepareFunction, props.syncPagesFunction, props.finalizeFunction]);
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups/ResourcePolicies) and X-Ray PutTraceSegments have no resource-level permissions; AWS requires Resource "*".',
    });
  }

  /**
   * SyncPages → Choice: done → end; waitSeconds > 0 → Wait(SecondsPath) → SyncPages; else SyncPages.
   * Built once per Map with a state-name prefix (state names are unique per state machine).
   */
  private endpointLoop(prefix: string, syncPagesFunction: lambda.IFunction, options: { catchTo?: sfn.Pass } = {}): sfn.IChainable {
    const syncPages = new tasks.LambdaInvoke(this, `${prefix}SyncPages`, {
      lambdaFunction: syncPagesFunction,
      payloadResponseOnly: true,
      taskTimeout: LAMBDA_TASK_TIMEOUT,
      retryOnServiceExceptions: false,
    });
    addLambdaRetries(syncPages);
    if (options.catchTo) syncPages.addCatch(options.catchTo, { errors: ['States.ALL'], resultPath: '$.error' });

    const wait = new sfn.Wait(this, `${prefix}WaitForRateBudget`, { time: sfn.WaitTime.secondsPath('$.waitSeconds') });
    wait.next(syncPages);
    return syncPages.next(
      new sfn.Choice(this, `${prefix}EndpointDone`)
        .when(sfn.Condition.booleanEquals('$.done', true), new sfn.Pass(this, `${prefix}EndpointSynced`))
        .when(sfn.Condition.numberGreaterThan('$.waitSeconds', 0), wait)
        .otherwise(syncPages),
    );
  }

  private recordRun(id: string, finalizeFunction: lambda.IFunction): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: finalizeFunction,
      payloadResponseOnly: true,
      taskTimeout: LAMBDA_TASK_TIMEOUT,
      retryOnServiceExceptions: false,
      resultPath: '$.run',
    });
    addLambdaRetries(task);
    return task;
  }
}

/**
 * Lambda's longest timeout. A Task already ends with its Lambda, but stating the bound keeps a lost
 * invocation from holding an execution, and local interpreters (whose default is 60 s) then behave
 * like AWS for a sync-pages invocation that uses its whole time budget.
 */
const LAMBDA_TASK_TIMEOUT = sfn.Timeout.duration(Duration.minutes(15));

/** Every Lambda task's retriers, in order: throttling, service errors, then the task's own failures. */
function addLambdaRetries(task: tasks.LambdaInvoke): void {
  const backoff = { backoffRate: 2, jitterStrategy: sfn.JitterType.FULL };
  task.addRetry({ errors: [LAMBDA_THROTTLE_ERROR], interval: Duration.seconds(5), maxAttempts: 20, maxDelay: Duration.minutes(5), ...backoff });
  task.addRetry({ errors: LAMBDA_SERVICE_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, maxDelay: Duration.minutes(1), ...backoff });
  // States.TaskFailed matches any error the function raised (not States.Timeout); every handler is idempotent.
  task.addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(5), maxAttempts: 3, maxDelay: Duration.minutes(2), ...backoff });
}
