/**
 * Deterministic Step Functions execution names: a redelivered event asks for the same name, so
 * StartExecution answers ExecutionAlreadyExists instead of starting a second run.
 */
import { sha256Hex } from '#commons/sha256';

/** Names allow at most 80 characters from [A-Za-z0-9-_]. */
export const MAX_EXECUTION_NAME_LENGTH = 80;
const HASH_LENGTH = 16;

/**
 * `value` made safe for an execution name within `maxLength`. Anything replaced or cut gets a
 * hash of the original appended, so two different ids never collapse into one name.
 */
export function sanitizeForExecutionName(value: string, maxLength: number): string {
  const cleaned = value.replace(/[^A-Za-z0-9_-]/g, '_');
  if (cleaned === value && cleaned.length <= maxLength) return cleaned;
  const suffix = sha256Hex(value).slice(0, HASH_LENGTH);
  return `${cleaned.slice(0, Math.max(0, maxLength - HASH_LENGTH - 1))}-${suffix}`;
}

/** `run-2025-07-24-<eventId>` for a `producersync.updates_available` event. */
export function runExecutionName(runDate: string, eventId: string): string {
  const prefix = `run-${runDate}-`;
  return prefix + sanitizeForExecutionName(eventId, MAX_EXECUTION_NAME_LENGTH - prefix.length);
}

/**
 * `activation-<day>-<hash of the sorted NPNs>`: the same NPN set on the same day is one backfill,
 * while the same NPN activated again on a later day gets a new one. A retry's name also hashes its
 * attempt number, so a later retry of the same NPNs on the same day is a new execution.
 */
export function backfillExecutionName(kind: 'activation' | 'activation-retry', day: string, npns: readonly string[], attempt?: number): string {
  const sorted = [...new Set(npns)].sort().join(',');
  const digest = sha256Hex(attempt === undefined ? sorted : `${sorted}#${attempt}`);
  return `${kind}-${day}-${digest}`.slice(0, MAX_EXECUTION_NAME_LENGTH);
}

/**
 * The run a schedule starts, one per period so a retried scheduled invocation asks for the same name:
 * `catch-up-<yyyy-MM-dd>T<HH>` (hourly check) or `reconcile-<yyyy-MM-dd>` (weekly), UTC.
 */
export function scheduledExecutionName(kind: 'catch-up' | 'reconcile', nowMs: number): string {
  const iso = new Date(nowMs).toISOString();
  return kind === 'catch-up' ? `catch-up-${iso.slice(0, 13)}` : `reconcile-${iso.slice(0, 10)}`;
}
