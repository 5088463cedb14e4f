/** The sync state machine's input (`{runDate}` or a backfill) and the endpoints a run syncs (docs/SYNC.md, step 1). */
import { isCalendarDate } from '#commons/calendar-date';
import { DEFAULT_SYNC_ENDPOINTS, isEndpointName, type EndpointName } from '#producersync/endpoints';
import { isNpn } from '#producersync/npn';
import type { SyncMode } from '#sync/events';

/** Thrown for a state machine input the sync cannot run; the state machine turns it into a Fail with this message. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInput';
}

/**
 * NPNs travel in the `npns` query parameter of every page URL; about 10 characters each, 500
 * keep the URL near 5 KB, under common 8 KB request-line limits. Larger populations: several
 * executions, or a backfill of everything (no `npns`).
 */
export const MAX_BACKFILL_NPNS = 500;

/** What a valid input asks for. */
export interface SyncRequest {
  mode: SyncMode;
  runDate?: string;
  updatedSince: string | null;
  npns: string[] | null;
}

const DAY_MS = 86_400_000;

/** Accepts exactly `{runDate}` (a real date, at most tomorrow in UTC) or `{mode: "backfill", npns?}`. */
export function parseSyncInput(input: unknown, now: Date = new Date()): SyncRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInputError('input must be {"runDate":"YYYY-MM-DD"} or {"mode":"backfill","npns":[...]}');
  }
  const fields = input as Record<string, unknown>;
  const keys = Object.keys(fields);

  if ('runDate' in fields) {
    const extra = keys.filter((k) => k !== 'runDate');
    if (extra.length > 0) throw new InvalidInputError(`unexpected field(s) next to runDate: ${extra.join(', ')}`);
    const { runDate } = fields;
    if (!isCalendarDate(runDate)) {
      throw new InvalidInputError(`runDate must be a calendar date YYYY-MM-DD, got ${JSON.stringify(runDate)}`);
    }
    const tomorrow = new Date(now.getTime() + DAY_MS).toISOString().slice(0, 10);
    if (runDate > tomorrow) throw new InvalidInputError(`runDate ${runDate} is in the future (latest accepted: ${tomorrow})`);
    return { mode: 'incremental', runDate, updatedSince: runDate, npns: null };
  }

  if (fields.mode === 'backfill') {
    const extra = keys.filter((k) => k !== 'mode' && k !== 'npns');
    if (extra.length > 0) throw new InvalidInputError(`unexpected field(s) in a backfill input: ${extra.join(', ')}`);
    if (fields.npns === undefined) return { mode: 'backfill', updatedSince: null, npns: null };
    const { npns } = fields;
    if (!Array.isArray(npns) || npns.length === 0 || !npns.every(isNpn)) {
      throw new InvalidInputError('npns must be a non-empty array of NPN strings (digits only); omit it to backfill every subscribed NPN');
    }
    const unique = [...new Set(npns as string[])];
    if (unique.length > MAX_BACKFILL_NPNS) {
      throw new InvalidInputError(`npns has ${unique.length} NPNs; at most ${MAX_BACKFILL_NPNS} per execution (split the list)`);
    }
    return { mode: 'backfill', updatedSince: null, npns: unique };
  }

  throw new InvalidInputError(
    `input must be {"runDate":"YYYY-MM-DD"} or {"mode":"backfill","npns":[...]}, got keys: ${keys.join(', ') || '(none)'}`,
  );
}

/** SYNC_ENDPOINTS (comma list) or the default catalogue. A typo is a deployment error, not bad input. */
export function syncEndpoints(raw: string | undefined = process.env.SYNC_ENDPOINTS): EndpointName[] {
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_SYNC_ENDPOINTS];
  const names = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  const unknown = names.filter((n) => !isEndpointName(n));
  if (unknown.length > 0) throw new Error(`SYNC_ENDPOINTS names unknown endpoint(s): ${unknown.join(', ')}`);
  return names as EndpointName[];
}
