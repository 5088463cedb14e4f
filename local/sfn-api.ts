import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LocalService } from '#local/dynamodb-local';
import { AwsJsonError, startJsonRpcServer } from '#local/json-rpc-server';
import { runStateMachine, type Asl, type LambdaHandler, type StateMachineRun } from '#local/state-machine';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  /** The input exactly as given to StartExecution (a JSON string). */
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: unknown;
  error?: string;
  cause?: string;
  redriveCount: number;
  /** Result of each run (the first, then one per redrive). */
  runs: StateMachineRun[];
}

export interface SfnApiOptions {
  /** Definitions by state machine ARN (e.g. `functionEnv.DispatcherFunction.STATE_MACHINE_ARN` → loadStateMachine(...)). */
  stateMachines: Record<string, Asl>;
  /** Lambda handlers by function id. Without them executions are only recorded and stay RUNNING. */
  handlers?: Record<string, LambdaHandler>;
  /** Milliseconds each Wait state waits (default 0), or `'as-defined'` (see runStateMachine). */
  waitOverride?: number | 'as-defined';
  /** Milliseconds between retries (default 0). */
  retryIntervalMs?: number;
  /**
   * Keep the execution records in this JSON file (a local deployment that survives restarts); `resumeStored()`
   * runs again the executions that were RUNNING there.
   */
  storeFile?: string;
}

export interface SfnApi extends LocalService {
  /** Every execution started so far, oldest first. */
  executions(): ExecutionRecord[];
  /** Resolves once no execution is running (redrives started meanwhile included). */
  waitForAll(): Promise<void>;
  /** Resolves with the execution once it is no longer running. */
  waitFor(executionArn: string): Promise<ExecutionRecord>;
  /**
   * Runs again, under their own names, the executions that were RUNNING in the store file when this stand-in
   * started (the process before was stopped or killed mid-run): the handlers resume from their checkpoints, as
   * after a redrive. Call it once everything the handlers need is in place. Returns their names.
   */
  resumeStored(): string[];
}

type StoredExecution = Omit<ExecutionRecord, 'runs' | 'startDate' | 'stopDate'> & { startDate: string; stopDate?: string };

function loadExecutions(file: string | undefined): ExecutionRecord[] {
  if (!file || !existsSync(file)) return [];
  const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredExecution[];
  return stored.map(({ startDate, stopDate, ...e }) => ({ ...e, startDate: new Date(startDate), ...(stopDate ? { stopDate: new Date(stopDate) } : {}), runs: [] }));
}

/** The records without their runs' event logs, written whole and renamed into place (never half a file). */
function saveExecutions(file: string, executions: Iterable<ExecutionRecord>): void {
  const stored: StoredExecution[] = [...executions].map(({ runs: _runs, startDate, stopDate, ...e }) => ({
    ...e,
    startDate: startDate.toISOString(),
    ...(stopDate ? { stopDate: stopDate.toISOString() } : {}),
  }));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(stored));
  renameSync(`${file}.tmp`, file);
}

// Step Functions rejects names with whitespace, wildcards, brackets, control characters and these punctuation marks.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || !value) throw new AwsJsonError('ValidationException', `${key} is required`);
  return value;
}

const epochSeconds = (date: Date | undefined): number | undefined => (date ? date.getTime() / 1000 : undefined);

/**
 * A Step Functions API stand-in (JSON 1.0; point AWS_ENDPOINT_URL_SFN at it): StartExecution, DescribeExecution,
 * ListExecutions, RedriveExecution and StopExecution, with executions run asynchronously by runStateMachine.
 */
