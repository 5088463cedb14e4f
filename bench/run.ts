/**
 * `npm run bench [-- --quick] [-- --npns=150,1500] [-- --only=1,7] [-- --realistic-npns=900 --realistic-rate=1500]`: the figures of bench/README.md against the
 * simulator and DynamoDB Local on loopback. Prints the table, writes bench/results/*.json and
 * (full runs) the table in bench/README.md. Exits 0 whatever the figures say; non-zero only if
 * a benchmark crashed.
 */
import './support/quiet.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureBundles } from './bundles.ts';
import { measureCeiling } from './ceiling.ts';
import { measureCost } from './cost.ts';
import { measureEngineOverhead } from './engine-overhead.ts';
import { pageEfficiency, pageEfficiencyFigures } from './page-efficiency.ts';
import { measurePartitionHeat } from './partition-heat.ts';
import { measureRealisticCeiling, type RealisticCeiling } from './realistic-ceiling.ts';
import { FULL_PAGE, populationWithBackfill, scaleFigures, scalePoint, type ScalePoint } from './scale.ts';
import { stepFunctionFigures } from './step-functions.ts';
import { renderRequestChart } from './support/chart.ts';
import { startBenchStack, type BenchStack } from './support/local-stack.ts';
import { describeMachine, machineInfo, watchLoad } from './support/machine.ts';
import { formatTable, type BenchOutcome, type Figure } from './support/report.ts';
import { updateReadme, writeResults, type BenchResults } from './support/results.ts';
import type { SyncRun } from './support/sync-run.ts';
import { measureTimeToFresh } from './time-to-fresh.ts';
import { measureWebhookLatency } from './webhook-latency.ts';
import { measureWriteAmplification } from './write-amplification.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    npns: { type: 'string' },
    'ceiling-npns': { type: 'string' },
    'ceiling-rate': { type: 'string' },
    'realistic-npns': { type: 'string' },
    'realistic-rate': { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick === true;
/** `--only=1,7`: just the benchmarks behind those sections (a partial run leaves bench/README.md alone). */
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
const wanted = (...sections: string[]): boolean => !only || sections.some((s) => only.has(s));
const [smallNpns, largeNpns] = (values.npns ?? (quick ? '60,240' : '150,1500')).split(',').map(Number) as [number, number];
const options = {
  scaleNpns: [smallNpns, largeNpns],
  ceiling: { npns: Number(values['ceiling-npns'] ?? (quick ? 40 : 360)), perMinute: Number(values['ceiling-rate'] ?? 3_000), pageSize: 1, minSteadySeconds: 60, abortAfterSeconds: quick ? 45 : 150 },
  realisticCeiling: {
    npns: Number(values['realistic-npns'] ?? (quick ? 120 : 900)),
    perMinute: Number(values['realistic-rate'] ?? 1_500),
    minSteadySeconds: 180,
    abortAfterSeconds: quick ? 120 : 600,
  },
  timeToFresh: { npns: quick ? 100 : 300, days: quick ? 3 : 5 },
  partitionHeatNpns: quick ? 100 : 400,
  webhookDeliveries: quick ? 200 : 1_000,
  bundleLoadRuns: quick ? 3 : 5,
};

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const cacheDir = `${benchDir}.cache`;
const started = new Date();
const log = (message: string): void => {
  process.stderr.write(`[${((Date.now() - started.getTime()) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
};

const machine = machineInfo();
const loadWatch = watchLoad();
console.log(`Machine: ${describeMachine(machine)}`);
const figures: Figure[] = [];
const data: Record<string, unknown> = {};
const errors: Record<string, string> = {};

/** Runs one benchmark; a crash is recorded and the others still run. */
async function step<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
  log(`${name}...`);
  try {
    return await work();
  } catch (error) {
    errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`${name} CRASHED: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function collect(name: string, outcome: BenchOutcome | undefined): void {
  if (!outcome) return;
  figures.push(...outcome.figures);
  data[name] = outcome.data;
}

let stack: BenchStack | undefined;
let realisticCeiling: RealisticCeiling | undefined;
try {
  stack = await step('setup (synthesize with bundling, DynamoDB Local, stand-ins)', () => startBenchStack(cacheDir));
  if (!stack) throw new Error('setup failed');
  const local = stack;

  if (wanted('6')) collect('bundles', await step('6 bundles', async () => measureBundles(local, cacheDir, options.bundleLoadRuns)));
  if (wanted('5')) collect('webhook', await step('5 webhook latency', () => measureWebhookLatency(local, options.webhookDeliveries)));

  let small: { point: ScalePoint; daily?: SyncRun } | undefined;
  if (wanted('2', '3', '4', '8')) await step(`backfill of ${smallNpns} NPNs, engine overhead, write amplification`, async () => {
    const { population, backfill } = await populationWithBackfill(local, 'small', smallNpns);
    try {
      small = { point: scalePoint(smallNpns, backfill) };
      collect('engineOverhead', await step('4 engine overhead (baseline)', () => measureEngineOverhead(local, population, backfill)));
      const amplification = await step('3 write amplification (a day, the same day again, a backfill again)', () => measureWriteAmplification(population));
      collect('writeAmplification', amplification);
      if (amplification) small.daily = amplification.dailyRun;
    } finally {
      await population.close();
    }
  });

  if (wanted('9')) collect('cost', await step(`9 cost (backfill, a day, a reconcile of ${smallNpns} NPNs, scaled to 100,000)`, () => measureCost(local, smallNpns)));

  // After the small population has warmed DynamoDB Local up (run first, the ceiling backfill
  // ramped up over its first 40 s) and before the large one (run after it, its pages took 3x
  // longer): this figure is about the engine's pacing, not about DynamoDB Local's state.
  const ceiling = wanted('1', '7') && (await step(`1 ceiling (${options.ceiling.npns} NPNs at ${options.ceiling.perMinute}/min)`, () => measureCeiling(local, options.ceiling)));
  if (ceiling) collect('ceiling', ceiling);
  if (ceiling) collect('stepFunctions', stepFunctionFigures(ceiling.run, ceiling.data));
  // The README's picture of a run (issue 15 figure 5): the ceiling backfill's requests per 10 s by endpoint.
  if (ceiling && !quick) await step('chart of the ceiling backfill', async () => {
    const api = ceiling.run.api.log.filter((entry) => entry.kind === 'api');
    const svg = await renderRequestChart({
      title: `Ceiling backfill: API requests per 10 s by endpoint (budget ${options.ceiling.perMinute.toLocaleString('en-US')}/min)`,
      startMs: api[0]?.at ?? 0,
      requests: api.map((entry) => ({ atMs: entry.at, series: entry.path.split('/').at(-1) ?? entry.path })),
      budgetPerMinute: options.ceiling.perMinute,
    });
    mkdirSync(`${benchDir}charts`, { recursive: true });
    writeFileSync(`${benchDir}charts/backfill-requests.svg`, svg);
  });

  if (wanted('10')) {
    const realistic = await step(`10 ceiling with real latency (${options.realisticCeiling.npns} NPNs at ${options.realisticCeiling.perMinute}/min)`, () =>
      measureRealisticCeiling(local, { ...options.realisticCeiling, chartPath: `${benchDir}results/realistic-ceiling.svg` }),
    );
    collect('realisticCeiling', realistic);
    if (realistic) realisticCeiling = { ratio: realistic.data.ratio, recordsPerRequestRatio: realistic.data.recordsPerRequestRatio, '429s': realistic.data['429s'] };
  }

  if (wanted('11')) collect('timeToFresh', await step(`11 time to fresh (${options.timeToFresh.days} days of ${options.timeToFresh.npns} NPNs)`, () => measureTimeToFresh(local, options.timeToFresh)));
  if (wanted('12')) collect('partitionHeat', await step(`12 partition heat (${options.partitionHeatNpns} NPNs)`, () => measurePartitionHeat(local, options.partitionHeatNpns)));

  let large: { point: ScalePoint; backfill: SyncRun } | undefined;
  if (wanted('2', '8')) await step(`backfill of ${largeNpns} NPNs`, async () => {
    const { population, backfill } = await populationWithBackfill(local, 'large', largeNpns);
    await population.close();
    large = { point: scalePoint(largeNpns, backfill), backfill };
  });
  if (large) {
    const daily = small?.daily ? pageEfficiency(`daily run, ${smallNpns} NPNs`, small.daily, FULL_PAGE) : undefined;
    collect('pageEfficiency', pageEfficiencyFigures(pageEfficiency(`backfill, ${largeNpns} NPNs`, large.backfill, FULL_PAGE), daily));
  }
  if (small && large) collect('scale', scaleFigures(small.point, large.point));
} catch (error) {
  errors.run ??= error instanceof Error ? (error.stack ?? error.message) : String(error);
} finally {
  await stack?.stop();
}

const finished = new Date();
const load = loadWatch.stop();
figures.sort((a, b) => Number(a.section) - Number(b.section));
const results: BenchResults = {
  startedAt: started.toISOString(),
  finishedAt: finished.toISOString(),
  durationSeconds: (finished.getTime() - started.getTime()) / 1000,
  quick: quick || only !== undefined,
  machine,
  load,
  options,
  figures,
  ...(realisticCeiling ? { realisticCeiling } : {}),
  data,
  errors,
};
console.log(`\n${formatTable(figures)}\n\nLoad average during the run: mean ${load.mean}, max ${load.max} (${machine.cores} cores).`);
const file = writeResults(`${benchDir}results`, results);
log(`results: ${file}`);
if (!quick && !only) {
  updateReadme(`${benchDir}README.md`, results);
  log('bench/README.md updated');
}
if (Object.keys(errors).length > 0) {
  for (const [name, error] of Object.entries(errors)) console.error(`\n${name} crashed:\n${error}`);
  process.exit(1);
}
process.exit(0);
