/**
 * Which of a backfill's listed NPNs returned records (docs/ARCHITECTURE.md, "Pending activations"):
 * sync-pages notes them on each endpoint's checkpoint (`npnsWithRecords`), and Finalize unites the
 * endpoints' notes and takes those NPNs out of the run's pending activation group, so the hourly
 * retry knows whose data arrived without reading anything per NPN. Only a run given an `npns` list
 * (at most MAX_BACKFILL_NPNS) notes anything; incremental runs and full backfills carry no list.
 */
import type { Checkpoint } from '#sync/checkpoint';
import type { SyncPagesEvent } from '#sync/events';

/** The checkpoint with the page's records' NPNs added to its note, for a run of listed NPNs. */
export function withNpnsFound(checkpoint: Checkpoint, event: Pick<SyncPagesEvent, 'npns'>, records: readonly unknown[]): Checkpoint {
  if (event.npns === null || records.length === 0) return checkpoint;
  const listed = new Set(event.npns);
  const found = new Set(checkpoint.npnsWithRecords ?? []);
  for (const record of records) {
    const npn = (record as { npn?: unknown } | null)?.npn;
    if ((typeof npn === 'string' || typeof npn === 'number') && listed.has(String(npn))) found.add(String(npn));
  }
  return found.size === (checkpoint.npnsWithRecords?.length ?? 0) ? checkpoint : { ...checkpoint, npnsWithRecords: [...found].sort() };
}

/** Every NPN any endpoint of the run found records for. */
export function npnsFound(checkpoints: readonly (Checkpoint | undefined)[]): string[] {
  return [...new Set(checkpoints.flatMap((checkpoint) => checkpoint?.npnsWithRecords ?? []))].sort();
}
