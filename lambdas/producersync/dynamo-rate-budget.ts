/**
 * The rate budget shared by every concurrent Lambda: a token bucket in the control table item
 * `RATE#<name>` / `BUCKET` {tokens, updatedAtMs}, updated with optimistic conditional writes. Each
 * caller leases a few tokens per write and paces them locally. The bucket holds at most `capacity`
 * (one lease) tokens and refills at `perMinute - 2·capacity` per minute, so the leases plus the
 * delay in spending them stay within `perMinute` in any 60 s window. Leased tokens a Lambda does
 * not spend are lost, which only errs on the slow side.
 */
import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Pacer, RATE_WINDOW_MS } from '#producersync/pacer';
import { readServerRateState, refuseLongWait, type Clock, type RateBudget, type TakeOptions } from '#producersync/rate-budget';
import { sleep as defaultSleep } from '#producersync/retry';

/** Options of `createDynamoRateBudget`. */
export interface DynamoRateBudgetOptions extends Clock {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
  /** Bucket name: the item is `pk = RATE#<name>, sk = BUCKET`. */
  name: string;
  perMinute: number;
  /** Tokens taken from the shared bucket per DynamoDB write (default 5). */
  leaseSize?: number;
}

/** The control-table key of a rate bucket. */
export const rateBucketKey = (name: string): { pk: { S: string }; sk: { S: string } } => ({ pk: { S: `RATE#${name}` }, sk: { S: 'BUCKET' } });

/** A DynamoDB number without exponent notation. */
const decimal = (value: number): string => value.toFixed(6);

/** The rate budget on a DynamoDB bucket shared by every Lambda. */
export function createDynamoRateBudget(options: DynamoRateBudgetOptions): RateBudget {
  const { client, tableName } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const key = rateBucketKey(options.name);
  const capacity = Math.max(1, Math.min(options.leaseSize ?? 5, Math.floor(options.perMinute / 10) || 1));
  const refillPerMs = Math.max(1, options.perMinute - 2 * capacity) / RATE_WINDOW_MS;
  const pacer = new Pacer(options.perMinute, 1, now, sleep);
  let leased = 0;
  let queue: Promise<unknown> = Promise.resolve();

  /** Tokens in the bucket now, from the stored level and the time since it was written. */
  const level = (stored: { tokens: number; updatedAtMs: number } | undefined, at: number): number =>
    stored ? Math.min(capacity, stored.tokens + Math.max(0, at - stored.updatedAtMs) * refillPerMs) : capacity;

  /** The stored level, with the raw attribute values for the optimistic condition. */
  async function readBucket(): Promise<{ tokens: number; updatedAtMs: number; raw: { tokens: string; updatedAtMs: string } } | undefined> {
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
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
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
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
    void client
      .send(
        new UpdateItemCommand({
          TableName: tableName,
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
      pacer.limitTo(state.remaining, state.resetAtMs);
      if (state.remaining === 0) penalize((state.resetAtMs - at) / 1000);
    },
    penalize,
  };
}
