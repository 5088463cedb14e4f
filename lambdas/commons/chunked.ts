/** Splitting a list into fixed-size chunks (DynamoDB batch limits, per-execution NPN caps). */

/** `items` in consecutive chunks of at most `size` (the last may be shorter). */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
