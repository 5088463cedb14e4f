/**
 * Partition load of a sync (issue 14.3): real DynamoDB serves at most about 1,000 write units a second on
 * one partition key value (of the table or of an index), and DynamoDB Local has no such limit. This logs
 * the writes the engine really sends (an SDK middleware on its client) with the key values each one
 * touches, places them in time as if pages arrived at the API ceiling, and reports the most writes a second
 * on any one value of each key. The model test (test/partition-load.test.ts) and the benchmarks use it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** Records a second at the API ceiling: 300 requests a minute, 1,000 records a page. */
export const CEILING_RECORDS_PER_SECOND = (300 / 60) * 1_000;

/** One write to the table: when (records read before the page it belongs to) and the value of each key attribute. */
export interface KeyedWrite {
  at: number;
  keys: Record<string, string>;
}

/** The writes of a run, and how many records it read. */
export interface WriteLog {
  writes: KeyedWrite[];
  recordsRead: number;
}

/** Options of `logWrites`. */
export interface LogWritesOptions {
  /** The table whose writes are logged. */
  tableName: string;
  /** Attributes whose values are partition keys: the table's and each index's (an item without one is not in that index). */
  keyAttributes: readonly string[];
}

/**
 * Logs every PutItem and UpdateItem `client` sends to the table (what it writes, whether or not a condition
 * then refuses it: a refused write costs capacity too). Wrap the engine's page source with `countPages` so
 * each write is placed after the records read before it.
 */
export function logWrites(client: DynamoDBClient, { tableName, keyAttributes }: LogWritesOptions) {
  const log: WriteLog = { writes: [], recordsRead: 0 };
  let pageStart = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; Item?: Record<string, never>; Key?: Record<string, never> };
      if (input.TableName === tableName && (context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand')) {
        const item = unmarshall({ ...(input.Item ?? {}), ...(input.Key ?? {}) });
        const keys: Record<string, string> = {};
        for (const attribute of keyAttributes) if (typeof item[attribute] === 'string') keys[attribute] = item[attribute];
        log.writes.push({ at: pageStart, keys });
      }
      return next(args);
    },
    { step: 'initialize', name: 'partitionLoadLog' },
  );
  return {
    log,
    /** The page source, counting the records each page brings. */
    countPages<T extends { fetchPage(url: string): Promise<{ records: unknown[] }> }>(source: T): T {
      return new Proxy(source, {
        get(target, property, receiver) {
          if (property !== 'fetchPage') return Reflect.get(target, property, receiver) as unknown;
          return async (url: string) => {
            const page = await target.fetchPage(url);
            pageStart = log.recordsRead;
            log.recordsRead += page.records.length;
            return page;
          };
        },
      });
    },
  };
}

/** The busiest value of one key. */
export interface PeakLoad {
  value: string;
  writesPerSecond: number;
}

/** Options of `peakWritesPerSecond`. */
export interface PeakOptions {
  /** How fast records arrive. @default CEILING_RECORDS_PER_SECOND */
  recordsPerSecond?: number;
  /** The window writes are counted in. @default 1 */
  windowSeconds?: number;
}

/**
 * Per key attribute, the most writes in any window of `windowSeconds` on one value, as writes a second.
 * Writes are placed at `at / recordsPerSecond`: the engine's own order, at the ceiling's pace (pages of
 * one endpoint at a time take the whole budget, the worst case for an index keyed by record type).
 */
export function peakWritesPerSecond(log: WriteLog, { recordsPerSecond = CEILING_RECORDS_PER_SECOND, windowSeconds = 1 }: PeakOptions = {}): Record<string, PeakLoad> {
  // In records, not seconds: whole numbers, so a window boundary never depends on rounding.
  const windowRecords = recordsPerSecond * windowSeconds;
  const byKey = new Map<string, Map<string, number[]>>();
  for (const write of log.writes) {
    for (const [attribute, value] of Object.entries(write.keys)) {
      const values = byKey.get(attribute) ?? new Map<string, number[]>();
      byKey.set(attribute, values);
      const positions = values.get(value) ?? [];
      values.set(value, positions);
      positions.push(write.at);
    }
  }
  const peaks: Record<string, PeakLoad> = {};
  for (const [attribute, values] of byKey) {
    let best: PeakLoad = { value: '', writesPerSecond: 0 };
    for (const [value, positions] of values) {
      positions.sort((a, b) => a - b);
      // Two pointers: the most writes placed within any [p, p + window).
      let start = 0;
      for (let end = 0; end < positions.length; end++) {
        while (positions[end]! - positions[start]! >= windowRecords) start++;
        const rate = (end - start + 1) / windowSeconds;
        if (rate > best.writesPerSecond) best = { value, writesPerSecond: rate };
      }
    }
    peaks[attribute] = best;
  }
  return peaks;
}
