import { describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '#local/state-machine';
import type { RequestLogEntry } from '#sim/server';
import { steadyWindow } from '../bench/ceiling.ts';
import { pageEfficiency } from '../bench/page-efficiency.ts';
import { estimateHistory } from '../bench/support/history.ts';
import { formatTable, quantile } from '../bench/support/report.ts';
import { apiTraffic, type SyncRun } from '../bench/support/sync-run.ts';

// The arithmetic behind the benchmark figures (bench/), on hand-made inputs.

const request = (path: string, at: number, status = 200): RequestLogEntry => ({ at, method: 'GET', path, query: {}, status, authorized: true, kind: 'api' });

describe('bench: ceiling steady state', () => {
  it('is the stretch with the full concurrency of endpoints paging, hand-overs bridged', () => {
    // Concurrency 2: a runs 0..10 s; b 0..4 s, then c takes over its slot at 4.5 s until 8 s; a alone after.
    const log = [
      ...Array.from({ length: 11 }, (_, i) => request('/v2/a', i * 1000)),
      ...Array.from({ length: 5 }, (_, i) => request('/v2/b', i * 1000)),
      ...Array.from({ length: 4 }, (_, i) => request('/v2/c', 4500 + i * 1000)),
    ].sort((x, y) => x.at - y.at);
    const steady = steadyWindow(log, 2);
    expect(steady).toMatchObject({ startMs: 0, endMs: 7500, seconds: 7.5 });
    expect(steady.requests).toBe(log.filter((r) => r.at <= 7500).length);
  });
});

describe('bench: history estimate', () => {
  const entered = (name: string, type: string): ExecutionEvent => ({ type: 'StateEntered', timestamp: 0, state: { name, type } });

  it('counts AWS history events per state type and restores loop entries the local log dropped', () => {
    const events: ExecutionEvent[] = [
      { type: 'ExecutionStarted', timestamp: 0 },
      entered('Prepare', 'Task'),
      entered('SyncEndpoints', 'Map'),
      { type: 'MapIterationStarted', timestamp: 0 },
      entered('SyncPages', 'Task'),
      entered('EndpointDone', 'Choice'),
      entered('SyncPages', 'Task'),
      // the second EndpointDone was dropped by the interpreter
      entered('EndpointSynced', 'Pass'),
      { type: 'MapIterationSucceeded', timestamp: 0 },
      { type: 'ExecutionSucceeded', timestamp: 0 },
    ];
    const history = estimateHistory(events, 2);
    expect(history.restoredLoopEntries).toBe(1);
    expect(history.transitions).toBe(7);
    expect(history.syncPagesIterations).toBe(2);
    expect(history.loopEvents).toBe(14);
    // 1 + 5 + 4 + 1 + (5 + 2 + 5) + 2 + 1 + 1, plus the restored choice (2)
    expect(history.awsHistoryEvents).toBe(27 + 2);
  });
});

describe('bench: page efficiency', () => {
  it('compares requests with ceil(records/size) per endpoint plus the documented end-of-data response', () => {
    const truth = { entities: 2000, licenses: 1990, appointments: 0, addresses: 1, contactInfos: 1000, otherNames: 10, regulatoryActions: 0 };
    const pages = { entities: 3, licenses: 3, appointments: 1, addresses: 2, contactInfos: 2, otherNames: 2, regulatoryActions: 1 };
    const log = Object.entries(pages).flatMap(([endpoint, count]) => Array.from({ length: count }, (_, i) => request(`/v2/${endpoint}`, i)));
    const run = { truth, api: apiTraffic(log) } as unknown as SyncRun;
    const result = pageEfficiency('test', run, 1000);
    expect(result.dataPagesMinimum).toBe(2 + 2 + 0 + 1 + 1 + 1 + 0);
    expect(result.documentedMinimum).toBe(7 + 7);
    expect(result.requests).toBe(14);
    expect(result.requestsOverDocumentedMinimum).toBe(1);
    expect(result.recordsPerRequestOfMax).toBeCloseTo(5001 / 14 / 1000);
  });
});

describe('bench: report helpers', () => {
  it('takes nearest-rank quantiles and aligns the table', () => {
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    const table = formatTable([{ section: '1', name: 'A figure', value: '0.99', target: '>= 0.95', verdict: 'pass' }]).split('\n');
    expect(table[0]).toMatch(/^#\s+Figure\s+Value\s+Target\s+Result$/);
    expect(table[2]).toMatch(/^1\s+A figure\s+0\.99\s+>= 0\.95\s+PASS$/);
  });
});
