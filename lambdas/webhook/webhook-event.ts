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

/**
 * An event's `data`: an object, or for npn.activated / npn.deactivated also the list of NPNs itself
 * (the payload is undocumented, producersync-api.md §5.2).
 */
export type EventData = Record<string, unknown> | unknown[];

/** A webhook body that passed `parseWebhookEvent`. */
export interface WebhookEvent {
  id: string;
  type: string;
  timestamp?: string;
  data: EventData;
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

/** The event types whose `data` may be the NPN list itself. */
const NPN_EVENT_TYPES: ReadonlySet<string> = new Set([EVENT_TYPES.npnActivated, EVENT_TYPES.npnDeactivated]);

/** A queued body's `data` as the dispatcher reads it: an object, or a list for the NPN events; undefined otherwise. */
export function eventDataOf(type: string, data: unknown): EventData | undefined {
  if (isPlainObject(data)) return data;
  return Array.isArray(data) && NPN_EVENT_TYPES.has(type) ? data : undefined;
}

/**
 * Checks a verified body: an envelope with an id, a type and a data object (a list too for the NPN
 * events); updates_available needs a calendar `runDate`.
 */
export function parseWebhookEvent(payload: unknown): ParsedEvent {
  if (jsonDepthExceeds(payload, MAX_JSON_DEPTH)) return { ok: false, problem: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (!isPlainObject(payload)) return { ok: false, problem: 'body is not a JSON object' };
  const { id, type, timestamp, data } = payload;
  if (typeof id !== 'string' || id === '') return { ok: false, problem: '"id" must be a non-empty string' };
  if (typeof type !== 'string' || type === '') return { ok: false, problem: '"type" must be a non-empty string' };
  const eventData = eventDataOf(type, data);
  if (eventData === undefined) {
    return { ok: false, problem: NPN_EVENT_TYPES.has(type) ? '"data" must be an object or a list of NPNs' : '"data" must be an object' };
  }
  if (type === EVENT_TYPES.updatesAvailable && !isCalendarDate((eventData as Record<string, unknown>).runDate)) {
    return { ok: false, problem: '"data.runDate" must be a yyyy-MM-dd date' };
  }
  return { ok: true, event: { id, type, timestamp: typeof timestamp === 'string' ? timestamp : undefined, data: eventData } };
}

/** `data.runDate` of an updates_available event; throws when it is not a calendar date. */
export function runDateOf(data: EventData): string {
  const runDate = Array.isArray(data) ? undefined : data.runDate;
  if (!isCalendarDate(runDate)) throw new Error('updates_available event has no yyyy-MM-dd data.runDate');
  return runDate;
}

/**
 * The NPNs of an npn.activated / npn.deactivated event, deduplicated, in every shape the simulator
 * sends (producersync-api.md §5.2 leaves it open): `data.npn` (one NPN or a list), `data.npns`, or
 * `data` itself as the list. Numbers are tolerated. Throws when there is none or one is not an NPN.
 */
export function npnsOf(data: EventData): string[] {
  const raw = Array.isArray(data) ? data : data.npns !== undefined ? data.npns : Array.isArray(data.npn) ? data.npn : data.npn !== undefined ? [data.npn] : undefined;
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('event data has neither "npn" nor "npns"');
  const npns: unknown[] = raw.map((value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value));
  const invalid = npns.filter((npn) => !isNpn(npn));
  if (invalid.length > 0) throw new Error(`event data holds ${invalid.length} NPN(s) that are not 1-10 digits`);
  return [...new Set(npns as string[])];
}
