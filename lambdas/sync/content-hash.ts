/**
 * The content hash of a source record: sha256 of its canonical JSON. Two records that differ only
 * in key order hash the same, so a reordered API response is not a change. The hash of every
 * record already stored must never change (a new hash re-emits the item as a MODIFY), so the
 * canonical form is pinned by test/content-hash.test.ts.
 */
import { sha256Hex } from '#commons/sha256';

/** Canonical JSON: object keys sorted at every depth, arrays in their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  // No prototype: an own `__proto__` key (JSON.parse makes one) is then a plain property, not
  // the prototype setter, so it stays in the hash. Key order and output are otherwise unchanged.
  const sorted: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** sha256 hex of the canonical JSON of a record: the `contentHash` of a data item. */
export function contentHash(record: unknown): string {
  return sha256Hex(canonicalJson(record));
}
