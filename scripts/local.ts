/**
 * `npm run local`: the whole app on one machine, no AWS account. The local harness (synthesized app, DynamoDB
 * Local, fauxqs, Secrets Manager and Step Functions stand-ins), the simulator with a realistic population,
 * the initial backfill, then one simulated day: the Svix-signed `updates_available` webhook goes through
 * the HTTP front → webhook Lambda → SQS → dispatcher → the synthesized state machine → DynamoDB → stream.
 * Exits 0 only if both runs succeeded, the stream carried exactly the day's writes and the table equals
 * the simulator's ground truth.
 */
import { parseArgs } from 'node:util';
import { newWebhookSecret, startHarness, type LocalHarness } from '#local/harness';
import { startSimulator, type Simulator } from '#sim/server';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { outcomeOf, runExecution, type ExecutionOutcome } from './local-deployment/outcome.ts';
import { ChangeLog } from './support/change-log.ts';
import { elapsedLog, reportOutcome } from './support/console-report.ts';
import { table } from './support/run-table.ts';
import { watchRunProgress } from './support/run-progress.ts';
import { compareWithTruth, describeComparison, isExactMatch, readSyncedRecords } from './support/table-export.ts';

const HELP = `usage: npm run local [-- --npns N] [--seed S]

Runs the app locally against the ProducerSync simulator (N subscribed NPNs, default 3000): backfill,
then one simulated day delivered as the signed webhook, then compares the table with the simulator.
POWERTOOLS_LOG_LEVEL=INFO shows the Lambdas' own JSON logs.`;

const { values } = parseArgs({
  options: { npns: { type: 'string', default: '3000' }, seed: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const npns = Number(values.npns);
const seed = Number(values.seed);
if (!Number.isSafeInteger(npns) || npns < 1 || !Number.isSafeInteger(seed)) {
  console.error(`--npns must be a positive integer and --seed an integer\n\n${HELP}`);
  process.exit(2);
}

const started = Date.now();
const log = elapsedLog(started);
const recentApiRequests = (sim: Simulator): number => {
  const since = Date.now() - 60_000;
  return sim.requests.filter((r) => r.kind === 'api' && r.at >= since).length;
};
const perEndpointWrites = (outcome: ExecutionOutcome): Record<string, number> =>
  Object.fromEntries(Object.entries(outcome.run?.endpoints ?? {}).map(([name, c]) => [name, (c.inserted ?? 0) + (c.modified ?? 0) + (c.deleted ?? 0)]));

async function main(harness: LocalHarness): Promise<boolean> {
  const { resources } = harness;
  const signingSecret = newWebhookSecret();
  await harness.setWebhookSecret(signingSecret);
  const ingest = await harness.startIngest();
  const webhookTarget = { url: ingest.webhookUrl, secret: signingSecret };

  const sim = await startSimulator({ npns, seed, webhook: webhookTarget });
  harness.onStop(() => sim.close());
  log(`simulator ${sim.apiBaseUrl}: ${sim.subscribedNpns().length.toLocaleString('en-US')} subscribed NPNs, today ${sim.today}; webhook → ${webhookTarget.url}`);
  await harness.useProducerSyncApi({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });

  const progress = watchRunProgress({
    dynamo: harness.dynamo,
    controlTable: resources.controlTable,
    runId: () => harness.sfn.executions().find((e) => e.status === 'RUNNING')?.name,
    requestsLastMinute: () => recentApiRequests(sim),
    log,
  });
  try {
    log('backfill: StartExecution local-backfill {"mode":"backfill"}');
    const backfill = await runExecution(harness, 'local-backfill', { mode: 'backfill' });
    reportOutcome(backfill, log);
    if (backfill.status !== 'SUCCEEDED') return false;

    const changes = new ChangeLog(log);
    await harness.followChanges((records) => changes.add(records));

    const day = await sim.advanceDay();
    log(`simulator advanced to ${day.runDate}: ${day.changed} changed, ${day.added} added, ${day.deleted} deleted records`);
    log(`updates_available webhook ${day.eventId} → ${resources.webhookRouteKey}: HTTP ${day.webhookStatus}`);
    if (day.webhookStatus !== 202) return false;
    await harness.settle();
    const execution = harness.sfn.executions().at(-1);
    if (!execution || execution.name === 'local-backfill') {
      log('the webhook started no execution');
      return false;
    }
    const incremental = await outcomeOf(harness, execution.executionArn);
    const changeRemainder = changes.remainder();
    if (changeRemainder) log(changeRemainder);
    reportOutcome(incremental, log, [
      { header: 'written', values: perEndpointWrites(incremental) },
      { header: 'stream', values: Object.fromEntries(changes.byType) },
    ]);

    const written = Object.values(perEndpointWrites(incremental)).reduce((sum, n) => sum + n, 0);
    const streamMatches = changes.delivered === written;

    // The Scan runs in DynamoDB Local while this thread builds the ground truth.
    const scanning = readSyncedRecords(harness.dynamo, resources.dataTable);
    const truth = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => [endpoint, sim.groundTruth(endpoint)]));
    const comparison = compareWithTruth(await scanning, truth);
    log(`table vs the simulator's ground truth: ${describeComparison(comparison)}`);

    console.log(`\nsummary (wall time ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(summaryTable([backfill, { ...incremental, stream: changes.delivered }]));
    console.log(`stream records delivered (followed from the backfill's end): ${changes.delivered} ${streamMatches ? '=' : '≠'} inserted + modified + deleted of the webhook run (${written})`);
    console.log(`table: ${isExactMatch(comparison) ? 'equals' : 'DIFFERS FROM'} the simulator's ground truth (${comparison.compared} records)\n`);
    return incremental.status === 'SUCCEEDED' && streamMatches && isExactMatch(comparison);
  } finally {
    progress.stop();
  }
}

/** One row per run: status, wall time, and the totals of its per-endpoint table. */
function summaryTable(outcomes: Array<ExecutionOutcome & { stream?: number }>): string {
  return table(
    ['run', 'status', 'wall', 'pages', 'inserted', 'modified', 'unchanged', 'deleted', '429s', 'stream records'],
    outcomes.map((o) => {
      const t = o.run?.totals ?? {};
      const wall = o.run?.durationMs === undefined ? '?' : `${(o.run.durationMs / 1000).toFixed(1)}s`;
      return [o.name, o.status, wall, t.pages ?? 0, t.inserted ?? 0, t.modified ?? 0, t.unchanged ?? 0, t.deleted ?? 0, t.throttled ?? 0, o.stream ?? '-'];
    }),
  );
}

let exitCode = 1;
let harness: LocalHarness | undefined;
try {
  // The JVM starts on the other core while this one synthesizes; Serial GC: G1's concurrent threads compete with
  // this process for the two cores (measured 48 s vs 60-70 s per 34k writes).
  harness = await startHarness({ log, dynamo: { javaOptions: ['-XX:+UseSerialGC'] }, exitOnSignal: (signal) => (signal === 'SIGINT' ? 130 : 143) });
  exitCode = (await main(harness)) ? 0 : 1;
} catch (error) {
  if (!harness?.interrupted) console.error(error instanceof Error ? (error.stack ?? error.message) : error);
} finally {
  await harness?.stop();
}
log(exitCode === 0 ? `OK in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'FAILED');
process.exit(exitCode);
