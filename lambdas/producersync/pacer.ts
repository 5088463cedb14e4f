/**
 * The in-process pacer behind every rate budget: a token bucket measured on the actual release
 * times, so no 60 s window ever sees more than `perMinute` releases however late timers fire.
 * Why it is built this way (the bank of one slot, what it may and may not make up) is in
 * docs/SYNC.md, "The rate budget's pacer".
 */

/** The window every rate limit of the API is counted over. */
export const RATE_WINDOW_MS = 60_000;

/**
 * Requests leave one at a time, in arrival order, each when a whole token has refilled. Holds
 * `burst` plus a bank of one slot (from 20/min), refills `perMinute - capacity` per minute.
 */
export class Pacer {
  private readonly capacity: number;
  private readonly refillPerMs: number;
  private tokens: number;
  private refilledAt: number;
  /** When the last request left (at first: when the pacer was made), and the level it left behind (the bank carried over). */
  private releasedAt: number;
  private carried = 0;
  private pausedUntil = 0;
  /** A slower refill the server asked for (few requests left in its window), until its reset. */
  private server: { refillPerMs: number; until: number } | undefined;
  private waiting = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    perMinute: number,
    private readonly burst: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    if (!(perMinute > 0)) throw new Error(`rate budget perMinute must be positive, got ${perMinute}`);
    // The bank costs one request a minute: 0.3% at 300/min, 0.03% at 3,000/min.
    const bank = perMinute >= 20 ? 1 : 0;
    this.capacity = burst + bank;
    this.refillPerMs = Math.max(1, perMinute - this.capacity) / RATE_WINDOW_MS;
    this.tokens = burst;
    this.refilledAt = now();
    this.releasedAt = this.refilledAt;
  }

  /** How long a request queued now would wait (for `maxWaitSeconds`). */
  estimateWaitMs(): number {
    const at = this.now();
    const pause = Math.max(0, this.pausedUntil - at);
    const need = this.waiting + 1 - Math.min(this.burst + this.waiting, this.level(at));
    return Math.max(pause, need > 0 ? need / this.rate(at) : 0);
  }

  /**
   * Resolves when this request may leave; callers leave in arrival order. `arrivedAt` is when
   * the caller started waiting for its turn (default now): a caller that has been waiting since
   * before the last release keeps what the bucket banked meanwhile.
   */
  acquire(arrivedAt = this.now()): Promise<void> {
    this.waiting++;
    const turn = this.queue.then(async () => {
      try {
        // Refill between the last release and this arrival was idle time: no bank from it.
        if (arrivedAt > this.releasedAt) this.capAt(arrivedAt, Math.max(this.burst, this.carried));
        for (;;) {
          const at = this.now();
          if (at < this.pausedUntil) {
            await this.sleep(this.pausedUntil - at);
            continue;
          }
          // Nor from a pause (a 429's Retry-After, the server's reset) since the last release,
          // however this request spent it (here, or waiting for the shared bucket): it is not
          // lateness, so there is nothing to make up after it.
          if (this.pausedUntil > this.releasedAt) this.capAt(at, this.burst);
          this.refill(at);
          if (this.tokens >= 1) {
            this.tokens -= 1;
            this.releasedAt = at;
            this.carried = this.tokens;
            return;
          }
          await this.sleep(Math.ceil((1 - this.tokens) / this.rate(at)));
        }
      } finally {
        this.waiting--;
      }
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** No release before `until` (epoch ms). */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /** The server has `remaining` requests left until `resetAtMs`: never go faster than that. */
  limitTo(remaining: number, resetAtMs: number): void {
    const at = this.now();
    this.refill(at);
    if (remaining === 0) {
      this.pause(resetAtMs);
      return;
    }
    const serverRefill = remaining / Math.max(1, resetAtMs - at);
    if (serverRefill >= this.refillPerMs) {
      this.server = undefined;
      return;
    }
    // Spread what is left evenly until the reset, starting with the very next request
    // (a token refilled while this request was in flight is not spent at full speed).
    this.server = { refillPerMs: serverRefill, until: resetAtMs };
    this.tokens = Math.min(this.tokens, 0);
  }

  private rate(at: number): number {
    return this.server && at < this.server.until ? Math.min(this.refillPerMs, this.server.refillPerMs) : this.refillPerMs;
  }

  private level(at: number): number {
    return Math.min(this.capacity, this.tokens + Math.max(0, at - this.refilledAt) * this.rate(at));
  }

  private refill(at: number): void {
    this.tokens = this.level(at);
    this.refilledAt = Math.max(this.refilledAt, at);
  }

  /** Refills up to `at` (or where the level already is, if later) and keeps no more than `most`. */
  private capAt(at: number, most: number): void {
    this.refill(Math.max(at, this.refilledAt));
    this.tokens = Math.min(this.tokens, most);
  }
}
