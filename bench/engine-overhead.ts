/**
 * 4. Engine overhead: records/s of the sync Lambda's backfill (zero-latency simulator, no
 * budget) against the seed guide's approach in the same sync process, on the same data: follow
 * `next` and BatchWriteItem every record, no validation, hashing, reads or conditions.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '#commons/clients';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import type { BenchStack } from './support/local-stack.ts';
import type { Population } from './support/population.ts';
import { num, ratio, type BenchOutcome } from './support/report.ts';
import type { BaselineStats } from './support/sync-process.ts';
import { sum, type SyncRun } from './support/sync-run.ts';
import { FULL_PAGE } from './scale.ts';

interface Side {
  records: number;
  seconds: number;
  recordsPerSecond: number;
  cpuMsPerRecord: number;
  dynamoRequestsPerRecord: number;
}

export interface EngineOverhead {
  engine: Side;
  baseline: Side;
  /** engine records/s ÷ baseline records/s. */
  throughputRatio: number;
  /** engine CPU per record ÷ baseline CPU per record (sync process only). */
  cpuRatio: number;
}

const dynamoRequests = (stats: { dynamo: Record<string, { readRequests: number; writeRequests: number }> }, table: string): number =>
  (stats.dynamo[table]?.readRequests ?? 0) + (stats.dynamo[table]?.writeRequests ?? 0);

function side(records: number, wallMs: number, cpuMs: number, requests: number): Side {
  return {
    records,
    seconds: wallMs / 1000,
    recordsPerSecond: records / (wallMs / 1000),
    cpuMsPerRecord: cpuMs / records,
    dynamoRequestsPerRecord: requests / records,
  };
}

/** Runs the baseline into a fresh copy of the data table and compares it with the engine's backfill of the same population. */
export async function measureEngineOverhead(stack: BenchStack, population: Population, engineRun: SyncRun): Promise<BenchOutcome<EngineOverhead>> {
  const fresh = await stack.provision('baseline');
  const tableName = fresh.resources.DataTable!.name;
  let baselineStats: BaselineStats;
  try {
    baselineStats = await population.sync.baseline({
      tableName,
      endpoints: DEFAULT_SYNC_ENDPOINTS,
      pageSize: FULL_PAGE,
      concurrency: population.syncConcurrency,
    });
  } finally {
    await Promise.allSettled(
      [tableName, fresh.resources.ControlTable!.name].map((TableName) => dynamoClient().send(new DeleteTableCommand({ TableName }))),
    );
  }
  const records = sum(engineRun.truth);
  if (baselineStats.records !== records) throw new Error(`baseline saw ${baselineStats.records} records, the engine ${records}`);
  const engine = side(records, engineRun.execution.wallMs, engineRun.execution.cpuMs, dynamoRequests(engineRun.execution, population.dataTable));
  const baseline = side(records, baselineStats.wallMs, baselineStats.cpuMs, dynamoRequests(baselineStats, tableName));
  const data: EngineOverhead = {
    engine,
    baseline,
    throughputRatio: engine.recordsPerSecond / baseline.recordsPerSecond,
    cpuRatio: engine.cpuMsPerRecord / baseline.cpuMsPerRecord,
  };
  const label = `${num(population.options.npns)} NPNs, ${num(records)} rec`;
  return {
    figures: [
      {
        section: '4',
        name: `Engine vs baseline: records/s (${label})`,
        value: `${ratio(data.throughputRatio)} (engine ${num(engine.recordsPerSecond)}/s, baseline ${num(baseline.recordsPerSecond)}/s)`,
        target: '-',
        verdict: 'info',
      },
      {
        section: '4',
        name: 'Engine vs baseline: sync-process CPU/record',
        value: `x${ratio(data.cpuRatio, 1)} (engine ${ratio(engine.cpuMsPerRecord, 3)} ms, baseline ${ratio(baseline.cpuMsPerRecord, 3)} ms)`,
        target: '-',
        verdict: 'info',
      },
      {
        section: '4',
        name: 'Engine vs baseline: DynamoDB requests/record',
        value: `engine ${ratio(engine.dynamoRequestsPerRecord, 3)}, baseline ${ratio(baseline.dynamoRequestsPerRecord, 3)}`,
        target: '-',
        verdict: 'info',
      },
    ],
    data,
  };
}
