import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '#commons/clients';
import { RateLimitedError } from '#producersync/errors';
import { sleep as defaultSleep } from '#producersync/retry';

/**
 * A request budget: `take()` before every request, `observe()` the response headers after,
 * `penalize()` when the server answered 429. Two implementations: one per process
 * (`createLocalRateBudget`) and one shared by every concurrent Lambda through the control
 * table (`createDynamoRateBudget`).
 */
export interface RateBudget {
  /** Resolves when the next request may be sent. Throws `RateLimitedError` (source `budget`) rather than wait longer than `maxWaitSeconds`. */
  take(options?: TakeOptions): Promise<void>;
  /** Reads `ratelimit-remaining`/`-reset` and `X-RateLimit-Remaining`/`-Reset`; slows down when the server has fewer left than we thought. */
  observe(headers: Readonly<Record<string, string | undefined>>): void;
  /** No request for `seconds` (a 429's Retry-After). */
  penalize(seconds: number): void;
}

export interface TakeOptions {
  maxWaitSeconds?: number;
}

export interface Clock {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const WINDOW_MS = 60_000;

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
    const resetAtMs = Number.isFinite(reset) && lower[`${prefix}-reset`] !== undefined ? (reset > 1e9 ? reset * 1000 : nowMs + reset * 1000) : nowMs + WINDOW_MS;
    states.push({ remaining: Math.max(0, remaining), resetAtMs: Math.max(nowMs, resetAtMs) });
  }
  if (states.length === 0) return undefined;
  return states.reduce((a, b) => ({ remaining: Math.min(a.remaining, b.remaining), resetAtMs: Math.max(a.resetAtMs, b.resetAtMs) }));
}

/**
 * A token bucket measured on the actual release times: requests leave one at a time, each
 * when a whole token has refilled. Holding `capacity` tokens at most and refilling
 * `perMinute - capacity` per minute, no 60 s window ever sees more than `perMinute` releases,
 * however late timers fire (a late timer delays the release, it never bunches releases beyond
 * `capacity`): the releases in any window [t, t + 60 s] spend at most the level at t
 * (≤ capacity) plus the refill over the window (perMinute - capacity).
 *
 * `capacity` is `burst` plus a bank of one slot (when the budget is at least 20/min):
 * time a waiting request loses to a late timer (or to whatever else delays it while it is
 * queued: the shared budget's lease round trip, a busy event loop, sleeping whole
 * milliseconds) stays in the bucket and is made up on the next release, up to one whole slot,
 * instead of being lost. With a bank of 0 a release that leaves 2 ms late at a 20 ms slot
 * costs 10% of the rate for good; with the bank, nothing as long as no single wait is more than
 * one slot late. The bank only holds time that passed while a request was waiting: refill while
 * nobody was (from the last release to the next arrival) and during a `pause()` is capped at
 * `burst`, so an idle or penalized pacer still sends at most `burst` back to back, as before.
 * Discarding tokens only lowers the level, so the window bound above is unaffected.
 */
class Pacer {
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
    this.refillPerMs = Math.max(1, perMinute - this.capacity) / WINDOW_MS;
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

  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /** The server has `remaining` requests left until `resetAtMs`: never go faster than that. */
  limitTo(state: ServerRateState): void {
    const at = this.now();
    this.refill(at);
    if (state.remaining === 0) {
      this.pause(state.resetAtMs);
      return;
    }
    const serverRefill = state.remaining / Math.max(1, state.resetAtMs - at);
    if (serverRefill >= this.refillPerMs) {
      this.server = undefined;
      return;
    }
    // Spread what is left evenly until the reset, starting with the very next request
    // (a token refilled while this request was in flight is not spent at full speed).
    this.server = { refillPerMs: serverRefill, until: state.resetAtMs };
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
      if (state) pacer.limitTo(state);
    },
    penalize(seconds: number): void {
      pacer.pause(now() + Math.max(0, seconds) * 1000);
    },
  };
}

function refuseLongWait(waitMs: number, options: TakeOptions | undefined): void {
  if (options?.maxWaitSeconds !== undefined && waitMs > options.maxWaitSeconds * 1000) {
    throw new RateLimitedError(Math.ceil(waitMs / 1000), undefined, 'budget');
  }
}

/** A DynamoDB number without exponent notation. */
const decimal = (value: number): string => value.toFixed(6);

function clampBurst(burst: number, perMinute: number): number {
  return Math.max(1, Math.min(Math.floor(burst), Math.max(1, Math.floor(perMinute / 10))));
}

export interface DynamoRateBudgetOptions extends Clock {
  tableName: string;
  /** Bucket name: the item is `pk = RATE#<name>, sk = BUCKET`. */
  name: string;
  perMinute: number;
  /** Tokens taken from the shared bucket per DynamoDB write (default 5). */
  leaseSize?: number;
  client?: DynamoDBClient;
}

export const rateBucketKey = (name: string): { pk: { S: string }; sk: { S: string } } => ({ pk: { S: `RATE#${name}` }, sk: { S: 'BUCKET' } });

