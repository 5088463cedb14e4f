import { describe, expect, it } from 'vitest';
import { invocationsPerMonth } from '../bench/cost.ts';
import {
  addUsage,
  costOf,
  DAYS_PER_MONTH,
  ESTIMATES,
  GB,
  gbSeconds,
  monthlyCost,
  pagesFor,
  PRICES,
  runUsage,
  WEEKS_PER_MONTH,
  type Deployment,
  type MeasuredRun,
  type Price,
  type PriceKey,
} from '../bench/support/cost-model.ts';

// The cost model's arithmetic (bench/support/cost-model.ts) on fixed counts and made-up prices: not the prices.

/** Every unit at $1 per 1 unit, so a line's dollars are its quantity. */
const unitPrices = Object.fromEntries(Object.keys(PRICES).map((key) => [key, { usd: 1, per: 1, unit: 'u', source: 's' }])) as Record<PriceKey, Price>;

const deployment: Deployment = {
  lambdaMemoryMb: { PrepareFunction: 256, SyncPagesFunction: 1024, FinalizeFunction: 256, WebhookFunction: 512, DispatcherFunction: 512 },
  kmsKeys: 3,
  secrets: 2,
  alarmMetrics: 30,
  dashboards: 1,
  customMetrics: 14,
  scheduledInvocationsPerMonth: 1_440,
  tracing: false,
};

const run = (overrides: Partial<MeasuredRun> = {}): MeasuredRun => ({
  truth: { producers: 100, licenses: 900 },
  recordsSeen: 1_000,
  apiRequests: 4,
  transitions: 20,
  historyEvents: 80,
  data: { writeUnits: 2_000, indexWriteUnits: 1_000, readUnits: 50, conditionalFailures: 10 },
  control: { writeUnits: 30, indexWriteUnits: 2, readUnits: 20, conditionalFailures: 0 },
  lambda: { PrepareFunction: { invocations: 1, billedMs: 100 }, SyncPagesFunction: { invocations: 2, billedMs: 4_000 }, FinalizeFunction: { invocations: 1, billedMs: 100 } },
  logBytes: 10_000,
  secretReads: 1,
  ...overrides,
});

describe('cost model', () => {
  it('prices each unit by its rate and adds the lines', () => {
    const cost = costOf({ dynamoWriteUnits: 2e6, kmsKeys: 3, lambdaRequests: 0 });
    expect(cost.lines.map((l) => l.key)).toEqual(['dynamoWriteUnits', 'kmsKeys']);
    const prices = { ...unitPrices, dynamoWriteUnits: { usd: 0.5, per: 1e6, unit: 'u', source: 's' } };
    expect(costOf({ dynamoWriteUnits: 2e6, kmsKeys: 3 }, prices).totalUsd).toBeCloseTo(1 + 3);
  });

  it('counts the pages a run needs at a size: data pages plus one end-of-data response per endpoint', () => {
    expect(pagesFor({ producers: 100, licenses: 900 }, 1, 1_000)).toBe(1 + 1 + 1 + 1);
    expect(pagesFor({ producers: 100, licenses: 900 }, 100, 1_000)).toBe(10 + 1 + 90 + 1);
  });

  it('scales per-record units with the records, per-page ones with the pages, and leaves the per-run ones', () => {
    const usage = runUsage(run(), deployment, 100, 1_000);
    const pageFactor = 102 / 4;
    expect(usage.dynamoWriteUnits).toBeCloseTo((2_000 + 10) * 100 + 30 * pageFactor);
    expect(usage.dynamoReadUnits).toBeCloseTo(50 * 100 + 20 * pageFactor);
    expect(usage.lambdaGbSeconds).toBeCloseTo(gbSeconds(100, 256) * 2 + gbSeconds(4_000 * 100, 1_024));
    expect(usage.lambdaRequests).toBe(4);
    expect(usage.stepFunctionsTransitions).toBe(20);
    expect(usage.logsIngest! * GB).toBeCloseTo(10_000 * pageFactor + 4 * ESTIMATES.lambdaPlatformLogBytes + 80 * ESTIMATES.stepFunctionsLogBytesPerEvent);
    expect(usage.secretsApiCalls).toBe(1);
    expect(usage.xrayTraces).toBe(0);
    // A reconcile's control-table units (its seen keys) follow the records.
    expect(runUsage(run(), deployment, 100, 1_000, { controlPerRecord: true }).dynamoWriteUnits).toBeCloseTo((2_000 + 10) * 100 + 30 * 100);
    expect(() => runUsage(run({ lambda: { Unknown: { invocations: 1, billedMs: 1 } } }), deployment, 1, 1_000)).toThrow(/no memory size for Unknown/);
  });

  it('makes a month of 30 daily runs with their deliveries, weekly reconciles and the fixed resources; the first load is its run alone', () => {
    const input = { deployment, backfill: run(), daily: run({ data: { writeUnits: 40, indexWriteUnits: 20, readUnits: 5, conditionalFailures: 0 } }), reconcile: run(), factor: 100, pageSize: 1_000, storedBytes: GB / 100 };
    const cost = monthlyCost(input);
    const line = (c: typeof cost.month, key: PriceKey): number => c.lines.find((l) => l.key === key)?.quantity ?? 0;
    expect(line(cost.daily, 'httpApiRequests')).toBe(DAYS_PER_MONTH);
    expect(line(cost.daily, 'dynamoWriteUnits')).toBeCloseTo(DAYS_PER_MONTH * (40 * 100 + 30 * (102 / 4)));
    expect(line(cost.reconciles, 'dynamoWriteUnits')).toBeCloseTo(WEEKS_PER_MONTH * (2_010 * 100 + 30 * 100));
    expect(line(cost.fixed, 'dynamoStorage')).toBeCloseTo(1);
    expect(line(cost.fixed, 'kmsKeys')).toBe(3);
    expect(line(cost.fixed, 'scheduledEvents')).toBe(1_440);
    expect(line(cost.month, 'dynamoWriteUnits')).toBeCloseTo(line(cost.daily, 'dynamoWriteUnits') + line(cost.reconciles, 'dynamoWriteUnits'));
    expect(cost.month.totalUsd).toBeCloseTo(cost.daily.totalUsd + cost.reconciles.totalUsd + cost.fixed.totalUsd);
    expect(cost.firstLoad.totalUsd).toBeCloseTo(costOf(runUsage(input.backfill, deployment, 100, 1_000)).totalUsd);
    expect(line(cost.firstLoad, 'kmsKeys')).toBe(0);
  });

  it('adds usages unit by unit', () => {
    expect(addUsage({ kmsKeys: 1, secrets: 2 }, { kmsKeys: 2 })).toEqual({ kmsKeys: 3, secrets: 2 });
  });

  it('counts a month of each schedule expression', () => {
    expect(invocationsPerMonth('rate(1 hour)')).toBe(720);
    expect(invocationsPerMonth('rate(30 minutes)')).toBe(1_440);
    expect(invocationsPerMonth('cron(0 6 ? * SUN *)')).toBeCloseTo(WEEKS_PER_MONTH);
    expect(() => invocationsPerMonth('every day')).toThrow(/unknown schedule/);
  });
});
