import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMachine, type MachineInfo } from './machine.ts';
import { formatTable, type Figure } from './report.ts';

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  quick: boolean;
  machine: MachineInfo;
  /** 1-minute load average sampled during the run (the machine is shared). */
  load: { mean: number; max: number };
  options: Record<string, unknown>;
  figures: Figure[];
  /** Figure 10 (issue 15's figure 1) in the shape the issue names. */
  realisticCeiling?: { ratio: number; recordsPerRequestRatio: number; '429s': number };
  /** Raw numbers per benchmark, for comparing runs over time. */
  data: Record<string, unknown>;
  /** Benchmarks that crashed (the run then exits non-zero). */
  errors: Record<string, string>;
}

/** `<dir>/<ISO timestamp>.json`, and `latest.json` for a full run. Returns the timestamped path. */
export function writeResults(dir: string, results: BenchResults): string {
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `${stamp}${results.quick ? '-quick' : ''}.json`);
  const text = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(file, text);
  if (!results.quick) writeFileSync(join(dir, 'latest.json'), text);
  return file;
}

const START = '<!-- bench:latest:start -->';
const END = '<!-- bench:latest:end -->';

/** Replaces the marked "latest run" section of bench/README.md with this run's table. */
export function updateReadme(readmePath: string, results: BenchResults): void {
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${readmePath} has no ${START} ... ${END} section`);
  const minutes = Math.floor(results.durationSeconds / 60);
  const seconds = Math.round(results.durationSeconds % 60);
  const section = [
    START,
    `Run ${results.finishedAt.slice(0, 16).replace('T', ' ')} UTC, \`npm run bench\`, ${minutes} min ${seconds} s.`,
    `Machine: ${describeMachine(results.machine)}; load average during the run: mean ${results.load.mean}, max ${results.load.max}.`,
    '',
    '```text',
    formatTable(results.figures),
    '```',
    ...(Object.keys(results.errors).length > 0 ? ['', `Crashed: ${Object.keys(results.errors).join(', ')} (see the JSON).`] : []),
    END,
  ].join('\n');
  writeFileSync(readmePath, readme.slice(0, start) + section + readme.slice(end + END.length));
}
