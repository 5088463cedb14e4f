/**
 * The ProducerSync webhook envelope `{id, type, timestamp, data}` (docs/ARCHITECTURE.md, queue message)
 * and the checks the webhook applies before anything is queued.
 */
export const EVENT_TYPES = {
  updatesAvailable: 'producersync.updates_available',
  npnActivated: 'producersync.npn.activated',
  npnDeactivated: 'producersync.npn.deactivated',
} as const;

export interface WebhookEvent {
  id: string;
  type: string;
  timestamp?: string;
  data: Record<string, unknown>;
}

/** Deeper than any real payload; stops hostile nesting from reaching the queue. */
export const MAX_JSON_DEPTH = 32;

export type ParsedEvent = { ok: true; event: WebhookEvent } | { ok: false; problem: string };

/** yyyy-MM-dd that names a real calendar day. */
export function isRunDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

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

export function parseWebhookEvent(payload: unknown): ParsedEvent {
  if (jsonDepthExceeds(payload, MAX_JSON_DEPTH)) return { ok: false, problem: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (!isPlainObject(payload)) return { ok: false, problem: 'body is not a JSON object' };
  const { id, type, timestamp, data } = payload;
  if (typeof id !== 'string' || id === '') return { ok: false, problem: '"id" must be a non-empty string' };
  if (typeof type !== 'string' || type === '') return { ok: false, problem: '"type" must be a non-empty string' };
  if (!isPlainObject(data)) return { ok: false, problem: '"data" must be an object' };
  if (type === EVENT_TYPES.updatesAvailable && !isRunDate(data.runDate)) {
    return { ok: false, problem: '"data.runDate" must be a yyyy-MM-dd date' };
  }
  return { ok: true, event: { id, type, timestamp: typeof timestamp === 'string' ? timestamp : undefined, data } };
}
