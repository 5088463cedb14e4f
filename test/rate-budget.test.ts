import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createProducerSyncClient } from '#producersync/client';
import { RateLimitedError } from '#producersync/errors';
import { createDynamoRateBudget, createLocalRateBudget, rateBucketKey, readServerRateState, type RateBudget } from '#producersync/rate-budget';
import { startSimulator, type Simulator } from '#sim/server';
import { createTablesFromTemplates } from '#local/provision';
import { appTemplates } from '#local/synth';

/** Largest number of timestamps inside any window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** A virtual clock: sleeping moves time forward instantly. */
function virtualClock(start = 1_700_000_000_000) {
  const clock = { now: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      // Let everything already resolved run first (it happened before this sleep ends).
      await new Promise((resolve) => setImmediate(resolve));
      clock.now += ms;
    },
  };
}

describe('createLocalRateBudget (virtual clock)', () => {
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

/**
 * A discrete-event clock for several concurrent sleepers (the containers of the shared budget):
 * `sleep` registers a timer, and `run` fires the earliest one whenever everything else is blocked.
 */
function eventClock(start = 0) {
  let now = start;
  const timers: Array<{ at: number; resolve: () => void }> = [];
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((resolve) => timers.push({ at: now + Math.max(0, ms), resolve })),
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const result = work.finally(() => (done = true));
      while (!done) {
        await settle();
        if (done) break;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (!next) throw new Error('deadlock: nothing to wait for');
        now = Math.max(now, next.at);
        next.resolve();
      }
      return result;
    },
  };
}

/** The rate bucket item in memory, behind a DynamoDB client whose every call takes `rttMs` (applied halfway). */
function fakeBucketClient(sleep: (ms: number) => Promise<void>, rttMs: number) {
  const items = new Map<string, Record<string, { S?: string; N?: string }>>();
  const send = async (command: { input: Record<string, any>; constructor: { name: string } }) => {
    await sleep(rttMs / 2);
    const { input } = command;
    const id = JSON.stringify(input.Key);
    let out: unknown = {};
    if (command.constructor.name === 'GetItemCommand') out = { Item: items.get(id) };
    else {
      const item = items.get(id);
      const values = input.ExpressionAttributeValues as Record<string, { N: string }>;
      const condition = input.ConditionExpression as string | undefined;
      const ok =
        condition === undefined ||
        (condition.startsWith('attribute_not_exists') ? !item : item?.tokens?.N === values[':prevTokens']?.N && item?.updatedAtMs?.N === values[':prevAt']?.N);
      if (!ok) {
        await sleep(rttMs / 2);
        throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
      }
      items.set(id, { ...input.Key, tokens: { N: (values[':tokens'] ?? values[':debt'])!.N }, updatedAtMs: values[':at']! });
    }
    await sleep(rttMs / 2);
    return out;
  };
  return { send } as unknown as DynamoDBClient;
}

