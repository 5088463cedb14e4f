/**
 * 8. Scale: the same backfill (zero-latency simulator, unlimited budget, pages of 1,000) at two
 * population sizes, and how time, requests and the sync process's memory grow between them.
 */
import type { BenchStack } from './support/local-stack.ts';
import { startPopulation, type Population } from './support/population.ts';
import { num, ratio, type BenchOutcome, type Figure } from './support/report.ts';
import { runSync, sum, type SyncRun } from './support/sync-run.ts';

/** Effectively no budget: the simulator and the client both allow this many requests a minute. */
export const UNLIMITED_PER_MINUTE = 1_000_000_000;
export const FULL_PAGE = 1_000;

export interface ScalePoint {
  npns: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  apiRequests: number;
  dynamoRequests: number;
  rssPeakMiB: number;
  heapUsedPeakMiB: number;
  cpuSeconds: number;
}

/** A fresh population with the deployed settings except for the budget (none) and its backfill. */
export async function populationWithBackfill(stack: BenchStack, name: string, npns: number): Promise<{ population: Population; backfill: SyncRun }> {
  const population = await startPopulation(stack, name, { npns, apiPerMinute: UNLIMITED_PER_MINUTE, pageSize: FULL_PAGE });
  try {
    const backfill = await runSync(population, `bench-${name}-backfill`, { mode: 'backfill' });
    return { population, backfill };
  } catch (error) {
    await population.close();
    throw error;
  }
}

export function scalePoint(npns: number, run: SyncRun): ScalePoint {
  const seconds = run.execution.wallMs / 1000;
  const records = sum(run.truth);
  const dynamoRequests = Object.values(run.execution.dynamo).reduce((n, t) => n + t.readRequests + t.writeRequests, 0);
  return {
    npns,
    records,
    seconds,
    recordsPerSecond: records / seconds,
    apiRequests: run.api.apiRequests,
    dynamoRequests,
    rssPeakMiB: run.execution.memory.rssPeakMiB,
    heapUsedPeakMiB: run.execution.memory.heapUsedPeakMiB,
    cpuSeconds: run.execution.cpuMs / 1000,
  };
}

export function scaleFigures(small: ScalePoint, large: ScalePoint): BenchOutcome<{ small: ScalePoint; large: ScalePoint; growth: Record<string, number> }> {
  const growth = {
    npns: large.npns / small.npns,
    records: large.records / small.records,
    seconds: large.seconds / small.seconds,
    apiRequests: large.apiRequests / small.apiRequests,
    dynamoRequests: large.dynamoRequests / small.dynamoRequests,
    cpuPerRecord: (large.cpuSeconds / large.records) / (small.cpuSeconds / small.records),
    rssPeak: large.rssPeakMiB / small.rssPeakMiB,
    heapUsedPeak: large.heapUsedPeakMiB / small.heapUsedPeakMiB,
  };
  const describe = (p: ScalePoint): string =>
    `${num(p.records)} rec in ${num(p.seconds, 1)} s (${num(p.recordsPerSecond)}/s, CPU ${ratio((p.cpuSeconds * 1000) / p.records)} ms/rec), ${num(p.apiRequests)} API req, ${num(p.dynamoRequests)} DynamoDB req, RSS ${num(p.rssPeakMiB)} MiB, heap ${num(p.heapUsedPeakMiB)} MiB`;
  const figures: Figure[] = [
    { section: '8', name: `Scale: backfill of ${num(small.npns)} NPNs`, value: describe(small), target: '-', verdict: 'info' },
    { section: '8', name: `Scale: backfill of ${num(large.npns)} NPNs`, value: describe(large), target: '-', verdict: 'info' },
    {
      section: '8',
      name: `Scale: growth for ${ratio(growth.npns, 1)}x NPNs`,
      value: `records x${ratio(growth.records, 1)}, time x${ratio(growth.seconds, 1)}, sync CPU/rec x${ratio(growth.cpuPerRecord)}, API req x${ratio(growth.apiRequests, 1)}, DynamoDB req x${ratio(growth.dynamoRequests, 1)}, RSS x${ratio(growth.rssPeak)}, heap x${ratio(growth.heapUsedPeak)}`,
      target: '-',
      verdict: 'info',
    },
  ];
  return { figures, data: { small, large, growth } };
}
