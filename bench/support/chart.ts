/**
 * The request chart of a benchmark run (issue 15, figure 5): requests per time bucket, stacked by
 * series (endpoint or partition), against the budget line, as SVG text rendered in Node.
 *
 * Vega (not vega-lite, whose 6.x wants Node >= 22 and adds a compiler we do not need) renders the
 * spec headless with `View.toSVG()`: no browser, no canvas. Pinned exactly in package.json
 * (vega 6.4.0, ESM, about 15 MB installed) so a chart's SVG only changes when the input does.
 */
import { parse, View, type Spec } from 'vega';

export interface RequestChartInput {
  title: string;
  /** Epoch ms the x axis starts from (x = seconds since then). */
  startMs: number;
  requests: { atMs: number; series: string }[];
  /** The API's budget; drawn per bucket as budgetPerMinute × bucketSeconds / 60. */
  budgetPerMinute: number;
  /** Default 10. */
  bucketSeconds?: number;
}

export const DEFAULT_BUCKET_SECONDS = 10;

/** One stacked bar segment: requests of one series in one bucket. */
export interface ChartBucket {
  /** Seconds since start of the bucket's left edge. */
  start: number;
  end: number;
  series: string;
  count: number;
}

/** Requests counted per bucket and series, buckets in time order, series in order of first request. */
export function bucketRequests(input: RequestChartInput): ChartBucket[] {
  const width = input.bucketSeconds ?? DEFAULT_BUCKET_SECONDS;
  const counts = new Map<string, Map<number, number>>();
  for (const request of input.requests) {
    const bucket = Math.max(0, Math.floor((request.atMs - input.startMs) / 1000 / width));
    const perBucket = counts.get(request.series) ?? new Map<number, number>();
    counts.set(request.series, perBucket);
    perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + 1);
  }
  const buckets: ChartBucket[] = [];
  for (const [series, perBucket] of counts) {
    for (const [bucket, count] of perBucket) buckets.push({ start: bucket * width, end: (bucket + 1) * width, series, count });
  }
  return buckets.sort((a, b) => a.start - b.start);
}

function spec(input: RequestChartInput): Spec {
  const width = input.bucketSeconds ?? DEFAULT_BUCKET_SECONDS;
  const buckets = bucketRequests(input);
  const series = [...new Set(buckets.map((b) => b.series))];
  const lastEnd = Math.max(width, ...buckets.map((b) => b.end));
  const budget = (input.budgetPerMinute * width) / 60;
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    description: input.title,
    width: 720,
    height: 300,
    padding: 8,
    title: { text: input.title, anchor: 'start' },
    data: [
      {
        name: 'buckets',
        values: buckets,
        transform: [{ type: 'stack', groupby: ['start'], field: 'count', sort: { field: 'series' }, as: ['y0', 'y1'] }],
      },
      { name: 'budget', values: [{ from: 0, to: lastEnd, perBucket: budget }] },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0, lastEnd], range: 'width', zero: true, nice: false },
      { name: 'y', type: 'linear', domain: { fields: [{ data: 'buckets', field: 'y1' }, { data: 'budget', field: 'perBucket' }] }, range: 'height', nice: true, zero: true },
      { name: 'color', type: 'ordinal', domain: series, range: 'category' },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'seconds since start' },
      { orient: 'left', scale: 'y', title: `requests per ${width} s` },
    ],
    legends: [{ fill: 'color', title: 'series', orient: 'right' }],
    marks: [
      {
        type: 'rect',
        name: 'requestBars',
        from: { data: 'buckets' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'start' },
            x2: { scale: 'x', field: 'end', offset: -1 },
            y: { scale: 'y', field: 'y0' },
            y2: { scale: 'y', field: 'y1' },
            fill: { scale: 'color', field: 'series' },
            description: { signal: "datum.series + ': ' + datum.count + ' requests at ' + datum.start + ' s'" },
          },
        },
      },
      {
        type: 'rule',
        name: 'budgetLine',
        from: { data: 'budget' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'from' },
            x2: { scale: 'x', field: 'to' },
            y: { scale: 'y', field: 'perBucket' },
            stroke: { value: '#d62728' },
            strokeWidth: { value: 2 },
            strokeDash: { value: [6, 4] },
            description: { signal: `'budget: ' + format(datum.perBucket, '.4~r') + ' requests per ${width} s (${input.budgetPerMinute}/min)'` },
          },
        },
      },
    ],
  };
}

/** The chart as SVG text (headless: no browser, no canvas). */
export async function renderRequestChart(input: RequestChartInput): Promise<string> {
  const view = new View(parse(spec(input)), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
