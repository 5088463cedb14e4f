/** pass/miss against the figure's target; info when the figure has no target (it is read, not judged). */
export type Verdict = 'pass' | 'miss' | 'info';

/** One row of the table. */
export interface Figure {
  /** Section of issue 7, e.g. '1'. */
  section: string;
  name: string;
  value: string;
  target: string;
  verdict: Verdict;
}

/** What every benchmark module returns: its rows, and the raw numbers behind them for the JSON. */
export interface BenchOutcome<T = unknown> {
  figures: Figure[];
  data: T;
}

export const judge = (ok: boolean): Verdict => (ok ? 'pass' : 'miss');

/** Fixed decimals, thousands separated. */
export function num(value: number, decimals = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export const ratio = (value: number, decimals = 2): string => (Number.isFinite(value) ? num(value, decimals) : 'n/a');

/** Quantile of already sorted numbers (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: readonly number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);

const VERDICT_TEXT: Record<Verdict, string> = { pass: 'PASS', miss: 'MISS', info: '-' };

/** The figures as an aligned plain-text table (also used verbatim in bench/README.md). */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['#', 'Figure', 'Value', 'Target', 'Result'];
  const rows = figures.map((f) => [f.section, f.name, f.value, f.target, VERDICT_TEXT[f.verdict]]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