describe('createDynamoRateBudget (event clock, DynamoDB in memory)', () => {
  it('one container at 3,000/min with timers 2 ms late and 6 ms round trips reaches the shared bucket\'s rate', async () => {
    const perMinute = 3_000;
    const clock = eventClock();
    const lateSleep = (ms: number) => clock.sleep(ms + 2);
    const budget = createDynamoRateBudget({ tableName: 't', name: 'one', perMinute, client: fakeBucketClient(clock.sleep, 6), now: clock.now, sleep: lateSleep });
    const grants: number[] = [];
    await clock.run(
      Promise.all(
        Array.from({ length: 4 }, async () => {
          while (clock.now() < 180_000) {
            await budget.take();
            grants.push(clock.now());
          }
        }),
      ),
    );
    expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(perMinute);
    const secondMinute = grants.filter((t) => t >= 60_000 && t < 120_000).length;
    // The bucket refills perMinute - 2 x lease = 2,990/min: the best possible is 0.997. Without
    // the pacer's bank this setup gave 0.87.
    expect(secondMinute / perMinute).toBeGreaterThanOrEqual(0.99);
  });

  it('banks nothing across a penalty: after the Retry-After, one request and then a slot', async () => {
    // Timers 150 ms late: the wait for the indebted bucket overshoots, so the lease after the
    // pause brings 2 tokens, and the pacer has refilled through the pause. Still one at a time.
    const clock = eventClock();
    const lateSleep = (ms: number) => clock.sleep(ms + 150);
    const budget = createDynamoRateBudget({ tableName: 't', name: 'penalty', perMinute: 600, client: fakeBucketClient(clock.sleep, 2), now: clock.now, sleep: lateSleep });
    const grants: number[] = [];
    await clock.run(
      (async () => {
        await budget.take();
        budget.penalize(3);
        await Promise.all(Array.from({ length: 2 }, () => budget.take().then(() => grants.push(clock.now()))));
      })(),
    );
    expect(grants[0]).toBeGreaterThanOrEqual(3_000);
    // A slot: 60 s / 598 = 100.3 ms in the pacer (60 s / 590 = 101.7 ms in the shared bucket).
    expect(grants[1]! - grants[0]!).toBeGreaterThanOrEqual(100);
  });

  it('three containers with late timers and slow round trips never put more than perMinute into any 60 s window', async () => {
    for (const perMinute of [300, 3_000]) {
      const clock = eventClock();
      let seed = 11;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      const lateSleep = (ms: number) => {
        const r = random();
        return clock.sleep(ms + (r < 0.02 ? random() * 3_000 : r < 0.5 ? random() * 30 : 0));
      };
      const client = fakeBucketClient(clock.sleep, 15);
      const budgets = Array.from({ length: 3 }, () => createDynamoRateBudget({ tableName: 't', name: 'shared', perMinute, client, now: clock.now, sleep: lateSleep }));
      const grants: number[] = [];
      await clock.run(
        Promise.all(
          budgets.flatMap((budget) =>
            Array.from({ length: 2 }, async () => {
              while (clock.now() < 240_000) {
                await budget.take();
                grants.push(clock.now());
              }
            }),
          ),
        ),
      );
      expect(maxInWindow(grants, 60_000)).toBeLessThanOrEqual(perMinute);
      expect(grants.length).toBeGreaterThan((perMinute * 4) / 2);
    }
  });
});

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

describe('createDynamoRateBudget (DynamoDB Local)', () => {
  let dynamo: DynamoDBClient;
  const tableName = `rate-budget-${process.pid}-${Date.now()}`;
  beforeAll(async () => {
    dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    await createTablesFromTemplates(await appTemplates(), { ControlTable: tableName }, { dynamo });
  });

  it('three Lambdas sharing one bucket get the budget once between them, not three times', async () => {
    const perMinute = 1_200;
    const budgets: RateBudget[] = Array.from({ length: 3 }, () => createDynamoRateBudget({ tableName, name: 'shared-test', perMinute, leaseSize: 5, client: dynamo }));
    const grants: number[] = [];
    const started = Date.now();
    const runFor = 3_000;
    await Promise.all(
      budgets.map(async (budget) => {
        while (Date.now() - started < runFor) {
          await budget.take();
          grants.push(Date.now());
        }
      }),
    );
    const elapsedSeconds = (Math.max(...grants) - started) / 1000;
    // Bucket: 5 tokens up front, refilled at (1200 - 10)/min. Each Lambda alone would get ~20/s.
    const ceiling = 5 + ((perMinute - 10) / 60) * elapsedSeconds + 1;
    expect(grants.length).toBeLessThanOrEqual(Math.ceil(ceiling));
    expect(grants.length).toBeGreaterThanOrEqual(25);
    expect(maxInWindow(grants, 1_000)).toBeLessThanOrEqual(perMinute / 60 + 10);

    const { Item } = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: rateBucketKey('shared-test'), ConsistentRead: true }));
    expect(Number(Item?.tokens?.N)).toBeGreaterThanOrEqual(0);
    expect(Number(Item?.updatedAtMs?.N)).toBeGreaterThan(started);
  });

  it('penalize() puts the shared bucket in debt, so another Lambda refuses to wait that long', async () => {
    const a = createDynamoRateBudget({ tableName, name: 'penalty-test', perMinute: 600, client: dynamo });
    const b = createDynamoRateBudget({ tableName, name: 'penalty-test', perMinute: 600, client: dynamo });
    await a.take();
    a.penalize(20);
    // The debt write is fire-and-forget; wait until it is visible.
    for (let i = 0; i < 50; i++) {
      const { Item } = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: rateBucketKey('penalty-test'), ConsistentRead: true }));
      if (Number(Item?.tokens?.N) < 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const error = await b.take({ maxWaitSeconds: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThanOrEqual(15);
  });
});
