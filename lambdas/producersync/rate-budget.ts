/**
 * The request budget contract: `take()` before every request, `observe()` the response headers
 * after, `penalize()` when the server answered 429. This module holds the interface, the reading of
 * the server's rate-limit headers and the in-process budget (one container's or the CLI's
 * requests); the budget every concurrent Lambda shares is `dynamo-rate-budget.ts`.
 */
import { RateLimitedError } from '#producersync/errors';
import { Pacer, RATE_WINDOW_MS } from '#producersync/pacer';
import { sleep as defaultSleep } from '#producersync/retry';

/** A request budget. */
export interface RateBudget {
  /** Resolves when the next request may be sent. Throws `RateLimitedError` (source `budget`) rather than wait longer than `maxWaitSeconds`. */
  take(options?: TakeOptions): Promise<void>;
  /** Reads `ratelimit-remaining`/`-reset` and `X-RateLimit-Remaining`/`-Reset`; slows down when the server has fewer left than we thought. */
  observe(headers: Readonly<Record<string, string | undefined>>): void;
  /** No request for `seconds` (a 429's Retry-After). */
  penalize(seconds: number): void;
}

/** Options of one `take()`. */
export interface TakeOptions {
  maxWaitSeconds?: number;
}

/** Injectable time (tests and the reliability suite move it forward instead of sleeping). */
export interface Clock {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What the server says about its window, normalised from either header family. */
export interface ServerRateState {
  remaining: number;
  /** Epoch ms at which the server's window frees up. */
  resetAtMs: number;
}

/**
 * Both header families: `ratelimit-*` (AgentSync public docs) and `X-RateLimit-*` (internal docs).
 * A reset value above 10^9 is a unix timestamp in seconds; smaller values are seconds from now.
 * When both are present, the more conservative reading wins.
 */
export function readServerRateState(headers: Readonly<Record<string, string | undefined>>, nowMs: number): ServerRateState | undefined {
  const lower: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  const states: ServerRateState[] = [];
  for (const prefix of ['ratelimit', 'x-ratelimit']) {
    const remaining = Number(lower[`${prefix}-remaining`]);
    const reset = Number(lower[`${prefix}-reset`]);
    if (lower[`${prefix}-remaining`] === undefined || !Number.isFinite(remaining)) continue;
    const resetAtMs = Number.isFinite(reset) && lower[`${prefix}-reset`] !== undefined ? (reset > 1e9 ? reset * 1000 : nowMs + reset * 1000) : nowMs + RATE_WINDOW_MS;
    states.push({ remaining: Math.max(0, remaining), resetAtMs: Math.max(nowMs, resetAtMs) });
  }
  if (states.length === 0) return undefined;
  return states.reduce((a, b) => ({ remaining: Math.min(a.remaining, b.remaining), resetAtMs: Math.max(a.resetAtMs, b.resetAtMs) }));
}

/** Throws `RateLimitedError` (source `budget`) when `waitMs` is longer than the caller allows. */
export function refuseLongWait(waitMs: number, options: TakeOptions | undefined): void {
  if (options?.maxWaitSeconds !== undefined && waitMs > options.maxWaitSeconds * 1000) {
    throw new RateLimitedError(Math.ceil(waitMs / 1000), undefined, 'budget');
  }
}

/** Options of `createLocalRateBudget`. */
export interface LocalRateBudgetOptions extends Clock {
  perMinute: number;
  /** Requests that may go back to back before pacing applies (default 1: strictly even). */
  burst?: number;
}

/** In-process budget: paces one container's (or the CLI's) requests. */
export function createLocalRateBudget(options: LocalRateBudgetOptions): RateBudget {
  const now = options.now ?? Date.now;
  const pacer = new Pacer(options.perMinute, clampBurst(options.burst ?? 1, options.perMinute), now, options.sleep ?? defaultSleep);
  return {
    async take(takeOptions?: TakeOptions): Promise<void> {
      refuseLongWait(pacer.estimateWaitMs(), takeOptions);
      await pacer.acquire();
    },
    observe(headers) {
      const state = readServerRateState(headers, now());
      if (state) pacer.limitTo(state.remaining, state.resetAtMs);
    },
    penalize(seconds: number): void {
      pacer.pause(now() + Math.max(0, seconds) * 1000);
    },
  };
}

/** A burst between 1 and a tenth of the per-minute budget. */
function clampBurst(burst: number, perMinute: number): number {
  return Math.max(1, Math.min(Math.floor(burst), Math.max(1, Math.floor(perMinute / 10))));
}
