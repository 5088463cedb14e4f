import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** One stored source record as exported by `sync --out` (one JSON line each). */
export interface ExportLine {
  type: string;
  npn: string;
  id: number;
  deleted: boolean;
  record: Record<string, unknown>;
}

/**
 * DynamoDB Local serves a single-segment Scan of 1 MB pages slowly (20-70 s for 34k records on 2 cores);
 * 16 segments of 500-item pages read the same table in 2-8 s (measured against 4 and 8 segments too).
 */
const SCAN_SEGMENTS = 16;
const SCAN_PAGE_ITEMS = 500;

/** Every item of a table, unmarshalled, in no particular order (a segmented Scan, see SCAN_SEGMENTS). */
export async function scanItems(dynamo: DynamoDBClient, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const scanSegment = async (segment: number): Promise<void> => {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({ TableName: tableName, Segment: segment, TotalSegments: SCAN_SEGMENTS, Limit: SCAN_PAGE_ITEMS, ExclusiveStartKey: startKey }),
      );
      for (const raw of page.Items ?? []) items.push(unmarshall(raw));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  };
  await Promise.all(Array.from({ length: SCAN_SEGMENTS }, (_, segment) => scanSegment(segment)));
  return items;
}

/** Every source record in the data table (NPN status items and other non-record items are left out), sorted by type, NPN, id. */
export async function readSyncedRecords(dynamo: DynamoDBClient, tableName: string): Promise<ExportLine[]> {
  const lines: ExportLine[] = [];
  for (const item of await scanItems(dynamo, tableName)) {
    if (!item.record || item.recordType === 'npnStatus') continue;
    lines.push({ type: item.recordType as string, npn: item.npn as string, id: item.id as number, deleted: item.deleted === true, record: item.record as Record<string, unknown> });
  }
  return lines.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.npn < b.npn ? -1 : a.npn > b.npn ? 1 : a.id - b.id));
}

export async function writeJsonLines(path: string, lines: ExportLine[]): Promise<void> {
  const out = createWriteStream(path);
  for (const line of lines) {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The line `sync --out` should write for a record the API serves (npn and deleted flag read from the record itself). */
export function expectedLine(type: string, record: Record<string, unknown>): ExportLine {
  return { type, npn: String(record.npn), id: record.id as number, deleted: record.niprDeleted === true, record };
}

export interface Comparison {
  compared: number;
  missing: string[];
  extra: string[];
  mismatched: string[];
}

/** Compares synced lines with the records the API serves now (per endpoint), whole line by whole line, keyed by type and id. */
export function compareWithTruth(synced: ExportLine[], truth: Record<string, Record<string, unknown>[]>): Comparison {
  const result: Comparison = { compared: 0, missing: [], extra: [], mismatched: [] };
  const stored = new Map(synced.map((line) => [`${line.type}#${line.id}`, line]));
  for (const [type, records] of Object.entries(truth)) {
    for (const record of records) {
      const key = `${type}#${String(record.id)}`;
      const mine = stored.get(key);
      result.compared += 1;
      if (!mine) result.missing.push(key);
      else if (!isDeepStrictEqual(mine, expectedLine(type, record))) result.mismatched.push(key);
      stored.delete(key);
    }
  }
  result.extra.push(...stored.keys());
  return result;
}

export const isExactMatch = (c: Comparison): boolean => c.missing.length + c.extra.length + c.mismatched.length === 0;

/** One line for a log: the counts and the first few keys of each kind of difference. */
export function describeComparison(c: Comparison): string {
  const sample = (keys: string[]): string => (keys.length ? ` (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''})` : '');
  return `${c.compared} records compared: ${c.missing.length} missing${sample(c.missing)}, ${c.extra.length} extra${sample(c.extra)}, ${c.mismatched.length} different${sample(c.mismatched)}`;
}
