/**
 * What a month of the deployed product costs (issue 15, figure 4; docs/COST.md): the one table of
 * prices, and the arithmetic from usage counts to dollars. bench/cost.ts measures the counts.
 *
 * Prices: AWS's public us-east-1 on-demand list prices, no free tier (an account's free tier is often
 * spent elsewhere; docs/COST.md says what it would take off), as published on the pages named per
 * row, last checked 2026-12-01 against the prices in force since DynamoDB's on-demand cut of
 * 2024-11-01. This machine has no internet access: re-check the pages before quoting a total.
 */

export interface Price {
  /** Dollars per `per` units. */
  usd: number;
  per: number;
  unit: string;
  source: string;
}

const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const SFN = 'https://aws.amazon.com/step-functions/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';
const SECRETS = 'https://aws.amazon.com/secrets-manager/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const APIGW = 'https://aws.amazon.com/api-gateway/pricing/';
const XRAY = 'https://aws.amazon.com/xray/pricing/';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';

/** The one price table (us-east-1, on demand, as deployed: arm64 Lambda, HTTP API, Standard workflows, standard queues). */
export const PRICES = {
  dynamoWriteUnits: { usd: 0.625, per: 1e6, unit: 'write request units (table and index)', source: DYNAMODB },
  dynamoReadUnits: { usd: 0.125, per: 1e6, unit: 'read request units', source: DYNAMODB },
  dynamoStorage: { usd: 0.25, per: 1, unit: 'GB-month of table and index storage', source: DYNAMODB },
  dynamoPitr: { usd: 0.2, per: 1, unit: 'GB-month of point-in-time recovery (continuous backups)', source: DYNAMODB },
  dynamoStreamReads: { usd: 0.02, per: 1e5, unit: 'stream read request units (not Lambda triggers: free)', source: DYNAMODB },
  lambdaGbSeconds: { usd: 0.0000133334, per: 1, unit: 'GB-seconds, arm64', source: LAMBDA },
  lambdaRequests: { usd: 0.2, per: 1e6, unit: 'Lambda requests', source: LAMBDA },
  stepFunctionsTransitions: { usd: 0.025, per: 1e3, unit: 'Standard state transitions', source: SFN },
  logsIngest: { usd: 0.5, per: 1, unit: 'GB of logs ingested (Standard class)', source: CLOUDWATCH },
  logsStorage: { usd: 0.03, per: 1, unit: 'GB-month of logs stored', source: CLOUDWATCH },
  customMetrics: { usd: 0.3, per: 1, unit: 'custom metric-months (first 10,000)', source: CLOUDWATCH },
  alarmMetrics: { usd: 0.1, per: 1, unit: 'standard-resolution alarm metric-months', source: CLOUDWATCH },
  dashboards: { usd: 3, per: 1, unit: 'dashboard-months (beyond 3 free)', source: CLOUDWATCH },
  kmsKeys: { usd: 1, per: 1, unit: 'customer managed key-months', source: KMS },
  kmsRequests: { usd: 0.03, per: 1e4, unit: 'KMS requests', source: KMS },
  secrets: { usd: 0.4, per: 1, unit: 'secret-months', source: SECRETS },
  secretsApiCalls: { usd: 0.05, per: 1e4, unit: 'Secrets Manager API calls', source: SECRETS },
  sqsRequests: { usd: 0.4, per: 1e6, unit: 'SQS standard requests (64 KB chunks)', source: SQS },
  httpApiRequests: { usd: 1, per: 1e6, unit: 'HTTP API requests (512 KB chunks)', source: APIGW },
  xrayTraces: { usd: 5, per: 1e6, unit: 'X-Ray traces recorded', source: XRAY },
  scheduledEvents: { usd: 1, per: 1e6, unit: 'EventBridge events (scheduled rule invocations)', source: EVENTBRIDGE },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;

/** How many of each priced unit a period used (a month, or the first full load). */
export type Usage = Partial<Record<PriceKey, number>>;

export interface CostLine {
  key: PriceKey;
  quantity: number;
  usd: number;
}

export interface Cost {
  lines: CostLine[];
  totalUsd: number;
}

/** Dollars of a usage, line by line in the price table's order (units never used are left out). */
export function costOf(usage: Usage, prices: Record<PriceKey, Price> = PRICES): Cost {
  const lines: CostLine[] = [];
  for (const key of Object.keys(prices) as PriceKey[]) {
    const quantity = usage[key];
    if (quantity === undefined || quantity === 0) continue;
    lines.push({ key, quantity, usd: (quantity / prices[key].per) * prices[key].usd });
  }
  return { lines, totalUsd: lines.reduce((n, line) => n + line.usd, 0) };
}

/** Usages added unit by unit (a month = daily runs + reconciles + the fixed resources). */
export function addUsage(...usages: Usage[]): Usage {
  const total: Usage = {};
  for (const usage of usages) for (const [key, value] of Object.entries(usage) as [PriceKey, number][]) total[key] = (total[key] ?? 0) + value;
  return total;
}

/** A usage times n (a day's run × 30). */
export function scaleUsage(usage: Usage, n: number): Usage {
  return Object.fromEntries(Object.entries(usage).map(([key, value]) => [key, value * n])) as Usage;
}

export const GB = 1024 ** 3;
export const DAYS_PER_MONTH = 30;
/** Weekly reconciles in a month: 52 / 12. */
export const WEEKS_PER_MONTH = 52 / 12;
export const HOURS_PER_MONTH = DAYS_PER_MONTH * 24;

/** Lambda GB-seconds of a billed duration at a memory size (MB, as in the template). */
export const gbSeconds = (billedMs: number, memoryMb: number): number => (billedMs / 1000) * (memoryMb / 1024);

/** A table's on-demand units in one run (index units included in the totals). */
export interface TableUnits {
  writeUnits: number;
  indexWriteUnits: number;
  readUnits: number;
  /** Refused conditional writes: DynamoDB bills them (1 unit each here, the items are under 1 KB). */
  conditionalFailures: number;
}

/** What one measured run of the sync used, as the benchmark counted it (bench/cost.ts). */
export interface MeasuredRun {
  /** Records the simulator held per endpoint for the run's query (what it paged through). */
  truth: Record<string, number>;
  recordsSeen: number;
  apiRequests: number;
  /** Step Functions state transitions and history events (bench/support/history.ts). */
  transitions: number;
  historyEvents: number;
  data: TableUnits;
  control: TableUnits;
  /** Invocations and billed ms per function id. */
  lambda: Record<string, { invocations: number; billedMs: number }>;
  /** Bytes the handlers logged (Powertools JSON lines and EMF metrics, at the deployed INFO level). */
  logBytes: number;
  secretReads: number;
}

/** What the synthesized templates deploy (bench/cost.ts reads them). */
export interface Deployment {
  lambdaMemoryMb: Record<string, number>;
  kmsKeys: number;
  secrets: number;
  /** Metrics the alarms watch (a metric-math alarm bills each metric it reads). */
  alarmMetrics: number;
  dashboards: number;
  /** Custom metric names × their one dimension set (METRIC_NAMES). */
  customMetrics: number;
  /** Invocations of the dispatcher by the EventBridge schedules in a month. */
  scheduledInvocationsPerMonth: number;
  /** Lambda and the state machine trace with X-Ray (one trace per invocation or execution, an upper bound: sampling keeps fewer). */
  tracing: boolean;
}

/**
 * Estimates for what the benchmark does not run (the ingest path, the platform's own log lines,
 * KMS calls other services make under their key caches); docs/COST.md gives the reasons.
 */
export const ESTIMATES = {
  /** Lambda's START, END and REPORT lines per invocation. */
  lambdaPlatformLogBytes: 350,
  /** One Step Functions log event (Level ALL, IncludeExecutionData false) per history event. */
  stepFunctionsLogBytesPerEvent: 350,
  /** Webhook Lambda per delivery (verify + SendMessage; figure 5 measures ~1 ms warm, a cold start ~300 ms). */
  webhookBilledMs: 100,
  /** Dispatcher per invocation (a few DynamoDB and Step Functions calls). */
  dispatcherBilledMs: 200,
  /** Ingest log bytes per webhook delivery (webhook + dispatcher lines, API access log). */
  ingestLogBytesPerDelivery: 3_000,
  /** SQS requests per delivery: SendMessage, then the event source mapping's DeleteMessage (its receive is counted below). */
  sqsRequestsPerDelivery: 2,
  /** Lambda's SQS event source mapping long-polls all the time: 5 pollers × 3 twenty-second polls a minute. */
  sqsPollerRequestsPerMonth: 5 * 3 * 60 * HOURS_PER_MONTH,
  /** KMS calls per 5 minutes a run is active: DynamoDB, Logs and SQS cache a data key ~5 min per caller (2 tables + logs) × (4 endpoint loops + Prepare/Finalize). */
  kmsRequestsPerFiveMinutes: 3 * 6,
  /** The API's budget: a run pages at most this fast, so its API requests give its shortest duration. */
  apiRequestsPerMinute: 300,
} as const;

/** API requests a run makes at a page size: the data pages plus one empty end-of-data response per endpoint (docs/SYNC.md). */
export function pagesFor(truth: Record<string, number>, factor: number, pageSize: number): number {
  return Object.values(truth).reduce((n, records) => n + Math.ceil((records * factor) / pageSize) + 1, 0);
}

/**
 * One run's usage at `factor` times the measured population. What scales: everything per record
 * (data-table units, refused conditions, SyncPages' billed time) with the records, everything per
 * page (control-table checkpoints, the handlers' log lines) with the pages `pagesFor` gives, except
 * a reconcile's control-table units (`controlPerRecord`: its seen keys are sized by the records).
 * What does not: Prepare and Finalize, the state transitions (an endpoint loop covers up to 600 s of
 * pages per invocation), secret reads (one per container).
 */
export function runUsage(run: MeasuredRun, deployment: Deployment, factor: number, pageSize: number, { controlPerRecord = false } = {}): Usage {
  const pageFactor = pagesFor(run.truth, factor, pageSize) / pagesFor(run.truth, 1, pageSize);
  const controlFactor = controlPerRecord ? factor : pageFactor;
  let billedGbSeconds = 0;
  let invocations = 0;
  for (const [fn, { invocations: n, billedMs }] of Object.entries(run.lambda)) {
    const memory = deployment.lambdaMemoryMb[fn];
    if (memory === undefined) throw new Error(`no memory size for ${fn} in the templates`);
    billedGbSeconds += gbSeconds(fn === 'SyncPagesFunction' ? billedMs * factor : billedMs, memory);
    invocations += n;
  }
  const logBytes = run.logBytes * pageFactor + invocations * ESTIMATES.lambdaPlatformLogBytes + run.historyEvents * ESTIMATES.stepFunctionsLogBytesPerEvent;
  const minutes = (run.apiRequests * pageFactor) / ESTIMATES.apiRequestsPerMinute;
  return {
    dynamoWriteUnits: (run.data.writeUnits + run.data.conditionalFailures) * factor + (run.control.writeUnits + run.control.conditionalFailures) * controlFactor,
    dynamoReadUnits: run.data.readUnits * factor + run.control.readUnits * controlFactor,
    lambdaGbSeconds: billedGbSeconds,
    lambdaRequests: invocations,
    stepFunctionsTransitions: run.transitions,
    logsIngest: logBytes / GB,
    secretsApiCalls: run.secretReads,
    kmsRequests: run.secretReads + ESTIMATES.kmsRequestsPerFiveMinutes * Math.max(1, Math.ceil(minutes / 5)),
    xrayTraces: deployment.tracing ? invocations + 1 : 0,
  };
}

/** A day's ingest path (not run by the benchmark): one webhook delivery through API Gateway, the webhook Lambda, SQS and the dispatcher. */
export function deliveryUsage(deployment: Deployment): Usage {
  const memory = (fn: string): number => deployment.lambdaMemoryMb[fn] ?? 0;
  return {
    httpApiRequests: 1,
    lambdaRequests: 2,
    lambdaGbSeconds: gbSeconds(ESTIMATES.webhookBilledMs, memory('WebhookFunction')) + gbSeconds(ESTIMATES.dispatcherBilledMs, memory('DispatcherFunction')),
    sqsRequests: ESTIMATES.sqsRequestsPerDelivery,
    logsIngest: ESTIMATES.ingestLogBytesPerDelivery / GB,
    xrayTraces: deployment.tracing ? 2 : 0,
  };
}

/** What a month costs whatever the runs: the resources (keys, secrets, alarms, metrics, dashboard), the schedules, the queue's pollers, storage. */
export function fixedMonthlyUsage(deployment: Deployment, storedBytes: number, loggedBytesPerMonth: number): Usage {
  const scheduled = deployment.scheduledInvocationsPerMonth;
  return {
    dynamoStorage: storedBytes / GB,
    dynamoPitr: storedBytes / GB,
    kmsKeys: deployment.kmsKeys,
    secrets: deployment.secrets,
    alarmMetrics: deployment.alarmMetrics,
    dashboards: deployment.dashboards,
    customMetrics: deployment.customMetrics,
    scheduledEvents: scheduled,
    lambdaRequests: scheduled,
    lambdaGbSeconds: scheduled * gbSeconds(ESTIMATES.dispatcherBilledMs, deployment.lambdaMemoryMb.DispatcherFunction ?? 0),
    sqsRequests: ESTIMATES.sqsPollerRequestsPerMonth,
    // One year's retention: after a year, twelve months of logs are stored (uncompressed bytes: an upper bound).
    logsStorage: (12 * loggedBytesPerMonth) / GB,
    xrayTraces: deployment.tracing ? scheduled : 0,
  };
}

export interface MonthlyCost {
  daily: Cost;
  reconciles: Cost;
  fixed: Cost;
  month: Cost;
  firstLoad: Cost;
}

/**
 * The two totals: a month of daily incremental runs (one webhook each) and weekly reconciles with
 * the fixed resources, and the first full load (its runs alone), all at `factor` times the measured
 * population. `storedBytes`: the tables and their indexes after the measured runs (point-in-time recovery bills the same size again).
 */
export function monthlyCost(input: {
  deployment: Deployment;
  backfill: MeasuredRun;
  daily: MeasuredRun;
  reconcile: MeasuredRun;
  factor: number;
  pageSize: number;
  storedBytes: number;
}): MonthlyCost {
  const { deployment, factor, pageSize } = input;
  const daily = scaleUsage(addUsage(runUsage(input.daily, deployment, factor, pageSize), deliveryUsage(deployment)), DAYS_PER_MONTH);
  const reconciles = scaleUsage(runUsage(input.reconcile, deployment, factor, pageSize, { controlPerRecord: true }), WEEKS_PER_MONTH);
  const loggedBytes = ((daily.logsIngest ?? 0) + (reconciles.logsIngest ?? 0)) * GB;
  const fixed = fixedMonthlyUsage(deployment, input.storedBytes * factor, loggedBytes);
  return {
    daily: costOf(daily),
    reconciles: costOf(reconciles),
    fixed: costOf(fixed),
    month: costOf(addUsage(daily, reconciles, fixed)),
    firstLoad: costOf(runUsage(input.backfill, deployment, factor, pageSize)),
  };
}
