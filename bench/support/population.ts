import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { dynamoClient, secretsClient } from '#commons/clients';
import { loadStateMachine } from '#local/state-machine';
import { URL_VARIABLES } from '#producersync/credentials';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import type { BenchStack } from './local-stack.ts';
import { SyncProcess } from './sync-process.ts';

export interface PopulationOptions {
  npns: number;
  seed?: number;
  /** The simulator's limit and the sync's API_REQUESTS_PER_MINUTE alike. */
  apiPerMinute: number;
  pageSize: number;
  /** SYNC_TIME_BUDGET_MS (default: the synthesized 600,000). */
  timeBudgetMs?: number;
  simulator?: Partial<SimulatorOptions>;
  /** More environment for the sync process (e.g. BENCH_COUNT_LOGS=1 to count what the handlers log). */
  env?: Record<string, string>;
}

/** A simulator with a population, the app's tables and a warm sync process pointed at both. */
export interface Population {
  sim: Simulator;
  sync: SyncProcess;
  dataTable: string;
  controlTable: string;
  /** The Map's MaxConcurrency as deployed (SYNC_CONCURRENCY): endpoints synced at once. */
  syncConcurrency: number;
  options: PopulationOptions;
  close(): Promise<void>;
}

export async function startPopulation(stack: BenchStack, name: string, options: PopulationOptions): Promise<Population> {
  const resources = await stack.provision(name);
  const sim = await startSimulator({
    npns: options.npns,
    seed: options.seed ?? 1,
    rateLimit: { apiPerMinute: options.apiPerMinute },
    ...options.simulator,
  });
  await secretsClient().send(
    new PutSecretValueCommand({
      SecretId: resources.resources.ProducerSyncCredentials!.arn,
      SecretString: JSON.stringify({ clientId: 'local', clientSecret: 'local' }),
    }),
  );
  const env = {
    ...stack.awsEnv,
    ...resources.functionEnv.PrepareFunction,
    ...resources.functionEnv.FinalizeFunction,
    ...resources.functionEnv.SyncPagesFunction,
    // The synthesized environment names the AgentSync hosts; locally the sync pulls from the simulator (CONTRACTS §1).
    [URL_VARIABLES.apiBaseUrl]: sim.apiBaseUrl,
    [URL_VARIABLES.tokenUrl]: sim.tokenUrl,
    API_REQUESTS_PER_MINUTE: String(options.apiPerMinute),
    PAGE_SIZE: String(options.pageSize),
    ...(options.timeBudgetMs !== undefined ? { SYNC_TIME_BUDGET_MS: String(options.timeBudgetMs) } : {}),
    // Lambda's NODE_OPTIONS (source maps) would only slow the worker's tsx loader down.
    NODE_OPTIONS: '',
    ...options.env,
  };
  const asl = loadStateMachine(stack.stacks, 'SyncStateMachine', { physical: resources.physical });
  let sync: SyncProcess;
  try {
    sync = await SyncProcess.start(env, asl);
  } catch (error) {
    await sim.close();
    throw error;
  }
  const dataTable = resources.resources.DataTable!.name;
  const controlTable = resources.resources.ControlTable!.name;
  return {
    sim,
    sync,
    dataTable,
    controlTable,
    syncConcurrency: Number(resources.functionEnv.SyncPagesFunction?.SYNC_CONCURRENCY ?? 4),
    options,
    async close() {
      await Promise.allSettled([sync.close(), sim.close()]);
      // DynamoDB Local keeps everything in memory: free it for the next benchmark.
      await Promise.allSettled([dataTable, controlTable].map((TableName) => dynamoClient().send(new DeleteTableCommand({ TableName }))));
    },
  };
}
