import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createProducerSyncClient } from '#producersync/client';
import { RateLimitedError } from '#producersync/errors';
import { createDynamoRateBudget, createLocalRateBudget, rateBucketKey, readServerRateState, type RateBudget } from '#producersync/rate-budget';
import { startSimulator, type Simulator } from '#sim/server';

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
    // Even pacing: every gap is one interval (60 s / 299), not bursts followed by idles.
    const gaps = grants.slice(1).map((t, i) => t - grants[i]!);
    expect(Math.min(...gaps)).toBeGreaterThan(200);
    expect(Math.max(...gaps)).toBeLessThan(202);
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
    const client = createProducerSyncClient({
      credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
      rateBudget: createLocalRateBudget({ perMinute }),
    });
    let remaining = 70;
    const worker = async () => {
      while (remaining-- > 0) await client.getJson('/v2/entities', { size: 1 });
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const times = sim.requests.filter((r) => r.kind === 'api').map((r) => r.at);
    expect(times).toHaveLength(70);
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
    // One second is a sixtieth of the minute: 20 requests, plus one for arrival jitter (at the 60 s
    // scale that is the one request per minute the pacer keeps spare).
    expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(perMinute / 60 + 1);
    expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(perMinute);
    // ...and the pace is close to the budget, not far below it.
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual(69 * (60_000 / (perMinute - 1)) - 50);
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
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
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
