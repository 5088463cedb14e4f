import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '#producersync/errors';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { maxInWindow, virtualClock } from './rate-budget-fixtures.ts';

describe('Pacer, through the in-process budget (virtual clock)', () => {
  it('paces evenly and never grants more than perMinute in any 60 s window', async () => {
    const { clock, now, sleep } = virtualClock();
    const budget = createLocalRateBudget({ perMinute: 300, now, sleep });
    const grants: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      await budget.take();
      grants.push(clock.now);
    }
    expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(300);
    // Even pacing: every gap is one interval (60 s / 298 = 201.3 ms: capacity 2, one request plus
    // a bank of one slot, so the refill is perMinute - 2), not bursts followed by idles. Sleeps
    // are whole milliseconds (201 or 202), the rounding made up on the next one.
    const gaps = grants.slice(1).map((t, i) => t - grants[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(201);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(202);
    expect((grants.at(-1)! - grants[0]!) / gaps.length).toBeCloseTo(60_000 / 298, 1);
  });

  it('allows a small burst and still stays within perMinute per window', async () => {
    const { clock, now, sleep } = virtualClock();
    const budget = createLocalRateBudget({ perMinute: 300, burst: 10, now, sleep });
    const grants: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      await budget.take();
      grants.push(clock.now);
    }
    expect(grants.slice(0, 10).every((t) => t === grants[0])).toBe(true);
    expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(300);
  });

  it('concurrent takers leave one at a time, an interval apart, in arrival order', async () => {
    const { clock, now, sleep } = virtualClock(0);
    const budget = createLocalRateBudget({ perMinute: 600, now, sleep });
    const order: [number, number][] = [];
    await Promise.all(Array.from({ length: 5 }, (_, i) => budget.take().then(() => order.push([i, clock.now]))));
    expect(order.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
    // 60 s / 599 = 100.17 ms apart (sleeps round up to whole milliseconds).
    const gaps = order.slice(1).map(([, t], k) => t - order[k]![1]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(99);
    expect(order[4]![1]).toBeGreaterThanOrEqual(400);
    expect(order[4]![1]).toBeLessThanOrEqual(405);
  });

  it('a stalled event loop delays releases but never bunches them into one window', async () => {
    // Timers fire up to 3 s late at random: still at most perMinute releases per 60 s.
    const { clock, now } = virtualClock();
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const lateSleep = async (ms: number) => {
      await new Promise((resolve) => setImmediate(resolve));
      clock.now += ms + (random() < 0.1 ? random() * 3_000 : 0);
    };
    const budget = createLocalRateBudget({ perMinute: 120, now, sleep: lateSleep });
    const grants: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 150; i++) {
          await budget.take();
          grants.push(clock.now);
        }
      }),
    );
    expect(grants).toHaveLength(600);
    expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(120);
  });

  it('makes up late timers: 2 ms late at a 20 ms slot still gives the full rate, within the window bound', async () => {
    // 3,000/min: a 20 ms slot. Every timer fires 2 ms late (the bench's measured loss). A pacer
    // holding one token would release every 22 ms: 2,727/min, 0.91 of the budget. With the bank
    // the 2 ms stay in the bucket and shorten the next sleep.
    const { clock, now } = virtualClock(0);
    const lateSleep = async (ms: number) => {
      await new Promise((resolve) => setImmediate(resolve));
      clock.now += ms + 2;
    };
    const perMinute = 3_000;
    const budget = createLocalRateBudget({ perMinute, now, sleep: lateSleep });
    const grants: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (clock.now < 180_000) {
          await budget.take();
          grants.push(clock.now);
        }
      }),
    );
    expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(perMinute);
    const inMinute = (from: number) => grants.filter((t) => t >= from && t < from + 60_000).length;
    // Long run: the refill, perMinute - 2 per minute (0.999 of the budget).
    expect(inMinute(60_000)).toBeGreaterThanOrEqual(perMinute - 3);
    // Never two back to back at this lateness: the bank is spent a little at a time.
    const gaps = grants.slice(1).map((t, i) => t - grants[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(10);
  });

  it('bank or not, late timers at random (up to 3 s) never put more than perMinute into any window', async () => {
    for (const perMinute of [300, 3_000]) {
      const { clock, now } = virtualClock();
      let seed = 7;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      const lateSleep = async (ms: number) => {
        await new Promise((resolve) => setImmediate(resolve));
        const r = random();
        clock.now += ms + (r < 0.02 ? random() * 3_000 : r < 0.5 ? random() * 30 : 0);
      };
      const budget = createLocalRateBudget({ perMinute, now, sleep: lateSleep });
      const grants: number[] = [];
      const end = clock.now + 240_000;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (clock.now < end) {
            await budget.take();
            grants.push(clock.now);
          }
        }),
      );
      expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(perMinute);
      // Any window of one slot holds at most two releases (the one due and the one banked).
      expect(maxInWindow(grants, 60_000 / perMinute)).toBeLessThanOrEqual(2);
    }
  });

  it('banks nothing while idle: after a pause in the traffic, one request leaves at once and the next a slot later', async () => {
    const { clock, now, sleep } = virtualClock(0);
    const budget = createLocalRateBudget({ perMinute: 600, now, sleep });
    await budget.take();
    clock.now += 5_000;
    const grants: number[] = [];
    await Promise.all(Array.from({ length: 3 }, () => budget.take().then(() => grants.push(clock.now))));
    expect(grants[0]).toBe(5_000);
    // 60 s / 598 = 100.3 ms: a slot, not back to back.
    expect(grants[1]! - grants[0]!).toBeGreaterThanOrEqual(100);
    expect(grants[2]! - grants[1]!).toBeGreaterThanOrEqual(100);
  });

  it('banks nothing across a penalty: after the Retry-After, one request and then a slot', async () => {
    const { clock, now, sleep } = virtualClock(0);
    const budget = createLocalRateBudget({ perMinute: 600, now, sleep });
    await budget.take();
    budget.penalize(3);
    const grants: number[] = [];
    await Promise.all(Array.from({ length: 2 }, () => budget.take().then(() => grants.push(clock.now))));
    expect(grants[0]).toBe(3_000);
    expect(grants[1]! - grants[0]!).toBeGreaterThanOrEqual(100);
  });

  it('penalize(seconds) holds every request back that long', async () => {
    const { clock, now, sleep } = virtualClock();
    const budget = createLocalRateBudget({ perMinute: 6000, now, sleep });
    await budget.take();
    const before = clock.now;
    budget.penalize(5);
    await budget.take();
    expect(clock.now - before).toBe(5_000);
  });

  it('refuses (RateLimitedError from the budget) instead of waiting longer than maxWaitSeconds, without using a slot', async () => {
    const { clock, now, sleep } = virtualClock();
    const budget = createLocalRateBudget({ perMinute: 6000, now, sleep });
    budget.penalize(40);
    const error = await budget.take({ maxWaitSeconds: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ source: 'budget', retryAfterSeconds: 40 });
    expect(clock.sleeps).toEqual([]);
    await budget.take({ maxWaitSeconds: 41 });
    expect(clock.sleeps).toEqual([40_000]);
  });

  it('slows down to what the server says is left, from either header family', async () => {
    for (const headers of [
      { 'ratelimit-remaining': '2', 'ratelimit-reset': '10' },
      { 'X-RateLimit-Remaining': '2', 'X-RateLimit-Reset': String(1_700_000_010) },
    ]) {
      const { clock, now, sleep } = virtualClock();
      const budget = createLocalRateBudget({ perMinute: 6000, now, sleep });
      await budget.take();
      budget.observe(headers);
      const start = clock.now;
      await budget.take();
      await budget.take();
      // Two left in 10 s: one every 5 s instead of one every 10 ms.
      expect(clock.now - start).toBeGreaterThanOrEqual(5_000);
    }
  });

  it('pauses until the reset when the server says none are left', async () => {
    const { clock, now, sleep } = virtualClock();
    const budget = createLocalRateBudget({ perMinute: 6000, now, sleep });
    budget.observe({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String((clock.now + 7_000) / 1000) });
    await budget.take();
    expect(clock.sleeps).toEqual([7_000]);
  });
});
