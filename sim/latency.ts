/**
 * The latency model (issue 15): how long the simulator takes to answer, so benchmarks see the
 * API's pace instead of a millisecond. Off unless `SimulatorOptions.latency` is set.
 *
 * An API response's latency grows with the records on the page: its median runs linearly from
 * `emptyPageMs` (no records) to `page1000.p50` (1,000 records), and the tail keeps the shape
 * of `page1000` (the same quantile, scaled). Token requests have their own small latency.
 * Every draw is keyed on (seed, request URL, how often that URL was asked), so a page gets the
 * same latency in every run whatever the interleaving of concurrent requests.
 */
import { hashInts, hashString, unitOf } from './random.ts';

/** Latency percentiles in milliseconds; p50 > 0 and p50 <= p90 <= p99. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface LatencyOptions {
  /** Percentiles of a 1,000-record page. Default p50 600, p90 1,000, p99 3,000 (AgentSync: P90 under 1 s). */
  page1000?: LatencyPercentiles;
  /** Median of a page without records (end of data, empty result, by-id reads, subscription calls), default 150; at most page1000.p50. */
  emptyPageMs?: number;
  /** Percentiles of a token request (no size effect). Default p50 100, p90 200, p99 500. */
  token?: LatencyPercentiles;
  /**
   * Multiplies every latency, default 1. A bench that raises the rate budget k× sets 1/k, so
   * latency ÷ request slot (and with it the page loop's share of the budget) stays as at 300/min.
   */
  scale?: number;
  /**
   * Extra latency per other API request in flight when this one arrives, as a fraction
   * (0.05 = +5% each), default 0. AgentSync documents a per-client rate limit, not a
   * concurrency limit; at 300/min and ~0.8 s a page a client has about 4 requests open, too few
   * to load a shared service, so the default adds nothing. Set it to test that parallelism
   * (partitions, prefetch) is not rewarded beyond what a loaded server would give.
   */
  inFlightFactor?: number;
  /**
   * How many records each served record counts as for the size effect, default 1. A bench that serves
   * small pages to spare DynamoDB Local (which takes a few hundred writes a second) sets e.g. 1,000 with
   * 1-record pages, so each data page takes a full page's time while an empty end-of-data page stays fast.
   */
  recordWeight?: number;
  /** Default: the simulator's seed. */
  seed?: number;
}

export const DEFAULT_LATENCY = {
  page1000: { p50: 600, p90: 1000, p99: 3000 },
  emptyPageMs: 150,
  token: { p50: 100, p90: 200, p99: 500 },
  scale: 1,
  inFlightFactor: 0,
  recordWeight: 1,
} as const;

/** What the model chose for one request (also written to the request log). */
export interface LatencyChoice {
  /** Milliseconds the response was held, after size, in-flight and scale factors. */
  ms: number;
  /** The uniform draw in [0, 1) that picked the point of the distribution. */
  quantile: number;
}

const REFERENCE_RECORDS = 1000;

/**
 * Piecewise-linear quantile function through (0, p50²/p90), (0.5, p50), (0.9, p90),
 * (0.99, p99) and (1, 2·p99): it hits the three percentiles exactly, its lower end is as far
 * below the median (in ratio) as p90 is above it, and the tail is bounded at twice p99.
 */
export function quantileOf(p: LatencyPercentiles, u: number): number {
  const anchors: ReadonlyArray<readonly [number, number]> = [
    [0, (p.p50 * p.p50) / p.p90],
    [0.5, p.p50],
    [0.9, p.p90],
    [0.99, p.p99],
    [1, 2 * p.p99],
  ];
  const q = Math.min(Math.max(u, 0), 1);
  for (let i = 1; i < anchors.length; i++) {
    const [u1, v1] = anchors[i]!;
    if (q <= u1) {
      const [u0, v0] = anchors[i - 1]!;
      return v0 + ((v1 - v0) * (q - u0)) / (u1 - u0);
    }
  }
  return 2 * p.p99;
}

function checkPercentiles(name: string, p: LatencyPercentiles): void {
  if (!(p.p50 > 0 && p.p50 <= p.p90 && p.p90 <= p.p99)) throw new Error(`latency.${name} needs 0 < p50 <= p90 <= p99, got ${JSON.stringify(p)}`);
}

export class LatencyModel {
  private readonly page: LatencyPercentiles;
  private readonly tokenPercentiles: LatencyPercentiles;
  private readonly emptyPageMs: number;
  private readonly scale: number;
  private readonly inFlightFactor: number;
  private readonly recordWeight: number;
  private readonly seed: number;
  private readonly asked = new Map<string, number>();

  constructor(options: LatencyOptions, seed: number) {
    this.page = options.page1000 ?? DEFAULT_LATENCY.page1000;
    this.tokenPercentiles = options.token ?? DEFAULT_LATENCY.token;
    this.emptyPageMs = options.emptyPageMs ?? DEFAULT_LATENCY.emptyPageMs;
    this.scale = options.scale ?? DEFAULT_LATENCY.scale;
    this.inFlightFactor = options.inFlightFactor ?? DEFAULT_LATENCY.inFlightFactor;
    this.recordWeight = options.recordWeight ?? DEFAULT_LATENCY.recordWeight;
    this.seed = options.seed ?? seed;
    checkPercentiles('page1000', this.page);
    checkPercentiles('token', this.tokenPercentiles);
    if (!(this.emptyPageMs >= 0 && this.emptyPageMs <= this.page.p50)) throw new Error(`latency.emptyPageMs must be between 0 and page1000.p50, got ${this.emptyPageMs}`);
    if (!(this.scale > 0)) throw new Error(`latency.scale must be > 0, got ${this.scale}`);
    if (!(this.inFlightFactor >= 0)) throw new Error(`latency.inFlightFactor must be >= 0, got ${this.inFlightFactor}`);
    if (!(this.recordWeight > 0)) throw new Error(`latency.recordWeight must be > 0, got ${this.recordWeight}`);
  }

  /** An API response of `records` records, `inFlight` other API requests open when it arrived. */
  api(key: string, records: number, inFlight: number): LatencyChoice {
    const quantile = this.draw(`api ${key}`);
    return { ms: this.apiAt(quantile, records, inFlight), quantile };
  }

  token(key: string): LatencyChoice {
    const quantile = this.draw(`token ${key}`);
    return { ms: this.tokenAt(quantile), quantile };
  }

  /** The latency of an API response at a given quantile (what `api` applies to its draw). */
  apiAt(quantile: number, records: number, inFlight = 0): number {
    return quantileOf(this.page, quantile) * this.sizeFactor(records) * this.loadFactor(inFlight) * this.scale;
  }

  tokenAt(quantile: number): number {
    return quantileOf(this.tokenPercentiles, quantile) * this.scale;
  }

  /** Median at `records` over the median at 1,000. */
  private sizeFactor(records: number): number {
    const share = Math.min(Math.max(records * this.recordWeight, 0), REFERENCE_RECORDS) / REFERENCE_RECORDS;
    return (this.emptyPageMs + (this.page.p50 - this.emptyPageMs) * share) / this.page.p50;
  }

  private loadFactor(inFlight: number): number {
    return 1 + this.inFlightFactor * Math.max(0, inFlight);
  }

  private draw(key: string): number {
    const occurrence = (this.asked.get(key) ?? 0) + 1;
    this.asked.set(key, occurrence);
    return unitOf(hashInts(this.seed, 0x1a7, hashString(key), occurrence));
  }
}
