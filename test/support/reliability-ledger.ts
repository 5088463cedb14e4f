/**
 * The reliability suite's shared ledger: a directory made by test/global-setup.ts (RELIABILITY_DIR,
 * inherited by every forked worker) where
 *  - each reliability scenario appends one line to `ledger.jsonl` (printed as a table at the end),
 *  - tests register the secrets they used in `secrets.jsonl`,
 *  - test/support/reliability-capture.ts tees every worker's output into `logs/`,
 * and the global teardown scans those logs for every registered secret.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScenarioResult {
  /** Test file the scenario lives in (basename). */
  file: string;
  scenario: string;
  /** Faults actually injected (responses the simulator altered, crashes thrown, ...), not just planned. */
  faultsInjected: number;
  /** State machine executions (first runs, redrives and re-runs) or handler runs the scenario made. */
  runs: number;
  /** Records compared with the simulator's ground truth (or expected items for non-sync scenarios). */
  recordsCompared: number;
  /** Missing + extra + mismatched records; the scenario's assertions require 0. */
  mismatches: number;
}

export interface RegisteredSecret {
  label: string;
  value: string;
}

export const LEDGER_FILE = 'ledger.jsonl';
export const SECRETS_FILE = 'secrets.jsonl';
export const LOGS_DIR = 'logs';
/** Printed once by the secret-scan self-test; the teardown requires it in the captured logs, so capture is proven to work. */
export const CAPTURE_PROBE = 'reliability-capture-probe-7f3c1e';
/** Shorter values would match ordinary words in logs; nothing this short is registered. */
const MIN_SECRET_LENGTH = 12;

/** The shared directory, or undefined when the suite runs without test/global-setup.ts. */
export function reliabilityDir(): string | undefined {
  const dir = process.env.RELIABILITY_DIR;
  return dir && existsSync(dir) ? dir : undefined;
}

export function recordScenario(result: ScenarioResult): void {
  const dir = reliabilityDir();
  if (dir) appendFileSync(join(dir, LEDGER_FILE), `${JSON.stringify(result)}\n`);
}

/** Registers secrets the suite used so the teardown can prove none of them was logged. */
export function registerSecrets(label: string, values: Iterable<string>): void {
  const dir = reliabilityDir();
  if (!dir) return;
  const lines = [...new Set(values)].filter((value) => value.length >= MIN_SECRET_LENGTH).map((value) => `${JSON.stringify({ label, value })}\n`);
  if (lines.length > 0) appendFileSync(join(dir, SECRETS_FILE), lines.join(''));
}

const readJsonLines = <T>(path: string): T[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as T)
    : [];

export const readLedger = (dir: string): ScenarioResult[] => readJsonLines<ScenarioResult>(join(dir, LEDGER_FILE));
export const readSecrets = (dir: string): RegisteredSecret[] => readJsonLines<RegisteredSecret>(join(dir, SECRETS_FILE));

export interface ScanResult {
  secretsChecked: number;
  filesScanned: number;
  bytesScanned: number;
  /** Label and log file of every secret found (never the value). */
  found: { label: string; file: string }[];
  /** Whether `probe` (when given) appeared in the logs. */
  probeSeen: boolean;
}

/** Looks for every secret in every file of `logDir`. Reports labels only, so the report cannot leak a value. */
export function scanLogsForSecrets(logDir: string, secrets: RegisteredSecret[], probe?: string): ScanResult {
  const unique = new Map<string, string>();
  for (const secret of secrets) if (secret.value.length >= MIN_SECRET_LENGTH && !unique.has(secret.value)) unique.set(secret.value, secret.label);
  const result: ScanResult = { secretsChecked: unique.size, filesScanned: 0, bytesScanned: 0, found: [], probeSeen: false };
  if (!existsSync(logDir)) return result;
  for (const name of readdirSync(logDir).sort()) {
    const text = readFileSync(join(logDir, name), 'utf8');
    result.filesScanned++;
    result.bytesScanned += Buffer.byteLength(text);
    if (probe && text.includes(probe)) result.probeSeen = true;
    for (const [value, label] of unique) if (text.includes(value)) result.found.push({ label, file: name });
  }
  return result;
}

/** Per-scenario rows plus a total line, as a fixed-width table. */
export function formatLedger(entries: ScenarioResult[]): string {
  const rows = [...entries].sort((a, b) => a.file.localeCompare(b.file) || a.scenario.localeCompare(b.scenario));
  const header = ['file', 'scenario', 'faults injected', 'runs', 'records compared', 'mismatches'];
  const total = rows.reduce(
    (sum, r) => ({ faults: sum.faults + r.faultsInjected, runs: sum.runs + r.runs, records: sum.records + r.recordsCompared, mismatches: sum.mismatches + r.mismatches }),
    { faults: 0, runs: 0, records: 0, mismatches: 0 },
  );
  const cells = [
    header,
    ...rows.map((r) => [r.file, r.scenario, String(r.faultsInjected), String(r.runs), String(r.recordsCompared), String(r.mismatches)]),
    ['TOTAL', `${rows.length} scenarios`, String(total.faults), String(total.runs), String(total.records), String(total.mismatches)],
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(cells[0]!), rule, ...cells.slice(1, -1).map(line), line(cells.at(-1)!)].join('\n');
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