/**
 * The budget shared by every concurrent Lambda: a token bucket in the control table item
 * `RATE#<name>/BUCKET {tokens, updatedAtMs}`, updated with optimistic conditional writes.
 * Each caller leases a few tokens per write and paces them locally. The bucket holds at most
 * `capacity` (one lease) tokens and refills at `perMinute - 2·capacity` per minute, so the
 * leases plus the delay in spending them stay within `perMinute` in any 60 s window.
 * Leased tokens a Lambda does not spend are lost, which only errs on the slow side.
 */
export function createDynamoRateBudget(options: DynamoRateBudgetOptions): RateBudget {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const client = (): DynamoDBClient => options.client ?? dynamoClient();
  const key = rateBucketKey(options.name);
  const capacity = Math.max(1, Math.min(options.leaseSize ?? 5, Math.floor(options.perMinute / 10) || 1));
  const refillPerMs = Math.max(1, options.perMinute - 2 * capacity) / WINDOW_MS;
  const pacer = new Pacer(options.perMinute, 1, now, sleep);
  let leased = 0;
  let queue: Promise<unknown> = Promise.resolve();

  /** Tokens in the bucket now, from the stored level and the time since it was written. */
  const level = (stored: { tokens: number; updatedAtMs: number } | undefined, at: number): number =>
    stored ? Math.min(capacity, stored.tokens + Math.max(0, at - stored.updatedAtMs) * refillPerMs) : capacity;

  /** The stored level, with the raw attribute values for the optimistic condition. */
  async function readBucket(): Promise<{ tokens: number; updatedAtMs: number; raw: { tokens: string; updatedAtMs: string } } | undefined> {
    const { Item } = await client().send(new GetItemCommand({ TableName: options.tableName, Key: key, ConsistentRead: true }));
    const raw = { tokens: Item?.tokens?.N ?? '', updatedAtMs: Item?.updatedAtMs?.N ?? '' };
    const tokens = Number(raw.tokens);
    const updatedAtMs = Number(raw.updatedAtMs);
    return Item && raw.tokens !== '' && Number.isFinite(tokens) && Number.isFinite(updatedAtMs) ? { tokens, updatedAtMs, raw } : undefined;
  }

  /** Takes up to `capacity` tokens from the shared bucket, waiting for the refill when it is empty. */
  async function lease(takeOptions: TakeOptions | undefined): Promise<void> {
    for (let conflicts = 0; ; ) {
      const stored = await readBucket();
      const at = now();
      const available = level(stored, at);
      if (available < 1) {
        const waitMs = Math.ceil((1 - available) / refillPerMs);
        refuseLongWait(waitMs + pacer.estimateWaitMs(), takeOptions);
        await sleep(waitMs);
        continue;
      }
      const count = Math.min(capacity, Math.floor(available));
      try {
        await client().send(
          new UpdateItemCommand({
            TableName: options.tableName,
            Key: key,
            UpdateExpression: 'SET tokens = :tokens, updatedAtMs = :at',
            ConditionExpression: stored ? 'tokens = :prevTokens AND updatedAtMs = :prevAt' : 'attribute_not_exists(pk)',
            ExpressionAttributeValues: {
              ':tokens': { N: decimal(available - count) },
              ':at': { N: String(at) },
              ...(stored ? { ':prevTokens': { N: stored.raw.tokens }, ':prevAt': { N: stored.raw.updatedAtMs } } : {}),
            },
          }),
        );
        leased += count;
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) && (error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
        // Another Lambda took tokens between our read and write: read again, after a short random pause.
        if (++conflicts > 50) throw new Error(`rate bucket ${options.name}: too many concurrent updates`);
        await sleep(Math.floor(Math.random() * 20 * Math.min(conflicts, 5)));
      }
    }
  }

  async function takeOne(takeOptions: TakeOptions | undefined, arrivedAt: number): Promise<void> {
    if (leased === 0) await lease(takeOptions);
    refuseLongWait(pacer.estimateWaitMs(), takeOptions);
    leased--;
    // Waiting in line and for the lease counts as waiting: the pacer's bank makes that time up.
    await pacer.acquire(arrivedAt);
  }

  function penalize(seconds: number): void {
    const at = now();
    const pauseMs = Math.max(0, seconds) * 1000;
    pacer.pause(at + pauseMs);
    leased = 0;
    // Put the shared bucket in debt so every Lambda pauses, not only this one. Best effort:
    // a failed write still leaves this container paused.
    void client()
      .send(
        new UpdateItemCommand({
          TableName: options.tableName,
          Key: key,
          UpdateExpression: 'SET tokens = :debt, updatedAtMs = :at',
          ExpressionAttributeValues: { ':debt': { N: decimal(-pauseMs * refillPerMs) }, ':at': { N: String(at) } },
        }),
      )
      .catch(() => undefined);
  }

  return {
    take(takeOptions?: TakeOptions): Promise<void> {
      // One lease at a time per container; callers are served in order.
      const arrivedAt = now();
      const turn = queue.then(() => takeOne(takeOptions, arrivedAt));
      queue = turn.catch(() => undefined);
      return turn;
    },
    observe(headers) {
      const at = now();
      const state = readServerRateState(headers, at);
      if (!state) return;
      pacer.limitTo(state);
      if (state.remaining === 0) penalize((state.resetAtMs - at) / 1000);
    },
    penalize,
  };
}
