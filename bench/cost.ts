/**
 * 9. Cost: dollars a month for 100,000 NPNs (a daily incremental run after a day that changed 2% of
 * the records, a weekly reconcile, the fixed resources) and for the first full load, from what a
 * measured population used through the real pipeline: DynamoDB request units as DynamoDB (Local)
 * reports them (indexes included), Lambda invocations and billed time, state transitions, the
 * bytes the handlers logged at the deployed level, secret reads; the resources from the
 * synthesized templates. The prices and the arithmetic live in support/cost-model.ts; docs/COST.md
 * explains both.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '#commons/clients';
import { METRIC_NAMES } from '#commons/metrics';
import { constructIdOf, type StackTemplate } from '#local/template';
import { FULL_PAGE, UNLIMITED_PER_MINUTE } from './scale.ts';
import { HOURS_PER_MONTH, monthlyCost, WEEKS_PER_MONTH, type Cost, type Deployment, type MeasuredRun, type MonthlyCost, type TableUnits } from './support/cost-model.ts';
import type { TableTraffic } from './support/dynamo-counter.ts';
import type { BenchStack } from './support/local-stack.ts';
import { startPopulation, type Population } from './support/population.ts';
import { num, ratio, type BenchOutcome } from './support/report.ts';
import { runSync, sum, type SyncRun } from './support/sync-run.ts';

/** The population the figure is for. */
export const TARGET_NPNS = 100_000;

export interface CostData {
  measuredNpns: number;
  factor: number;
  deployment: Deployment;
  storedBytes: number;
  runs: { backfill: MeasuredRun; daily: MeasuredRun; reconcile: MeasuredRun };
  cost: MonthlyCost;
}

function units(traffic: TableTraffic | undefined): TableUnits {
  const c = traffic?.capacity;
  return {
    writeUnits: (c?.tableWriteUnits ?? 0) + (c?.indexWriteUnits ?? 0),
    indexWriteUnits: c?.indexWriteUnits ?? 0,
    readUnits: (c?.tableReadUnits ?? 0) + (c?.indexReadUnits ?? 0),
    conditionalFailures: traffic?.conditionalFailures ?? 0,
  };
}

function measuredRun(population: Population, run: SyncRun): MeasuredRun {
  const { execution } = run;
  return {
    truth: run.truth,
    recordsSeen: run.totals?.recordsSeen ?? 0,
    apiRequests: run.api.apiRequests,
    transitions: execution.history.transitions,
    historyEvents: execution.history.awsHistoryEvents,
    data: units(execution.dynamo[population.dataTable]),
    control: units(execution.dynamo[population.controlTable]),
    lambda: execution.lambda,
    logBytes: execution.logBytes,
    secretReads: execution.secretReads,
  };
}

/** Invocations a month of one EventBridge schedule expression (rate(n unit) or a weekly/daily cron). */
export function invocationsPerMonth(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const hours = { minute: 1 / 60, minutes: 1 / 60, hour: 1, hours: 1, day: 24, days: 24 }[rate[2] as 'hour'] * Number(rate[1]);
    return HOURS_PER_MONTH / hours;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (cron) return cron[5] !== '?' && cron[5] !== '*' ? WEEKS_PER_MONTH * cron[5]!.split(',').length : 30;
  throw new Error(`unknown schedule expression ${expression}`);
}

