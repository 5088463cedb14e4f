/**
 * The ProducerSync webhook envelope `{id, type, timestamp, data}` (docs/ARCHITECTURE.md, queue
 * message): the event types, the checks the webhook applies before anything is queued, and the
 * reading of an event's data that the dispatcher acts on.
 */
import { isCalendarDate } from '#commons/calendar-date';
import { isNpn } from '#producersync/npn';

/** The event types the product acts on (others are queued and acknowledged). */
export const EVENT_TYPES = {
  updatesAvailable: 'producersync.updates_available',
  npnActivated: 'producersync.npn.activated',
  npnDeactivated: 'producersync.npn.deactivated',
} as const;

/** A webhook body that passed `parseWebhookEvent`. */
export interface WebhookEvent {
  id: string;
  type: string;
  timestamp?: string;
  data: Record<string, unknown>;
}

/** Deeper than any real payload; stops hostile nesting from reaching the queue. */
export const MAX_JSON_DEPTH = 32;

/** The event, or what is wrong with the body (answered 400). */
export type ParsedEvent = { ok: true; event: WebhookEvent } | { ok: false; problem: string };

/** True when `value` nests objects or arrays deeper than `limit` levels. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  // Iterative so the check itself cannot overflow the stack.
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Checks a verified body: an envelope with an id, a type and a data object; updates_available needs a calendar `runDate`. */
export function parseWebhookEvent(payload: unknown): ParsedEvent {
  if (jsonDepthExceeds(payload, MAX_JSON_DEPTH)) return { ok: false, problem: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (!isPlainObject(payload)) return { ok: false, problem: 'body is not a JSON object' };
  const { id, type, timestamp, data } = payload;
  if (typeof id !== 'string' || id === '') return { ok: false, problem: '"id" must be a non-empty string' };
  if (typeof type !== 'string' || type === '') return { ok: false, problem: '"type" must be a non-empty string' };
  if (!isPlainObject(data)) return { ok: false, problem: '"data" must be an object' };
  if (type === EVENT_TYPES.updatesAvailable && !isCalendarDate(data.runDate)) {
    return { ok: false, problem: '"data.runDate" must be a yyyy-MM-dd date' };
  }
  return { ok: true, event: { id, type, timestamp: typeof timestamp === 'string' ? timestamp : undefined, data } };
}

/** `data.runDate` of an updates_available event; throws when it is not a calendar date. */
export function runDateOf(data: Record<string, unknown>): string {
  if (!isCalendarDate(data.runDate)) throw new Error('updates_available event has no yyyy-MM-dd data.runDate');
  return data.runDate;
}

/**
 * `data.npn` (one) or `data.npns` (list) of an npn.activated / npn.deactivated event, deduplicated;
 * numbers are tolerated because the payload is undocumented. Throws when there is none or one is not an NPN.
 */
export function npnsOf(data: Record<string, unknown>): string[] {
  const raw = data.npns !== undefined ? data.npns : data.npn !== undefined ? [data.npn] : undefined;
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('event data has neither "npn" nor "npns"');
  const npns: unknown[] = raw.map((value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value));
  const invalid = npns.filter((npn) => !isNpn(npn));
  if (invalid.length > 0) throw new Error(`event data holds ${invalid.length} NPN(s) that are not 1-10 digits`);
  return [...new Set(npns as string[])];
}
