/**
 * 11. Time to fresh (issue 15, figure 2): from the webhook accepted to the day's last change written, for
 * typical days (2% of the records changed, the simulator's advanceDay) with the latency model on at the
 * real pace (300 requests/min, pages of 1,000, latency unscaled), p50 and max over several days.
 *
 * Measured: from the daily run's start (the dispatcher's StartExecution) to the newest `changedAt` the
 * run wrote, through the synthesized state machine and the real handlers. Added, not measured: the
 * dispatcher's batching window from the synthesized template (the queue's event source gathers events
 * that long before it invokes the dispatcher, so a lone daily webhook waits all of it); the webhook
 * handler's own time (figure 5, about a millisecond) is left out.
 */
import { dynamoClient } from '#commons/clients';
import { scanItems } from '../scripts/support/table-export.ts';
import type { BenchStack } from './support/local-stack.ts';
import { startPopulation } from './support/population.ts';
import { median, num, type BenchOutcome } from './support/report.ts';
import { runSync } from './support/sync-run.ts';

export interface TimeToFreshOptions {
  npns: number;
  days: number;
}

export interface FreshDay {
  runDate: string;
  /** The day's changes at the source (changed + added + deleted records of every endpoint, the unsynced licenseLoas included). */
  sourceChanges: number;
  /** Items the run wrote (a new changedAt). */
  written: number;
  apiRequests: number;
  /** Run start → the newest changedAt the run wrote. */
  lastChangeMs: number;
  /** Run start → the execution's end (RecordRun included). */
  runMs: number;
}

export interface TimeToFreshData {
  npns: number;
  batchingWindowSeconds: number;
  days: FreshDay[];
  /** batching window + lastChangeMs, per day. */
  timeToFreshMs: { p50: number; max: number };
  lastChangeMs: { p50: number; max: number };
}

export async function measureTimeToFresh(stack: BenchStack, options: TimeToFreshOptions): Promise<BenchOutcome<TimeToFreshData>> {
  const batchingWindowSeconds = dispatcherBatchingWindow(stack);
  const population = await startPopulation(stack, 'fresh', { npns: options.npns, apiPerMinute: 300, pageSize: 1_000, simulator: { latency: {} } });
  try {
    await runSync(population, 'fresh-backfill', { mode: 'backfill' });
    const days: FreshDay[] = [];
    for (let day = 1; day <= options.days; day++) {
      const changes = await population.sim.advanceDay();
      const startedAt = Date.now();
      const run = await runSync(population, `fresh-day-${day}`, { runDate: changes.runDate });
      const runMs = Date.now() - startedAt;
      const written = (await scanItems(dynamoClient(), population.dataTable))
        .map((item) => (typeof item.changedAt === 'string' ? Date.parse(item.changedAt) : Number.NaN))
        .filter((at) => at >= startedAt);
      days.push({
        runDate: changes.runDate,
        sourceChanges: changes.changed + changes.added + changes.deleted,
        written: written.length,
        apiRequests: run.api.apiRequests,
        lastChangeMs: written.length > 0 ? Math.max(...written) - startedAt : 0,
        runMs,
      });
    }
    const last = days.map((d) => d.lastChangeMs);
    const total = last.map((ms) => ms + batchingWindowSeconds * 1000);
    const data: TimeToFreshData = {
      npns: options.npns,
      batchingWindowSeconds,
      days,
      timeToFreshMs: { p50: median(total), max: Math.max(...total) },
      lastChangeMs: { p50: median(last), max: Math.max(...last) },
    };
    const s = (ms: number): string => `${num(ms / 1000, 1)} s`;
    return {
      figures: [
        {
          section: '11',
          name: `Time to fresh (${num(options.days)} days of ${num(options.npns)} NPNs, 2% changed, latency model, 300/min)`,
          value: `p50 ${s(data.timeToFreshMs.p50)}, max ${s(data.timeToFreshMs.max)} (batching window ${num(batchingWindowSeconds)} s + run start → last change p50 ${s(data.lastChangeMs.p50)}, max ${s(data.lastChangeMs.max)})`,
          target: '-',
          verdict: 'info',
        },
        {
          section: '11',
          name: 'Time to fresh: a day',
          value: `median ${num(median(days.map((d) => d.written)))} items written (the source changed ${num(median(days.map((d) => d.sourceChanges)))} records, licenseLoas included), ${num(median(days.map((d) => d.apiRequests)))} API requests, run ${s(median(days.map((d) => d.runMs)))}`,
          target: '-',
          verdict: 'info',
        },
      ],
      data,
    };
  } finally {
    await population.close();
  }
}

/** MaximumBatchingWindowInSeconds of the dispatcher's queue event source, as synthesized. */
function dispatcherBatchingWindow(stack: BenchStack): number {
  for (const { template } of stack.stacks) {
    for (const resource of Object.values(template.Resources ?? {})) {
      const { Type, Properties } = resource as { Type?: string; Properties?: { MaximumBatchingWindowInSeconds?: number } };
      if (Type === 'AWS::Lambda::EventSourceMapping' && typeof Properties?.MaximumBatchingWindowInSeconds === 'number') return Properties.MaximumBatchingWindowInSeconds;
    }
  }
  return 0;
}
