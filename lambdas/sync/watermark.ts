/**
 * The watermark (docs/SYNC.md "The watermark"): control-table item `STATE#sync` / `WATERMARK`, the
 * AgentSync data date through which the copy is known complete, with the day-0 and fallback
 * bookkeeping around it. The rules on dates (`newestDate`, the age, "an initial load in flight"), the
 * store interface and its DynamoDB adapter. The watermark only ever moves forward.
 */
import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { isCalendarDate } from '#commons/calendar-date';

/** One run, as the watermark item remembers it. */
export interface RunMark {
  runId: string;
  /** ISO time. */
  startedAt: string;
}

/** The watermark item. Every field is absent on a fresh deployment. */
export interface WatermarkState {
  /** `yyyy-MM-dd`: the AgentSync data date through which the copy is complete. */
  watermark?: string;
  /** ISO wall time the watermark last advanced (the freshness age counts from it). */
  advancedAt?: string;
  /** The run that advanced it. */
  advancedBy?: string;
  /** ISO time of the first scheduled freshness check: the age base before any watermark. Written once. */
  firstSeenAt?: string;
  /** The day-0 full pull: one at a time. */
  initialLoad?: RunMark & { finishedAt?: string };
  /** The last catch-up the freshness check started. */
  catchUp?: RunMark;
}

/** An initial load that has not finished is in flight for at most this long (the executions' timeout). */
export const INITIAL_LOAD_IN_FLIGHT_MS = 24 * 3600 * 1000;

/** Where the watermark is kept. */
export interface WatermarkStore {
  load(): Promise<WatermarkState>;
  /** Moves the watermark to `date` if it is absent or older (never backwards); true when it moved. */
  advance(date: string, by: { runId: string; at: string }): Promise<boolean>;
  /** Writes `firstSeenAt` unless it is set; returns the stored value. */
  noteFirstSeen(at: string): Promise<string>;
  /**
   * Records `run` as the initial load unless another one is in flight (unfinished and started within
   * INITIAL_LOAD_IN_FLIGHT_MS of `nowMs`); the same run may claim again (a retried Prepare).
   */
  claimInitialLoad(run: RunMark, nowMs: number): Promise<{ claimed: true } | { claimed: false; inFlight: string }>;
  /** Marks the initial load `runId` finished (a new one may start if there is still no watermark). */
  finishInitialLoad(runId: string, at: string): Promise<void>;
  /** Remembers the catch-up the freshness check started. */
  noteCatchUp(run: RunMark): Promise<void>;
}

/** Options of `createDynamoWatermarkStore`. */
export interface DynamoWatermarkStoreOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
}

const KEY = marshall({ pk: 'STATE#sync', sk: 'WATERMARK' });

/** The watermark store on the DynamoDB control table. */
export function createDynamoWatermarkStore({ client, tableName }: DynamoWatermarkStoreOptions): WatermarkStore {
  const load = async (): Promise<WatermarkState> => {
    const out = await client.send(new GetItemCommand({ TableName: tableName, Key: KEY, ConsistentRead: true }));
    if (!out.Item) return {};
    const { pk: _pk, sk: _sk, ...state } = unmarshall(out.Item);
    return state as WatermarkState;
  };
  const conditional = async (command: UpdateItemCommand): Promise<boolean> => {
    try {
      await client.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  return {
    load,

    async advance(date, by) {
      if (!isCalendarDate(date)) throw new Error(`watermark must be a yyyy-MM-dd date, got ${JSON.stringify(date)}`);
      return conditional(
        new UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: 'SET #w = :d, advancedAt = :at, advancedBy = :by',
          ConditionExpression: 'attribute_not_exists(#w) OR #w < :d',
          ExpressionAttributeNames: { '#w': 'watermark' },
          ExpressionAttributeValues: marshall({ ':d': date, ':at': by.at, ':by': by.runId }),
        }),
      );
    },

    async noteFirstSeen(at) {
      const out = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: 'SET firstSeenAt = if_not_exists(firstSeenAt, :at)',
          ExpressionAttributeValues: marshall({ ':at': at }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return (out.Attributes ? unmarshall(out.Attributes).firstSeenAt : at) as string;
    },

    async claimInitialLoad(run, nowMs) {
      const claimed = await conditional(
        new UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: 'SET initialLoad = :run',
          ConditionExpression:
            'attribute_not_exists(initialLoad) OR initialLoad.runId = :runId OR attribute_exists(initialLoad.finishedAt) OR initialLoad.startedAt < :staleBefore',
          ExpressionAttributeValues: marshall({
            ':run': run,
            ':runId': run.runId,
            ':staleBefore': new Date(nowMs - INITIAL_LOAD_IN_FLIGHT_MS).toISOString(),
          }),
        }),
      );
      if (claimed) return { claimed: true };
      return { claimed: false, inFlight: (await load()).initialLoad?.runId ?? 'another run' };
    },

    async finishInitialLoad(runId, at) {
      await conditional(
        new UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: 'SET initialLoad.finishedAt = :at',
          ConditionExpression: 'initialLoad.runId = :runId',
          ExpressionAttributeValues: marshall({ ':at': at, ':runId': runId }),
        }),
      );
    },

    async noteCatchUp(run) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: 'SET catchUp = :run',
          ExpressionAttributeValues: marshall({ ':run': run }),
        }),
      );
    },
  };
}

/** Hours since the watermark last advanced, or since the first freshness check before any watermark; undefined before both. */
export function watermarkAgeHours(state: WatermarkState, nowMs: number): number | undefined {
  const base = state.advancedAt ?? state.firstSeenAt;
  if (base === undefined) return undefined;
  return Math.max(0, (nowMs - Date.parse(base)) / 3_600_000);
}

/** The initial load that is running now (unfinished, started within INITIAL_LOAD_IN_FLIGHT_MS), if any. */
export function initialLoadInFlight(state: WatermarkState, nowMs: number): RunMark | undefined {
  const load = state.initialLoad;
  if (!load || load.finishedAt !== undefined) return undefined;
  return nowMs - Date.parse(load.startedAt) < INITIAL_LOAD_IN_FLIGHT_MS ? load : undefined;
}

/**
 * The newest `updatedAt` among `records` (the "newest updatedAt read" a full pull advances the
 * watermark to), ignoring records without a real date (the missing-date placeholder) and dates after
 * `ceiling`: one source record dated in the future must not carry the watermark past days not yet synced.
 */
export function newestDate(records: readonly unknown[], ceiling: string, newest?: string): string | undefined {
  let best = newest;
  for (const record of records) {
    const updatedAt = (record as { updatedAt?: unknown } | null)?.updatedAt;
    if (!isCalendarDate(updatedAt) || updatedAt > ceiling) continue;
    if (best === undefined || updatedAt > best) best = updatedAt;
  }
  return best;
}

/** The later of two optional dates. */
export const laterDate = (a: string | undefined, b: string | undefined): string | undefined => (a === undefined ? b : b === undefined || a > b ? a : b);
