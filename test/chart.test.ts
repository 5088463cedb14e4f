import { describe, expect, it } from 'vitest';
import { bucketRequests, renderRequestChart, type RequestChartInput } from '../bench/support/chart.ts';

// The request chart (bench/support/chart.ts): a fixed input rendered headless, asserted on the SVG's content.

const input: RequestChartInput = {
  title: 'Backfill: requests per 10 s',
  startMs: 1_000_000,
  budgetPerMinute: 300,
  requests: [
    // producers: 3 in the first bucket, 1 in the second; appointments: 2 in the second, 1 in the fourth.
    ...[0, 2_000, 9_999, 10_000].map((t) => ({ atMs: 1_000_000 + t, series: 'producers' })),
    ...[11_000, 12_000, 35_000].map((t) => ({ atMs: 1_000_000 + t, series: 'appointments' })),
  ],
};

const labels = (svg: string, prefix: string): string[] => [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!).filter((l) => l.startsWith(prefix));

describe('request chart', () => {
  it('counts requests per bucket and series, x in seconds since start', () => {
    expect(bucketRequests(input)).toEqual([
      { start: 0, end: 10, series: 'producers', count: 3 },
      { start: 10, end: 20, series: 'producers', count: 1 },
      { start: 10, end: 20, series: 'appointments', count: 2 },
      { start: 30, end: 40, series: 'appointments', count: 1 },
    ]);
    expect(bucketRequests({ ...input, bucketSeconds: 60 })).toEqual([
      { start: 0, end: 60, series: 'producers', count: 4 },
      { start: 0, end: 60, series: 'appointments', count: 3 },
    ]);
  });

  it('renders one bar per series and bucket, stacked, and the budget line per bucket', async () => {
    const svg = await renderRequestChart(input);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Backfill: requests per 10 s');
    expect(labels(svg, 'producers:').sort()).toEqual(['producers: 1 requests at 10 s', 'producers: 3 requests at 0 s']);
    expect(labels(svg, 'appointments:').sort()).toEqual(['appointments: 1 requests at 30 s', 'appointments: 2 requests at 10 s']);
    // 300/min over 10 s buckets: 50 requests per bucket.
    expect(labels(svg, 'budget:')).toEqual(['budget: 50 requests per 10 s (300/min)']);
    expect(svg).toContain('seconds since start');
    // Two series, two fill colours among the bars (the stack), the legend names both.
    const bars = svg.slice(svg.indexOf('role-mark requestBars'), svg.indexOf('role-mark budgetLine'));
    expect(new Set([...bars.matchAll(/fill="(#[0-9a-f]{6})"/g)].map((m) => m[1])).size).toBe(2);
    expect(svg).toMatch(/>producers<\/text>/);
    expect(svg).toMatch(/>appointments<\/text>/);
  });

  it('scales the budget line with the bucket', async () => {
    const svg = await renderRequestChart({ ...input, bucketSeconds: 30 });
    expect(labels(svg, 'budget:')).toEqual(['budget: 150 requests per 30 s (300/min)']);
  });
});
