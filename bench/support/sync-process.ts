import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EndpointName } from '#producersync/endpoints';
import type { Asl } from '#local/state-machine';
import type { Traffic } from './dynamo-counter.ts';
import type { HistoryEstimate } from './history.ts';
import type { MemoryPeak } from './memory.ts';

/** What one piece of work cost the sync process. */
export interface WorkStats {
  wallMs: number;
  /** CPU time of the sync process (user + system): steadier than wall time on a shared machine. */
  cpuMs: number;
  memory: MemoryPeak;
  dynamo: Traffic;
  /** Bytes the handlers logged (stdout + stderr; 0 unless the process counts logs: BENCH_COUNT_LOGS=1). */
  logBytes: number;
  /** Secrets Manager GetSecretValue calls. */
  secretReads: number;
  /** Lambda invocations and billed ms (wall time rounded up per invocation) per function id. */
  lambda: Record<string, { invocations: number; billedMs: number }>;
}

export interface ExecutionStats extends WorkStats {
  status: string;
  error?: string;
  cause?: string;
  invocations: Record<string, number>;
  history: HistoryEstimate;
}

export interface BaselineStats extends WorkStats {
  records: number;
  pages: number;
}

export interface ExecutionOptions {
  /** What every Wait state waits, in ms (the local runner does not wait the real seconds). */
  waitOverrideMs?: number;
  /** Stop the execution (status ABORTED) after this long. */
  abortAfterMs?: number;
}

export interface BaselineRequest {
  tableName: string;
  endpoints: readonly EndpointName[];
  pageSize: number;
  concurrency: number;
}

type WorkerRequestBody =
  | { type: 'init'; asl: Asl }
  | { type: 'execution'; executionName: string; input: unknown; options: ExecutionOptions }
  | { type: 'baseline'; request: BaselineRequest };

export type WorkerRequest = WorkerRequestBody & { id: number };

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/**
 * A separate Node process standing in for the Lambda containers of the sync: it loads the real
 * handlers with the synthesized environment (plus overrides), keeps them warm between requests,
 * and reports its own CPU, memory and DynamoDB traffic, undisturbed by the simulator and
 * DynamoDB Local clients living in the parent.
 */
export class SyncProcess {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exitError: Error | undefined;

  private constructor(env: Record<string, string>) {
    const workerPath = fileURLToPath(new URL('./sync-worker.ts', import.meta.url));
    this.child = fork(workerPath, [], {
      // BENCH_PROFILE_DIR=<dir>: a V8 CPU profile of the sync process, to see where an engine figure goes.
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [])],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message: WorkerReply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`sync worker: ${message.error}`));
    });
    this.child.on('exit', (code, signal) => {
      this.exitError = new Error(`sync worker exited (code ${code}, signal ${signal})`);
      for (const waiter of this.pending.values()) waiter.reject(this.exitError);
      this.pending.clear();
    });
  }

  /** `env`: the AWS endpoint variables, the sync functions' synthesized environment and any overrides. */
  static async start(env: Record<string, string>, asl: Asl): Promise<SyncProcess> {
    const worker = new SyncProcess(env);
    await worker.request({ type: 'init', asl });
    return worker;
  }

  execution(executionName: string, input: unknown, options: ExecutionOptions = {}): Promise<ExecutionStats> {
    return this.request({ type: 'execution', executionName, input, options }) as Promise<ExecutionStats>;
  }

  baseline(request: BaselineRequest): Promise<BaselineStats> {
    return this.request({ type: 'baseline', request }) as Promise<BaselineStats>;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private request(body: WorkerRequestBody): Promise<unknown> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...body, id });
    });
  }
}
