/**
 * The sync "Lambda container" of the benchmarks (started by SyncProcess): the real Prepare,
 * SyncPages and Finalize handlers behind the synthesized state machine, or the naive baseline.
 */
import { takeLoggedBytes } from './quiet.ts';
import { dynamoClient, secretsClient } from '#commons/clients';
import { requiredEnv } from '#commons/env';
import { createProducerSyncClient } from '#producersync/client';
import { loadCredentials } from '#producersync/credentials';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { loadHandlers } from '#local/handlers';
import { runStateMachine, type Asl, type LambdaHandler } from '#local/state-machine';
import { mapWithConcurrency } from '#sync/concurrency';
import { batchWriteBaseline } from '#sync/dynamo-record-store';
import { typeShardOf } from '#sync/change-index';
import { dataKey, type DataItem } from '#sync/record-store';
import { countDynamoTraffic } from './dynamo-counter.ts';
import { estimateHistory } from './history.ts';
import { sampleMemory } from './memory.ts';
import type { BaselineRequest, BaselineStats, ExecutionOptions, ExecutionStats, WorkerReply, WorkerRequest, WorkStats } from './sync-process.ts';

const traffic = countDynamoTraffic(dynamoClient());
let asl: Asl | undefined;
let handlers: Record<string, LambdaHandler> | undefined;

/** Secrets Manager GetSecretValue calls (each one a KMS Decrypt of the secret under its key). */
let secretReads = 0;
secretsClient().middlewareStack.add(
  (next, context) => async (args) => {
    if ((context as { commandName?: string }).commandName === 'GetSecretValueCommand') secretReads++;
    return next(args);
  },
  { step: 'initialize', name: 'benchSecretReads' },
);

/** Invocations and billed duration (wall ms, rounded up per invocation as Lambda bills) per function. */
let lambdaTime: Record<string, { invocations: number; billedMs: number }> = {};
const timed = (map: Record<string, LambdaHandler>): Record<string, LambdaHandler> =>
  Object.fromEntries(
    Object.entries(map).map(([id, handler]): [string, LambdaHandler] => [
      id,
      async (event, context) => {
        const started = performance.now();
        try {
          return await handler(event, context);
        } finally {
          const time = (lambdaTime[id] ??= { invocations: 0, billedMs: 0 });
          time.invocations++;
          time.billedMs += Math.ceil(performance.now() - started);
        }
      },
    ]),
  );

async function measured<T>(work: () => Promise<T>): Promise<{ value: T; stats: WorkStats }> {
  traffic.take();
  takeLoggedBytes();
  secretReads = 0;
  lambdaTime = {};
  const memory = sampleMemory();
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  return {
    value,
    stats: { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, memory: memory.stop(), dynamo: traffic.take(), logBytes: takeLoggedBytes(), secretReads, lambda: lambdaTime },
  };
}

async function execution(executionName: string, input: unknown, options: ExecutionOptions): Promise<ExecutionStats> {
  if (!asl || !handlers) throw new Error('worker not initialised');
  const definition = asl;
  const taskHandlers = handlers;
  const abort = new AbortController();
  const timer = options.abortAfterMs === undefined ? undefined : setTimeout(() => abort.abort(), options.abortAfterMs);
  const { value: run, stats } = await measured(() =>
    runStateMachine(definition, input, { handlers: taskHandlers, executionName, waitOverride: options.waitOverrideMs ?? 0, abortSignal: abort.signal }),
  ).finally(() => clearTimeout(timer));
  return {
    ...stats,
    status: run.status,
    ...(run.error ? { error: run.error } : {}),
    ...(run.cause ? { cause: run.cause.slice(0, 2_000) } : {}),
    invocations: run.invocations,
    history: estimateHistory(run.events, run.invocations.SyncPagesFunction ?? 0),
  };
}

/**
 * The seed guide's approach: follow `next` links and BatchWriteItem every record as it comes,
 * with no validation, no hashing and no conditions (so every run rewrites and re-streams all).
 */
async function baseline(request: BaselineRequest): Promise<BaselineStats> {
  const credentials = await loadCredentials(requiredEnv('PRODUCERSYNC_SECRET_ARN'));
  const client = createProducerSyncClient({ credentials, rateBudget: createLocalRateBudget({ perMinute: Number(requiredEnv('API_REQUESTS_PER_MINUTE')) }) });
  const { value, stats } = await measured(async () => {
    let records = 0;
    let pages = 0;
    await mapWithConcurrency(request.endpoints, request.concurrency, async (endpoint) => {
      for await (const page of client.paginate(endpoint, { size: request.pageSize, includeDeleted: true })) {
        pages++;
        records += page.records.length;
        const items = page.records.map((record) => plainItem(endpoint, record));
        await batchWriteBaseline(dynamoClient(), request.tableName, items);
      }
    });
    return { records, pages };
  });
  return { ...stats, ...value };
}

/** The table's key layout straight from the record; contentHash left empty since the baseline does not hash. */
function plainItem(endpoint: DataItem['recordType'], record: Record<string, unknown>): DataItem {
  const npn = String(record.npn);
  const id = Number(record.id);
  const key = dataKey(npn, endpoint, id);
  return {
    ...key,
    recordType: endpoint,
    npn,
    id,
    updatedAt: String(record.updatedAt),
    deleted: record.niprDeleted === true,
    contentHash: '',
    typeShard: typeShardOf(endpoint, key.pk, key.sk),
    record,
  };
}

async function handle(message: WorkerRequest): Promise<unknown> {
  switch (message.type) {
    case 'init': {
      asl = message.asl;
      // Loaded only now: the handlers' logger and SDK clients read the environment at load.
      handlers = timed(await loadHandlers(['PrepareFunction', 'SyncPagesFunction', 'FinalizeFunction']));
      return null;
    }
    case 'execution':
      return execution(message.executionName, message.input, message.options);
    case 'baseline':
      return baseline(message.request);
  }
}

process.on('message', (message: WorkerRequest) => {
  handle(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies WorkerReply),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
