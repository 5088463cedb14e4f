/**
 * The data table's index of changes, `byTypeChangedAt` (docs/STREAM-CONTRACT.md "The change index"):
 * partition `typeShard` = `<recordType>#<nn>`, sort `changedAt`. It serves exactly two queries, "every
 * item of type T" (the reconcile sweep; Prepare's list of NPNs with a status item, for partitions) and
 * "everything of type T changed since T0" (a consumer's recovery), each as one Query per shard. The shard spreads one type's writes over TYPE_SHARDS
 * partition key values, so a backfill at the API ceiling stays far below DynamoDB's 1,000 writes a
 * second per key value (test/partition-load.test.ts).
 */
import { sha256Hex } from '#commons/sha256';

/** The index name. */
export const CHANGE_INDEX_NAME = 'byTypeChangedAt';

/**
 * Shards per record type. At the API ceiling (300 pages of 1,000 records a minute) one type can take
 * every write, 5,000 a second: 16 shards hold each key value near 310 a second, a third of the limit.
 */
export const TYPE_SHARDS = 16;

/** Attributes the index projects beside the keys: what the sweep decides on and a listing shows, nothing large. */
export const CHANGE_INDEX_ATTRIBUTES = ['deleted', 'missingFromSource', 'status'] as const;

/** `nn` of a shard: two digits, so the values of one type sort together. */
const shardSuffix = (shard: number): string => String(shard).padStart(2, '0');

/**
 * The shard of an item: from a hash of its whole key (not of the NPN alone), so one producer with
 * thousands of records of a type still spreads over every shard.
 */
export function shardOf(pk: string, sk: string): number {
  return Number.parseInt(sha256Hex(`${pk}\u0000${sk}`).slice(0, 8), 16) % TYPE_SHARDS;
}

/** The `typeShard` attribute of an item: `<recordType>#<nn>`. */
export function typeShardOf(recordType: string, pk: string, sk: string): string {
  return `${recordType}#${shardSuffix(shardOf(pk, sk))}`;
}

/** The `typeShard` value of one shard of a type (what a Query asks for). */
export const typeShardValue = (recordType: string, shard: number): string => `${recordType}#${shardSuffix(shard)}`;

/** Every `typeShard` value of a type, in shard order. */
export const typeShardValues = (recordType: string): string[] => Array.from({ length: TYPE_SHARDS }, (_, shard) => typeShardValue(recordType, shard));
