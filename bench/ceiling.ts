/**
 * 1. Ceiling ratio: API requests per minute the backfill achieves ÷ the configured budget, as
 * the simulator logged them (its timestamps, not the client's counters), with the 429s it sent.
 *
 * The budget is raised on both sides (simulator and API_REQUESTS_PER_MINUTE) so a run of a
 * minute or more fits on one machine; SYNC_TIME_BUDGET_MS is scaled down by the same factor so
 * an invocation covers as many pages at the limit as a deployed one does (300/min, 600 s).
 * Pages are small so DynamoDB Local keeps up and the API budget, not the machine, is the limit.
 * The steady state is the stretch during which at least STEADY_ENDPOINTS endpoints page (the Map's
 * width when this figure was defined; every endpoint now pages at once, and the smallest finish within
 * seconds); once fewer are left, each one's page loop bounds the rate instead (figure 10 is about that).
 */
import { API_LIMITS } from '#producersync/endpoints';
import type { RequestLogEntry } from '#sim/server';
import type { BenchStack } from './support/local-stack.ts';
import { startPopulation } from './support/population.ts';
import { judge, num, quantile, ratio, type BenchOutcome } from './support/report.ts';
import { runSync, sum, type SyncRun } from './support/sync-run.ts';

export interface CeilingOptions {
  npns: number;
  perMinute: number;
  pageSize: number;
  /** A steady state shorter than this is reported as a miss (the issue asks for at least a minute). */
  minSteadySeconds: number;
  /** A slow machine would stretch the run: stop it here and measure what ran (Step Functions then counts a partial run). */
  abortAfterSeconds: number;
}

export interface CeilingData {
  perMinute: number;
  pageSize: number;
  timeBudgetMs: number;
  syncConcurrency: number;
  pages: number;
  runSeconds: number;
  steady: { startMs: number; endMs: number; seconds: number; requests: number; perMinute: number };
  wholeRunPerMinute: number;
  /** Most API requests the simulator saw in any 60 s window (must not exceed the budget). */
  maxInAnyMinute: number;
  throttled: number;
  waitStates: number;
  /** The execution was stopped at abortAfterSeconds (a slow machine): the figures cover what ran. */
  aborted: boolean;
  /** CPU time of the sync process ÷ wall time: near 1 means the engine process itself was the limit. */
  syncProcessCpuShare: number;
  /** API requests per minute in consecutive 10 s slices of the run (how the rate moved). */
  perMinuteBy10s: number[];
  /** The budget's spacing: 60 s ÷ perMinute. */
  slotMs: number;
  /**
   * Gaps between consecutive API requests (any endpoint) in the steady state. Regular gaps a
   * little longer than the slot mean releases that leave late (a pacing loss); many gaps over
   * two slots mean moments with no endpoint ready to send (the page loops are the limit).
   */
  gapMs: { median: number; mean: number; p90: number; overTwoSlots: number };
  ceilingRatio: number;
}

const DEPLOYED_TIME_BUDGET_MS = 600_000;
/** Endpoints paging at once that make figure 1's steady state (the Map's old MaxConcurrency, so runs compare). */
const STEADY_ENDPOINTS = 4;
/** Between one endpoint's last page and the next endpoint's first, the Map slot is briefly idle. */
const HANDOVER_GAP_MS = 2_000;

