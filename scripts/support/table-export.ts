import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** One stored source record as exported by `sync --out` (one JSON line each). */
export interface ExportLine {
  type: string;
  npn: string;
  id: number;
  deleted: boolean;
  record: Record<string, unknown>;
}

/** Every source record in the data table (NPN status items and other non-record items are left out). */
export async function readSyncedRecords(dynamo: DynamoDBClient, tableName: string): Promise<ExportLine[]> {
  const lines: ExportLine[] = [];
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    for (const raw of page.Items ?? []) {
      const item = unmarshall(raw);
      if (!item.record || item.recordType === 'npnStatus') continue;
      lines.push({ type: item.recordType, npn: item.npn, id: item.id, deleted: item.deleted === true, record: item.record });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return lines.sort((a, b) => a.type.localeCompare(b.type) || a.npn.localeCompare(b.npn) || a.id - b.id);
}

export async function writeJsonLines(path: string, lines: ExportLine[]): Promise<void> {
  const out = createWriteStream(path);
  for (const line of lines) {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export interface Comparison {
  compared: number;
  missing: string[];
  extra: string[];
  mismatched: string[];
}

/** Compares synced records with the records the API serves now, per record type, by id. */
export function compareWithTruth(synced: ExportLine[], truth: Record<string, Record<string, unknown>[]>): Comparison {
  const result: Comparison = { compared: 0, missing: [], extra: [], mismatched: [] };
  for (const [type, records] of Object.entries(truth)) {
    const stored = new Map(synced.filter((l) => l.type === type).map((l) => [String(l.id), l.record]));
    for (const record of records) {
      const key = String(record.id);
      const mine = stored.get(key);
      result.compared += 1;
      if (!mine) result.missing.push(`${type}#${key}`);
      else if (!isDeepStrictEqual(mine, record)) result.mismatched.push(`${type}#${key}`);
      stored.delete(key);
    }
    result.extra.push(...[...stored.keys()].map((k) => `${type}#${k}`));
  }
  return result;
}

export const isExactMatch = (c: Comparison): boolean => c.missing.length + c.extra.length + c.mismatched.length === 0;
