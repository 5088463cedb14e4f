import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted at every depth, arrays in their order. Two records that
 * differ only in key order hash the same, so a reordered API response is not a change.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** sha256 hex of the canonical JSON of a record: the `contentHash` of a data item. */
export function contentHash(record: unknown): string {
  return sha256Hex(canonicalJson(record));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
