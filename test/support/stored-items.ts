/** Data-table items (unmarshalled, as the read side gets them) of one producer, for the read module's tests. */
import type { StoredItem } from '#read/producer-view';

/** A factory of `npn`'s items: `item('licenses', 10, {forState: 'TX', ...})`; `niprDeleted: true` in the record sets `deleted`. */
export function itemsOf(npn: string): {
  item: (recordType: string, id: number, record: Record<string, unknown>, extra?: Partial<StoredItem>) => StoredItem;
  status: (status: 'ACTIVE' | 'DEACTIVATED', statusDate: string) => StoredItem;
} {
  return {
    item: (recordType, id, record, extra = {}) => ({
      pk: `NPN#${npn}`,
      sk: `${recordType}#${id}`,
      recordType,
      npn,
      id,
      updatedAt: String(record.updatedAt ?? '2025-01-01'),
      deleted: record.niprDeleted === true,
      contentHash: 'h'.repeat(64),
      record: { id, npn, niprDeleted: false, ...record },
      ...extra,
    }),
    status: (status, statusDate) => ({ pk: `NPN#${npn}`, sk: 'STATUS', recordType: 'npnStatus', npn, status, statusDate }),
  };
}