export async function startSfnApi(options: SfnApiOptions): Promise<SfnApi> {
  const executions = new Map<string, ExecutionRecord>(loadExecutions(options.storeFile).map((e) => [e.executionArn, e]));
  let shuttingDown = false;
  const running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  const persist = (): void => {
    if (options.storeFile) saveExecutions(options.storeFile, executions.values());
  };

  const find = (input: Record<string, unknown>): ExecutionRecord => {
    const arn = requireString(input, 'executionArn');
    const execution = executions.get(arn);
    if (!execution) throw new AwsJsonError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  };

  const launch = (execution: ExecutionRecord): void => {
    const asl = options.stateMachines[execution.stateMachineArn];
    if (!asl || !options.handlers) return;
    const abort = new AbortController();
    const promise = runStateMachine(asl, JSON.parse(execution.input), {
      handlers: options.handlers,
      executionName: execution.name,
      executionArn: execution.executionArn,
      abortSignal: abort.signal,
      ...(options.waitOverride !== undefined ? { waitOverride: options.waitOverride } : {}),
      ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
    })
      .catch((error: Error): StateMachineRun => ({ status: 'FAILED', error: error.name, cause: error.message, transitions: 0, invocations: {}, events: [] }))
      .then((run) => {
        execution.runs.push(run);
        // Stopped meanwhile (StopExecution), or this stand-in is stopping: a run cut short by the shutdown stays
        // RUNNING in the store file, to be resumed by the next start.
        if (execution.status !== 'RUNNING' || shuttingDown) return;
        execution.status = run.status;
        execution.stopDate = new Date();
        execution.output = run.output;
        execution.error = run.error;
        execution.cause = run.cause;
        persist();
      })
      .finally(() => {
        // A redrive may already have registered its own run under this ARN.
        if (running.get(execution.executionArn)?.promise === promise) running.delete(execution.executionArn);
      });
    running.set(execution.executionArn, { promise, abort });
  };

  /** The fields ListExecutions gives per execution; DescribeExecution gives them and more. */
  const summary = (e: ExecutionRecord): Record<string, unknown> => ({
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: epochSeconds(e.startDate),
    stopDate: epochSeconds(e.stopDate),
    redriveCount: e.redriveCount,
  });

  const describe = (e: ExecutionRecord): Record<string, unknown> => ({
    ...summary(e),
    input: e.input,
    ...(e.output !== undefined ? { output: JSON.stringify(e.output) } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
    ...(e.cause !== undefined ? { cause: e.cause } : {}),
    redriveStatus: e.status === 'RUNNING' || e.status === 'SUCCEEDED' ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
  });

  const server = await startJsonRpcServer({
    targetPrefix: 'AWSStepFunctions',
    contentType: 'application/x-amz-json-1.0',
    operations: {
      StartExecution(input) {
        const stateMachineArn = requireString(input, 'stateMachineArn');
        if (!(stateMachineArn in options.stateMachines)) {
          throw new AwsJsonError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
        }
        const name = typeof input.name === 'string' ? input.name : randomUUID();
        if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
          throw new AwsJsonError('InvalidName', `Invalid Name: '${name}'`);
        }
        const executionInput = typeof input.input === 'string' ? input.input : '{}';
        try {
          JSON.parse(executionInput);
        } catch {
          throw new AwsJsonError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
        }
        const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
        const existing = executions.get(executionArn);
        if (existing) {
          // Same name + same input while running is idempotent; anything else is a conflict.
          if (existing.status === 'RUNNING' && existing.input === executionInput) {
            return { executionArn, startDate: epochSeconds(existing.startDate) };
          }
          throw new AwsJsonError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
        }
        const execution: ExecutionRecord = {
          executionArn,
          stateMachineArn,
          name,
          input: executionInput,
          status: 'RUNNING',
          startDate: new Date(),
          redriveCount: 0,
          runs: [],
        };
        executions.set(executionArn, execution);
        persist();
        launch(execution);
        return { executionArn, startDate: epochSeconds(execution.startDate) };
      },
      DescribeExecution(input) {
        return describe(find(input));
      },
      ListExecutions(input) {
        const stateMachineArn = requireString(input, 'stateMachineArn');
        const statusFilter = typeof input.statusFilter === 'string' ? input.statusFilter : undefined;
        const listed = [...executions.values()]
          .filter((e) => e.stateMachineArn === stateMachineArn && (!statusFilter || e.status === statusFilter))
          .reverse() // newest first, like the service
          .slice(0, typeof input.maxResults === 'number' && input.maxResults > 0 ? input.maxResults : 1000);
        return {
          executions: listed.map(summary),
        };
      },
      RedriveExecution(input) {
        const execution = find(input);
        if (execution.status === 'RUNNING' || execution.status === 'SUCCEEDED') {
          throw new AwsJsonError('ExecutionNotRedrivable', `Execution is ${execution.status} and cannot be redriven`);
        }
        // Locally a redrive reruns the whole machine with the same name and input; handlers resume from their checkpoints.
        execution.status = 'RUNNING';
        execution.redriveCount++;
        delete execution.stopDate;
        delete execution.output;
        delete execution.error;
        delete execution.cause;
        persist();
        launch(execution);
        return { redriveDate: Date.now() / 1000 };
      },
      StopExecution(input) {
        const execution = find(input);
        if (execution.status === 'RUNNING') {
          execution.status = 'ABORTED';
          execution.stopDate = new Date();
          if (typeof input.error === 'string') execution.error = input.error;
          if (typeof input.cause === 'string') execution.cause = input.cause;
          persist();
          running.get(execution.executionArn)?.abort.abort();
        }
        return { stopDate: epochSeconds(execution.stopDate ?? new Date()) };
      },
    },
  });

  const stored = [...executions.values()].filter((e) => e.status === 'RUNNING');

  return {
    endpoint: server.endpoint,
    resumeStored() {
      const resumed = stored.splice(0).filter((e) => e.status === 'RUNNING' && !running.has(e.executionArn) && options.stateMachines[e.stateMachineArn]);
      for (const execution of resumed) launch(execution);
      return resumed.map((e) => e.name);
    },
    executions: () => [...executions.values()],
    async waitForAll() {
      while (running.size > 0) await Promise.all([...running.values()].map((r) => r.promise));
    },
    async waitFor(executionArn) {
      // A redrive started meanwhile registers a new run under the same ARN: wait for that one too.
      for (let run = running.get(executionArn); run; run = running.get(executionArn)) await run.promise;
      const execution = executions.get(executionArn);
      if (!execution) throw new Error(`No execution ${executionArn}`);
      return execution;
    },
    async stop() {
      shuttingDown = true;
      for (const r of running.values()) r.abort.abort();
      await Promise.all([...running.values()].map((r) => r.promise));
      await server.stop();
    },
  };
}
