import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerSyncClient } from '#producersync/client';
import { RateLimitedError } from '#producersync/errors';
import { createLocalRateBudget, readServerRateState } from '#producersync/rate-budget';
import { startSimulator, type Simulator } from '#sim/server';
import { maxInWindow } from './rate-budget-fixtures.ts';

describe('readServerRateState', () => {
  const now = 1_700_000_000_000;
  it('reads ratelimit-* (reset in seconds from now) and X-RateLimit-* (reset as a unix time)', () => {
    expect(readServerRateState({ 'ratelimit-remaining': '295', 'ratelimit-reset': '30' }, now)).toEqual({ remaining: 295, resetAtMs: now + 30_000 });
    expect(readServerRateState({ 'X-RateLimit-Remaining': '12', 'X-RateLimit-Reset': '1700000045' }, now)).toEqual({ remaining: 12, resetAtMs: now + 45_000 });
    expect(readServerRateState({ 'content-type': 'application/json' }, now)).toBeUndefined();
  });
  it('takes the more conservative reading when both families are present', () => {
    const state = readServerRateState({ 'ratelimit-remaining': '20', 'ratelimit-reset': '10', 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': '1700000005' }, now);
    expect(state).toEqual({ remaining: 5, resetAtMs: now + 10_000 });
  });
});

describe('rate budget against the simulator (request log timestamps)', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ npns: 20, rateLimit: { apiPerMinute: 100_000 } });
  });
  afterAll(() => sim.close());

  it('four concurrent callers at 1200/min never exceed the budget in any window (scaled: 20 per second)', async () => {
    sim.clearRequests();
    const perMinute = 1_200;
    // Release times are taken where the pacer lets a request go: arrival times at the simulator
    // also carry the event loop's jitter on a loaded machine, which says nothing about the pacer.
    const budget = createLocalRateBudget({ perMinute });
    const released: number[] = [];
    const client = createProducerSyncClient({
      credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
      rateBudget: { ...budget, take: async (options) => void (await budget.take(options), released.push(performance.now())) },
    });
    let remaining = 70;
    const worker = async () => {
      while (remaining-- > 0) await client.getJson('/v2/entities', { size: 1 });
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const times = sim.requests.filter((r) => r.kind === 'api').map((r) => r.at);
    expect(times).toHaveLength(70);
    expect(released).toHaveLength(70);
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
    // One second is a sixtieth of the minute: the pacer releases at most its capacity (2: one
    // request and the one-slot bank for late timers) plus a second's refill (1,198 / 60 = 19.97),
    // so 21; one more for the time between a release and its timestamp here.
    expect(maxInWindow(released, 1_000)).toBeLessThanOrEqual(22);
    expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(perMinute);
    // ...and the pace is close to the budget, not far below it.
    const span = Math.max(...released) - Math.min(...released);
    // Evenly spaced: 70 releases from a bucket of capacity 2 refilling 1,198/min take at least 68
    // refills (3,406 ms), less 50 ms of timestamp jitter.
    expect(span).toBeGreaterThanOrEqual(68 * (60_000 / (perMinute - 2)) - 50);
  });

  for (const headers of ['ratelimit', 'x-ratelimit', 'both'] as const) {
    it(`reads the server's ${headers} headers and stops before the server would answer 429`, async () => {
      const limited = await startSimulator({ npns: 5, rateLimit: { apiPerMinute: 10, headers } });
      try {
        const client = createProducerSyncClient({
          credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: limited.tokenUrl, apiBaseUrl: limited.apiBaseUrl },
          rateBudget: createLocalRateBudget({ perMinute: 60_000 }),
          maxInlineWaitSeconds: 2,
        });
        await client.getJson('/v2/entities', { size: 1 });
        // 9 left for the next 60 s: one every ~6.7 s, longer than this client may wait inline.
        const error = await client.getJson('/v2/entities', { size: 1 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RateLimitedError);
        expect(error).toMatchObject({ source: 'budget' });
        expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThanOrEqual(5);
        expect(limited.requests.filter((r) => r.kind === 'api').map((r) => r.status)).toEqual([200]);
      } finally {
        await limited.close();
      }
    });
  }
});
