/** The sync state machine's input (docs/SYNC.md "Inputs") and the endpoints a run syncs (docs/SYNC.md, step 1). */
import { isCalendarDate, utcDay } from '#commons/calendar-date';
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

/** What a valid input asks for, before the watermark is read (Prepare turns it into a run plan, run-plan.ts). */
export interface SyncRequest {
  mode: SyncMode;
  runDate?: string;
  npns: string[] | null;
  /** `{"runDate":D}` alone: an operator's re-run of exactly D, which never moves the watermark. */
  exact?: true;
}

/** Every input the state machine accepts (docs/SYNC.md "Inputs"). */
const ACCEPTED =
  'input must be {"runDate":"YYYY-MM-DD"}, {"mode":"incremental","runDate":"YYYY-MM-DD"}, {"mode":"catchUp"}, {"mode":"backfill","runDate"?:"YYYY-MM-DD"}, {"mode":"backfill","npns":[...]} or {"mode":"reconcile"}';

/** The fields each mode allows beside `mode`. */
const FIELDS: Record<SyncMode, readonly string[]> = {
  incremental: ['runDate'],
  catchUp: [],
  backfill: ['runDate', 'npns'],
  reconcile: [],
};

const isSyncMode = (value: unknown): value is SyncMode => typeof value === 'string' && Object.hasOwn(FIELDS, value);

/** A real calendar date, at most tomorrow in UTC (AgentSync's dates and a UTC clock disagree around midnight). */
function checkRunDate(runDate: unknown, now: Date): string {
  if (!isCalendarDate(runDate)) throw new InvalidInputError(`runDate must be a calendar date YYYY-MM-DD, got ${JSON.stringify(runDate)}`);
  const tomorrow = utcDay(now.getTime(), 1);
  if (runDate > tomorrow) throw new InvalidInputError(`runDate ${runDate} is in the future (latest accepted: ${tomorrow})`);
  return runDate;
}

/** Accepts exactly the inputs of ACCEPTED; anything else, unknown extra fields included, is InvalidInput. */
export function parseSyncInput(input: unknown, now: Date = new Date()): SyncRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InvalidInputError(ACCEPTED);
  const fields = input as Record<string, unknown>;
  const keys = Object.keys(fields);

  if (!('mode' in fields) && 'runDate' in fields) {
    const extra = keys.filter((k) => k !== 'runDate');
    if (extra.length > 0) throw new InvalidInputError(`unexpected field(s) next to runDate: ${extra.join(', ')}`);
    return { mode: 'incremental', runDate: checkRunDate(fields.runDate, now), npns: null, exact: true };
  }
  const { mode } = fields;
  if (!isSyncMode(mode)) throw new InvalidInputError(`${ACCEPTED}, got keys: ${keys.join(', ') || '(none)'}`);
  const extra = keys.filter((k) => k !== 'mode' && !FIELDS[mode].includes(k));
  if (extra.length > 0) throw new InvalidInputError(`unexpected field(s) in a ${mode} input: ${extra.join(', ')}`);

  if (mode === 'incremental') {
    if (fields.runDate === undefined) throw new InvalidInputError('an incremental input needs its runDate: {"mode":"incremental","runDate":"YYYY-MM-DD"}');
    return { mode, runDate: checkRunDate(fields.runDate, now), npns: null };
  }
  if (mode !== 'backfill') return { mode, npns: null };
  if (fields.npns !== undefined && fields.runDate !== undefined) {
    throw new InvalidInputError('a backfill takes npns or a runDate, not both (a backfill of some NPNs never moves the watermark)');
  }
  if (fields.runDate !== undefined) return { mode, runDate: checkRunDate(fields.runDate, now), npns: null };
  if (fields.npns === undefined) return { mode, npns: null };
  return { mode, npns: checkBackfillNpns(fields.npns) };
}

/** A backfill's NPN list: digits, de-duplicated, at most MAX_BACKFILL_NPNS. */
function checkBackfillNpns(npns: unknown): string[] {
  if (!Array.isArray(npns) || npns.length === 0 || !npns.every(isNpn)) {
    throw new InvalidInputError('npns must be a non-empty array of NPN strings (digits only); omit it to backfill every subscribed NPN');
  }
  const unique = [...new Set(npns as string[])];
  if (unique.length > MAX_BACKFILL_NPNS) {
    throw new InvalidInputError(`npns has ${unique.length} NPNs; at most ${MAX_BACKFILL_NPNS} per execution (split the list)`);
  }
  return unique;
}

/** SYNC_ENDPOINTS (comma list) or the default catalogue. A typo is a deployment error, not bad input. */
export function syncEndpoints(raw: string | undefined = process.env.SYNC_ENDPOINTS): EndpointName[] {
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_SYNC_ENDPOINTS];
  const names = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  const unknown = names.filter((n) => !isEndpointName(n));
  if (unknown.length > 0) throw new Error(`SYNC_ENDPOINTS names unknown endpoint(s): ${unknown.join(', ')}`);
  return names as EndpointName[];
}
