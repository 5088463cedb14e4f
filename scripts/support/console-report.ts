import type { ExecutionOutcome } from '../local-deployment/outcome.ts';
import { formatEndpointSummary, type ExtraColumn } from './run-table.ts';

export type Log = (message: string) => void;

/** `[ 12.3s] message` lines, timed from `startedAt`. */
export function elapsedLog(startedAt = Date.now(), write: (line: string) => void = (line) => console.log(line)): Log {
  return (message) => write(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

/** The execution's status and wall time (`log`), then its per-endpoint table (from the run record, `print`). */
export function reportOutcome(outcome: ExecutionOutcome, log: Log, extra: ExtraColumn[] = [], print: (text: string) => void = (text) => console.log(text)): void {
  const wall = outcome.run?.durationMs === undefined ? '' : ` in ${(outcome.run.durationMs / 1000).toFixed(1)} s`;
  log(`${outcome.name}: ${outcome.status}${wall}${outcome.failure ? ` (${outcome.failure})` : ''}`);
  if (outcome.run) print(formatEndpointSummary(outcome.run, extra));
  for (const failed of (outcome.run?.failedEndpoints ?? []) as Array<{ endpoint?: string; error?: string }>) {
    log(`  ${failed.endpoint ?? '?'} failed: ${failed.error ?? 'no error recorded'}`);
  }
}
