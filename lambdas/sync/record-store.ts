/**
 * The record store contract: applying one page of source records to the data table with
 * change-only writes, and what it counts. The DynamoDB adapter is `dynamo-record-store.ts`.
 */
import type { EndpointName } from '#producersync/endpoints';

/** One data-table item per source record (docs/ARCHITECTURE.md, "Data table"). */
export interface DataItem {
  pk: string;
  sk: string;
  recordType: EndpointName;
  npn: string;
  id: number;
  updatedAt: string;
  deleted: boolean;
  contentHash: string;
  /** `<recordType>#<nn>`: the partition key of the change index (#sync/change-index). */
  typeShard: string;
  /** ISO time of the write: set by the record store when (and only when) the item really changes. */
  changedAt?: string;
  /** The source record exactly as received. */
  record: Record<string, unknown>;
}

/** The mark a reconcile sets on an item the API no longer returns (soft: the item is kept). */
export interface MissingFromSource {
  reason: 'notReturnedBySource';
  /** ISO time the reconcile marked it. */
  since: string;
  /** The reconcile run that found it missing. */
  runId: string;
}

/**
 * What one page did to the data table. Every record of a page lands in exactly one bucket, so
 * inserted + modified + unchanged + deleted + stale + quarantined = records on the page.
 */
export interface PageOutcome {
  inserted: number;
  modified: number;
  unchanged: number;
  /** Newly soft-deleted (niprDeleted became true) or first seen already deleted. */
  deleted: number;
  /** Older than the stored version (or superseded by a newer copy on the same page): not written. */
  stale: number;
  quarantined: number;
}

/** Where the sync writes records. */
export interface RecordStore {
  /** Validates and applies one page of source records with change-only conditional writes. Idempotent. */
  applyPage(endpoint: EndpointName, records: readonly unknown[]): Promise<PageOutcome>;
}

/** A page outcome with every count at zero. */
export const emptyOutcome = (): PageOutcome => ({ inserted: 0, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 0 });

/** The data-table key of a record: `NPN#<npn>` / `<recordType>#<id>`. */
export const dataKey = (npn: string, recordType: EndpointName, id: number): { pk: string; sk: string } => ({
  pk: `NPN#${npn}`,
  sk: `${recordType}#${id}`,
});
