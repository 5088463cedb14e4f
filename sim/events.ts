/**
 * What goes into the webhook events the simulator emits, where producersync-api.md §5 leaves
 * it open: the `npn.activated` / `npn.deactivated` payload shapes, the portal's "Send Example"
 * event, and which days' `updates_available` is lost.
 */
import { formatDay, parseDay } from './dates.ts';
import { hashInts, unitOf } from './random.ts';
import type { WebhookEvent } from './webhook-sender.ts';

export const UPDATES_AVAILABLE = 'producersync.updates_available';
export const NPN_ACTIVATED = 'producersync.npn.activated';
export const NPN_DEACTIVATED = 'producersync.npn.deactivated';

/**
 * The `data` of npn.activated / npn.deactivated (undocumented, so every plausible shape):
 * - `npn-or-npns` (default): `{npn}` for one NPN, `{npns: [...]}` for several;
 * - `npn`: one event per NPN, `{npn}`;
 * - `npns`: always `{npns: [...]}`;
 * - `npn-list`: `{npn: [...]}`;
 * - `list`: `data` is the array itself.
 */
export type ActivationPayloadShape = 'npn-or-npns' | 'npn' | 'npns' | 'npn-list' | 'list';
export const ACTIVATION_PAYLOAD_SHAPES: readonly ActivationPayloadShape[] = ['npn-or-npns', 'npn', 'npns', 'npn-list', 'list'];

/** The `data` of each event announcing `npns`, at most `maxNpnsPerEvent` NPNs an event. */
export function activationData(shape: ActivationPayloadShape, npns: readonly string[], maxNpnsPerEvent = Infinity): unknown[] {
  if (shape === 'npn') return npns.map((npn) => ({ npn }));
  const out: unknown[] = [];
  const step = Math.max(1, Math.floor(Math.min(maxNpnsPerEvent, npns.length || 1)));
  for (let i = 0; i < npns.length; i += step) {
    const chunk = npns.slice(i, i + step);
    if (shape === 'npns') out.push({ npns: chunk });
    else if (shape === 'npn-list') out.push({ npn: chunk });
    else if (shape === 'list') out.push(chunk);
    else out.push(chunk.length === 1 ? { npn: chunk[0] } : { npns: chunk });
  }
  return out;
}

/**
 * The documented `updates_available` example (producersync-api.md §5.2), verbatim: what the
 * portal's "Send Example" delivers, with an old runDate and the same body id every time.
 */
export const EXAMPLE_UPDATES_AVAILABLE: Readonly<WebhookEvent> = Object.freeze({
  id: 'whe_000012345',
  type: UPDATES_AVAILABLE,
  timestamp: '2025-07-24T22:51:05.206Z',
  data: Object.freeze({ runDate: '2025-07-24' }),
});

/** Days whose `updates_available` is never delivered: a seeded share of days, and/or listed run dates. */
export interface WebhookLossOptions {
  /** Share of days lost, 0..1, drawn per day from the seed. */
  fraction?: number;
  /** Run dates (yyyy-MM-dd) that are always lost. */
  runDates?: readonly string[];
}

export class WebhookLoss {
  private readonly days: Set<string>;

  constructor(
    private readonly options: WebhookLossOptions,
    private readonly seed: number,
  ) {
    const fraction = options.fraction ?? 0;
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`webhookLoss.fraction must be between 0 and 1, got ${fraction}`);
    for (const day of options.runDates ?? []) if (parseDay(day) === undefined) throw new Error(`webhookLoss.runDates: not a yyyy-MM-dd date: ${day}`);
    this.days = new Set(options.runDates ?? []);
  }

  lost(day: number): boolean {
    if (this.days.has(formatDay(day))) return true;
    const fraction = this.options.fraction ?? 0;
    return fraction > 0 && unitOf(hashInts(this.seed, 0x1055, day)) < fraction;
  }
}
