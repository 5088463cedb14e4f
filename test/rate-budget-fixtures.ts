/** Clocks and a counting helper shared by the rate budget tests (pacer, in-process and DynamoDB budgets). */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Largest number of timestamps inside any window [t, t + windowMs). */
export function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** A virtual clock: sleeping moves time forward instantly. */
export function virtualClock(start = 1_700_000_000_000) {
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

/**
 * A discrete-event clock for several concurrent sleepers (the containers of the shared budget):
 * `sleep` registers a timer, and `run` fires the earliest one whenever everything else is blocked.
 */
export function eventClock(start = 0) {
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
export function fakeBucketClient(sleep: (ms: number) => Promise<void>, rttMs: number) {
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