export async function measureCeiling(stack: BenchStack, options: CeilingOptions): Promise<BenchOutcome<CeilingData> & { run: SyncRun }> {
  const timeBudgetMs = Math.round((DEPLOYED_TIME_BUDGET_MS * API_LIMITS.apiRequestsPerMinute) / options.perMinute);
  const population = await startPopulation(stack, 'ceiling', {
    npns: options.npns,
    apiPerMinute: options.perMinute,
    pageSize: options.pageSize,
    timeBudgetMs,
  });
  try {
    // A throttle would hand a Wait to the state machine: let it wait a second rather than not at all.
    const run = await runSync(population, 'bench-ceiling', { mode: 'backfill' }, { waitOverrideMs: 1_000, abortAfterMs: options.abortAfterSeconds * 1000 });
    // Entries are logged after the body is read, so restore time order first.
    const apiLog = run.api.log.filter((entry) => entry.kind === 'api').sort((a, b) => a.at - b.at);
    const steady = steadyWindow(apiLog, STEADY_ENDPOINTS);
    const slotMs = 60_000 / options.perMinute;
    const gaps = gapsOf(apiLog.filter((e) => e.at >= steady.startMs && e.at <= steady.endMs));
    const first = apiLog[0]?.at ?? 0;
    const last = apiLog.at(-1)?.at ?? 0;
    const data: CeilingData = {
      perMinute: options.perMinute,
      pageSize: options.pageSize,
      timeBudgetMs,
      syncConcurrency: population.syncConcurrency,
      pages: sum(run.api.pages),
      runSeconds: (last - first) / 1000,
      steady,
      wholeRunPerMinute: last > first ? apiLog.length / ((last - first) / 60_000) : 0,
      maxInAnyMinute: maxInWindow(apiLog, 60_000),
      throttled: run.api.throttled,
      waitStates: run.execution.history.waitStates,
      aborted: run.execution.status === 'ABORTED',
      syncProcessCpuShare: run.execution.cpuMs / run.execution.wallMs,
      perMinuteBy10s: slices(apiLog, first, 10_000).map((count) => count * 6),
      slotMs,
      gapMs: {
        median: quantile(gaps, 0.5),
        mean: gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length),
        p90: quantile(gaps, 0.9),
        overTwoSlots: gaps.filter((gap) => gap > 2 * slotMs).length / Math.max(1, gaps.length),
      },
      ceilingRatio: steady.perMinute / options.perMinute,
    };
    const longEnough = steady.seconds >= options.minSteadySeconds;
    return {
      figures: [
        {
          section: '1',
          name: `Ceiling ratio (backfill at ${num(options.perMinute)}/min, ${num(options.pageSize)}/page)`,
          value: `${ratio(data.ceilingRatio, 3)} (${num(steady.perMinute)}/min over ${num(steady.seconds, 1)} s steady${longEnough ? '' : `, under ${options.minSteadySeconds} s`}; whole run ${num(data.wholeRunPerMinute)}/min${data.aborted ? `, stopped at ${options.abortAfterSeconds} s` : ''})`,
          target: '>= 0.95',
          verdict: judge(data.ceilingRatio >= 0.95 && longEnough),
        },
        {
          section: '1',
          name: 'Ceiling: spacing of the requests',
          value: `mean ${num(data.gapMs.mean, 1)} ms (median ${num(data.gapMs.median)}, p90 ${num(data.gapMs.p90)}) vs a ${num(slotMs, 1)} ms slot; ${num(data.gapMs.overTwoSlots * 100, 1)}% over 2 slots; sync process busy ${num(data.syncProcessCpuShare * 100)}%`,
          target: '-',
          verdict: 'info',
        },
        {
          section: '1',
          name: '429s during the backfill',
          value: `${num(data.throttled)} (max ${num(data.maxInAnyMinute)} requests in any 60 s, ${num(data.waitStates)} Wait states)`,
          target: '0',
          verdict: judge(data.throttled === 0),
        },
      ],
      data,
      run,
    };
  } finally {
    await population.close();
  }
}

/**
 * The longest stretch during which at least `concurrency` endpoints were paging (an endpoint
 * pages from its first request to its last), short hand-over gaps between two endpoints bridged.
 */
export function steadyWindow(log: readonly RequestLogEntry[], concurrency: number): CeilingData['steady'] {
  const spans = new Map<string, { first: number; last: number }>();
  for (const entry of log) {
    const span = spans.get(entry.path);
    if (span) span.last = entry.at;
    else spans.set(entry.path, { first: entry.at, last: entry.at });
  }
  const needed = Math.min(concurrency, spans.size);
  const edges = [...spans.values()].flatMap((s) => [{ at: s.first, delta: 1 }, { at: s.last, delta: -1 }]).sort((a, b) => a.at - b.at || b.delta - a.delta);
  const windows: Array<{ start: number; end: number }> = [];
  let active = 0;
  let openedAt: number | undefined;
  for (const edge of edges) {
    active += edge.delta;
    if (active >= needed && openedAt === undefined) openedAt = edge.at;
    if (active < needed && openedAt !== undefined) {
      const previous = windows.at(-1);
      if (previous && openedAt - previous.end <= HANDOVER_GAP_MS) previous.end = edge.at;
      else windows.push({ start: openedAt, end: edge.at });
      openedAt = undefined;
    }
  }
  const longest = windows.sort((a, b) => b.end - b.start - (a.end - a.start))[0] ?? { start: 0, end: 0 };
  const requests = log.filter((entry) => entry.at >= longest.start && entry.at <= longest.end).length;
  const seconds = (longest.end - longest.start) / 1000;
  return { startMs: longest.start, endMs: longest.end, seconds, requests, perMinute: seconds > 0 ? requests / (seconds / 60) : 0 };
}

/** Entries per consecutive `sliceMs` from `from` (the last, partial slice dropped). */
export function slices(log: readonly RequestLogEntry[], from: number, sliceMs: number): number[] {
  const counts: number[] = [];
  for (const entry of log) {
    const index = Math.floor((entry.at - from) / sliceMs);
    while (counts.length <= index) counts.push(0);
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts.slice(0, -1);
}

/** Sorted gaps between consecutive entries (the log is in time order). */
export function gapsOf(log: readonly RequestLogEntry[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < log.length; i++) gaps.push((log[i]?.at ?? 0) - (log[i - 1]?.at ?? 0));
  return gaps.sort((a, b) => a - b);
}

/** Most entries inside any window of `windowMs` (the log is in time order). */
export function maxInWindow(log: readonly RequestLogEntry[], windowMs: number): number {
  let most = 0;
  for (let start = 0, end = 0; end < log.length; end++) {
    while ((log[end]?.at ?? 0) - (log[start]?.at ?? 0) >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
