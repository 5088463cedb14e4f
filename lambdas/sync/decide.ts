/**
 * The write rule (docs/SYNC.md): what applying an incoming version of a record to the stored one
 * does. Pure and written once: the record store classifies every write with it (before writing, after
 * a lost race, between two copies on one page), and its DynamoDB ConditionExpression is this rule
 * in DynamoDB's words.
 */

/** What the write rule looks at in a record version: its date, its content and its soft delete. */
export interface Version {
  /** `yyyy-MM-dd` (or the missing-date sentinel `0000-00-00`, which sorts first). */
  updatedAt: string;
  contentHash: string;
  deleted: boolean;
  /** The stored item carries a reconcile's `missingFromSource` mark (the API did not return it). */
  missing?: boolean;
  /** The stored item was written before the change index existed (no `typeShard`/`changedAt`). */
  unindexed?: boolean;
}

/**
 * - `inserted`, `modified`, `deleted`: the incoming version is written (`deleted`: it becomes, or is
 *   first seen, soft-deleted);
 * - `unchanged`: same date and content as stored, nothing to write;
 * - `stale`: the stored version is newer, nothing to write.
 */
export type Decision = 'inserted' | 'modified' | 'deleted' | 'unchanged' | 'stale';

/**
 * Write iff the key is new, the incoming date is newer, or the date is the same and the content differs.
 * The same version is written again only to clear what the stored item must not keep: a reconcile's
 * `missingFromSource` mark (the API returns the record again) or a missing index entry (items written
 * before `typeShard`/`changedAt` existed); both are real changes of the item, never repeated.
 */
export function decide(incoming: Version, stored: Version | undefined): Decision {
  if (stored) {
    if (stored.updatedAt > incoming.updatedAt) return 'stale';
    if (stored.updatedAt === incoming.updatedAt && stored.contentHash === incoming.contentHash && !stored.missing && !stored.unindexed) return 'unchanged';
  }
  if (incoming.deleted && !stored?.deleted) return 'deleted';
  return stored ? 'modified' : 'inserted';
}

/** True for the decisions that write the incoming version. */
export const isWrite = (decision: Decision): boolean => decision === 'inserted' || decision === 'modified' || decision === 'deleted';
