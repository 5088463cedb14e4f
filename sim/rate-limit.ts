/**
 * Sliding 60-second window per client key, the way AgentSync describes its limits
 * (requests per minute per client, 429 on excess, counts free up as the window moves).
 */
export const WINDOW_MS = 60_000;

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms when the oldest counted request leaves the window (a slot frees up). */
  resetAtMs: number;
}

export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Counts the request if it fits in the window. Rejected requests are not counted. */
  take(key: string): RateDecision {
    const now = this.now();
    const hits = this.prune(key, now);
    const allowed = hits.length < this.limit;
    if (allowed) hits.push(now);
    const oldest = hits[0] ?? now;
    return { allowed, limit: this.limit, remaining: Math.max(0, this.limit - hits.length), resetAtMs: oldest + WINDOW_MS };
  }

  private prune(key: string, now: number): number[] {
    let hits = this.hits.get(key);
    if (!hits) this.hits.set(key, (hits = []));
    let expired = 0;
    while (expired < hits.length && hits[expired]! <= now - WINDOW_MS) expired++;
    if (expired > 0) hits.splice(0, expired);
    return hits;
  }
}

export type RateLimitHeaderStyle = 'ratelimit' | 'x-ratelimit' | 'both';

export function rateLimitHeaders(decision: RateDecision, style: RateLimitHeaderStyle, now: number): Record<string, string> {
  const secondsToReset = Math.max(0, Math.ceil((decision.resetAtMs - now) / 1000));
  const headers: Record<string, string> = {};
  if (style !== 'x-ratelimit') {
    headers['ratelimit-limit'] = String(decision.limit);
    headers['ratelimit-remaining'] = String(decision.remaining);
    headers['ratelimit-reset'] = String(secondsToReset);
  }
  if (style !== 'ratelimit') {
    headers['X-RateLimit-Limit'] = String(decision.limit);
    headers['X-RateLimit-Remaining'] = String(decision.remaining);
    headers['X-RateLimit-Reset'] = String(Math.ceil(decision.resetAtMs / 1000));
  }
  return headers;
}

export const retryAfterSeconds = (decision: RateDecision, now: number): number => Math.max(1, Math.ceil((decision.resetAtMs - now) / 1000));
