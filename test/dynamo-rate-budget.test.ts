import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoRateBudget, rateBucketKey } from '#producersync/dynamo-rate-budget';
import { RateLimitedError } from '#producersync/errors';
import type { RateBudget } from '#producersync/rate-budget';
import { eventClock, fakeBucketClient, maxInWindow } from './rate-budget-fixtures.ts';
import { createControlTable } from './sync-fixtures.ts';

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

describe('createDynamoRateBudget (DynamoDB Local)', () => {
  let dynamo: DynamoDBClient;
  let tableName: string;
  beforeAll(async () => {
    dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    tableName = await createControlTable(dynamo);
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