/** What the synthesized app deploys and bills by the month. */
export function deploymentOf(stacks: readonly StackTemplate[]): Deployment {
  const deployment: Deployment = {
    lambdaMemoryMb: {},
    kmsKeys: 0,
    secrets: 0,
    alarmMetrics: 0,
    dashboards: 0,
    customMetrics: METRIC_NAMES.length,
    scheduledInvocationsPerMonth: 0,
    tracing: false,
  };
  for (const { template } of stacks) {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      const props = resource.Properties ?? {};
      switch (resource.Type) {
        case 'AWS::Lambda::Function':
          if ((props.Architectures as string[] | undefined)?.[0] !== 'arm64') throw new Error(`${logicalId} is not arm64: the price table has arm64 GB-seconds`);
          deployment.lambdaMemoryMb[constructIdOf(resource, logicalId)] = Number(props.MemorySize ?? 128);
          if ((props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active') deployment.tracing = true;
          break;
        case 'AWS::KMS::Key':
          deployment.kmsKeys++;
          break;
        case 'AWS::SecretsManager::Secret':
          deployment.secrets++;
          break;
        case 'AWS::CloudWatch::Alarm': {
          const metrics = props.Metrics as { MetricStat?: unknown }[] | undefined;
          deployment.alarmMetrics += metrics ? metrics.filter((m) => m.MetricStat).length : 1;
          break;
        }
        case 'AWS::CloudWatch::Dashboard':
          deployment.dashboards++;
          break;
        case 'AWS::Events::Rule':
          if (typeof props.ScheduleExpression === 'string') deployment.scheduledInvocationsPerMonth += invocationsPerMonth(props.ScheduleExpression);
          break;
        case 'AWS::ApiGateway::RestApi':
          throw new Error('a REST API is deployed: the price table has HTTP API requests');
      }
    }
  }
  return deployment;
}

async function tableBytes(tableName: string): Promise<number> {
  const { Table } = await dynamoClient().send(new DescribeTableCommand({ TableName: tableName }));
  return (Table?.TableSizeBytes ?? 0) + (Table?.GlobalSecondaryIndexes ?? []).reduce((n, index) => n + (index.IndexSizeBytes ?? 0), 0);
}

const usd = (value: number): string => `$${value < 10 ? value.toFixed(2) : num(value)}`;
const topLines = (cost: Cost, n: number): string =>
  [...cost.lines]
    .sort((a, b) => b.usd - a.usd)
    .slice(0, n)
    .map((line) => `${line.key} ${usd(line.usd)}`)
    .join(', ');

/** Backfill, a day (2% changed), a reconcile on a fresh population of `npns`, scaled to TARGET_NPNS. */
export async function measureCost(stack: BenchStack, npns: number): Promise<BenchOutcome<CostData>> {
  const population = await startPopulation(stack, 'cost', {
    npns,
    apiPerMinute: UNLIMITED_PER_MINUTE,
    pageSize: FULL_PAGE,
    env: { BENCH_COUNT_LOGS: '1' },
  });
  try {
    const backfill = await runSync(population, 'bench-cost-backfill', { mode: 'backfill' });
    const day = await population.sim.advanceDay({ deliverWebhook: false });
    const daily = await runSync(population, `bench-cost-day-${day.runDate}`, { runDate: day.runDate });
    const reconcile = await runSync(population, 'bench-cost-reconcile', { mode: 'reconcile' });
    const storedBytes = (await tableBytes(population.dataTable)) + (await tableBytes(population.controlTable));
    const deployment = deploymentOf(stack.stacks);
    const factor = TARGET_NPNS / npns;
    const runs = { backfill: measuredRun(population, backfill), daily: measuredRun(population, daily), reconcile: measuredRun(population, reconcile) };
    const cost = monthlyCost({ deployment, ...runs, factor, pageSize: FULL_PAGE, storedBytes });
    const records = sum(backfill.truth);
    const b = runs.backfill;
    return {
      figures: [
        {
          section: '9',
          name: `Cost: a month at ${num(TARGET_NPNS)} NPNs`,
          value: `${usd(cost.month.totalUsd)} (daily runs ${usd(cost.daily.totalUsd)}, reconciles ${usd(cost.reconciles.totalUsd)}, fixed ${usd(cost.fixed.totalUsd)}; most: ${topLines(cost.month, 3)})`,
          target: '-',
          verdict: 'info',
        },
        {
          section: '9',
          name: `Cost: first full load of ${num(TARGET_NPNS)} NPNs`,
          value: `${usd(cost.firstLoad.totalUsd)} (${topLines(cost.firstLoad, 3)})`,
          target: '-',
          verdict: 'info',
        },
        {
          section: '9',
          name: `Cost: measured on ${num(npns)} NPNs (x${num(factor)})`,
          value: `backfill ${num(records)} rec: ${ratio((b.data.writeUnits + b.control.writeUnits) / records, 2)} WRU/rec (index ${ratio(b.data.indexWriteUnits / records, 2)}), ${ratio((b.data.readUnits + b.control.readUnits) / records, 2)} RRU/rec, ${num(b.transitions)} transitions; day ${num(runs.daily.recordsSeen)} rec seen; reconcile ${num(runs.reconcile.recordsSeen)}; ${num(storedBytes / records)} B stored/rec`,
          target: '-',
          verdict: 'info',
        },
      ],
      data: { measuredNpns: npns, factor, deployment, storedBytes, runs, cost },
    };
  } finally {
    await population.close();
  }
}
