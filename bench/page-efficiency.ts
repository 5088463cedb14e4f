/**
 * 2. Page efficiency: records per request against the maximum page size, and requests against
 * the fewest a client can make for the same data.
 *
 * The fewest: every endpoint needs ceil(records / size) data pages, and under the documented
 * stop rule (producersync-api.md §3.2: the end is a response without `embedded`, or a next link
 * with continuationToken=0) one more request that comes back empty, since a data page always
 * links onward. Both minimums are reported; the target applies to the documented one.
 */
import { DEFAULT_SYNC_ENDPOINTS, type EndpointName } from '#producersync/endpoints';
import { judge, num, ratio, type BenchOutcome, type Figure } from './support/report.ts';
import { sum, type SyncRun } from './support/sync-run.ts';

export interface PageEfficiency {
  label: string;
  pageSize: number;
  records: number;
  requests: number;
  /** ceil(records / size) per endpoint. */
  dataPagesMinimum: number;
  /** dataPagesMinimum + one end-of-data response per endpoint. */
  documentedMinimum: number;
  recordsPerRequestOfMax: number;
  /** The best records-per-request ratio this data allows under the documented stop rule. */
  bestRecordsPerRequestOfMax: number;
  requestsOverDataPages: number;
  requestsOverDocumentedMinimum: number;
  perEndpoint: Record<EndpointName, { records: number; requests: number; minimum: number }>;
}

export function pageEfficiency(label: string, run: SyncRun, pageSize: number): PageEfficiency {
  const perEndpoint = {} as PageEfficiency['perEndpoint'];
  let dataPages = 0;
  for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
    const records = run.truth[endpoint];
    const minimum = Math.ceil(records / pageSize);
    dataPages += minimum;
    perEndpoint[endpoint] = { records, requests: run.api.pages[endpoint], minimum: minimum + 1 };
  }
  const records = sum(run.truth);
  const requests = sum(run.api.pages);
  const documentedMinimum = dataPages + DEFAULT_SYNC_ENDPOINTS.length;
  return {
    label,
    pageSize,
    records,
    requests,
    dataPagesMinimum: dataPages,
    documentedMinimum,
    recordsPerRequestOfMax: records / requests / pageSize,
    bestRecordsPerRequestOfMax: records / documentedMinimum / pageSize,
    requestsOverDataPages: requests / dataPages,
    requestsOverDocumentedMinimum: requests / documentedMinimum,
    perEndpoint,
  };
}

export function pageEfficiencyFigures(backfill: PageEfficiency, daily: PageEfficiency | undefined): BenchOutcome<PageEfficiency[]> {
  const figures: Figure[] = [
    {
      section: '2',
      name: `Records/request / page size (${backfill.label})`,
      value: `${ratio(backfill.recordsPerRequestOfMax, 3)} (${num(backfill.records)} rec / ${num(backfill.requests)} req / ${num(backfill.pageSize)})`,
      target: `1.0 where data allows (here ${ratio(backfill.bestRecordsPerRequestOfMax, 3)})`,
      verdict: judge(backfill.recordsPerRequestOfMax >= backfill.bestRecordsPerRequestOfMax - 1e-9),
    },
    {
      section: '2',
      name: `Requests / minimum (${backfill.label})`,
      value: `${ratio(backfill.requestsOverDocumentedMinimum, 3)} (${num(backfill.requests)} vs ${num(backfill.documentedMinimum)}; vs data pages alone ${ratio(backfill.requestsOverDataPages, 3)})`,
      target: '1.0',
      verdict: judge(backfill.requests <= backfill.documentedMinimum),
    },
  ];
  if (daily) {
    figures.push({
      section: '2',
      name: `Requests / minimum (${daily.label})`,
      value: `${ratio(daily.requestsOverDocumentedMinimum, 3)} (${num(daily.requests)} vs ${num(daily.documentedMinimum)}; vs data pages alone ${ratio(daily.requestsOverDataPages, 3)})`,
      target: '1.0',
      verdict: judge(daily.requests <= daily.documentedMinimum),
    });
  }
  return { figures, data: daily ? [backfill, daily] : [backfill] };
}
