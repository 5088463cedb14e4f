/** Plain-text tables for run records: the `runs` listing and the per-endpoint summary after a sync. */
import type { EndpointSummary } from '#sync/events';
import type { RunRecord as StoredRunRecord } from '#sync/run-record';

/** A run record as the tables show it: the stored record (`#sync/run-record`), with any count allowed to be missing. */
export type RunRecord = Omit<StoredRunRecord, 'endpoints' | 'totals'> & { endpoints?: Record<string, Partial<EndpointSummary>>; totals?: Partial<EndpointSummary> };

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatRunTable(runs: RunRecord[]): string {
  if (runs.length === 0) return 'no runs yet';
  return table(
    // corrected: what a reconcile fixed (drift written, items marked missing, NPN statuses); empty for other runs.
    ['run', 'mode', 'runDate', 'status', 'started', 'duration', 'pages', 'inserted', 'modified', 'deleted', 'quarantined', 'corrected'],
    runs.map((r) => [
      r.runId,
      r.mode ?? '',
      r.runDate ?? '',
      r.status ?? '',
      r.startedAt ?? '',
      r.durationMs === undefined ? '' : `${(r.durationMs / 1000).toFixed(1)}s`,
      r.totals?.pages ?? 0,
      r.totals?.inserted ?? 0,
      r.totals?.modified ?? 0,
      r.totals?.deleted ?? 0,
      r.totals?.quarantined ?? 0,
      r.totals?.corrected ?? '',
    ]),
  );
}

/** A column added to the endpoint summary: a value per endpoint, summed on the TOTAL row. */
export interface ExtraColumn {
  header: string;
  values: Record<string, number>;
}

export function formatEndpointSummary(run: RunRecord, extra: ExtraColumn[] = []): string {
  const names = Object.keys(run.endpoints ?? {}).sort();
  const rows = names.map((name) => {
    const c = run.endpoints![name]!;
    return [
      c.unsupported ? `${name} (unsupported)` : name,
      c.pages ?? 0,
      c.recordsSeen ?? 0,
      c.inserted ?? 0,
      c.modified ?? 0,
      c.unchanged ?? 0,
      c.deleted ?? 0,
      c.quarantined ?? 0,
      c.throttled ?? 0,
      ...extra.map((column) => column.values[name] ?? 0),
    ];
  });
  const t = run.totals ?? {};
  const extraTotals = extra.map((column) => Object.values(column.values).reduce((sum, v) => sum + v, 0));
  rows.push(['TOTAL', t.pages ?? 0, t.recordsSeen ?? 0, t.inserted ?? 0, t.modified ?? 0, t.unchanged ?? 0, t.deleted ?? 0, t.quarantined ?? 0, t.throttled ?? 0, ...extraTotals]);
  return table(['endpoint', 'pages', 'seen', 'inserted', 'modified', 'unchanged', 'deleted', 'quarantined', '429s', ...extra.map((c) => c.header)], rows);
}
