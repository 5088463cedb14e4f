import { describe, expect, it } from 'vitest';
import { decide, isWrite, type Version } from '#sync/decide';

const v = (updatedAt: string, contentHash: string, deleted = false): Version => ({ updatedAt, contentHash, deleted });

describe('decide (the write rule)', () => {
  it.each([
    ['a new key', v('2025-07-24', 'a'), undefined, 'inserted'],
    ['a new key already deleted', v('2025-07-24', 'a', true), undefined, 'deleted'],
    ['a newer date', v('2025-07-25', 'b'), v('2025-07-24', 'a'), 'modified'],
    ['a newer date with the same content', v('2025-07-25', 'a'), v('2025-07-24', 'a'), 'modified'],
    ['the same date with other content', v('2025-07-24', 'b'), v('2025-07-24', 'a'), 'modified'],
    ['the same date and content', v('2025-07-24', 'a'), v('2025-07-24', 'a'), 'unchanged'],
    ['the same date and content, both deleted', v('2025-07-24', 'a', true), v('2025-07-24', 'a', true), 'unchanged'],
    ['an older date', v('2025-07-23', 'b'), v('2025-07-24', 'a'), 'stale'],
    ['an older date with the same content', v('2025-07-23', 'a'), v('2025-07-24', 'a'), 'stale'],
    ['a soft delete', v('2025-07-25', 'b', true), v('2025-07-24', 'a'), 'deleted'],
    ['a change to an already deleted record', v('2025-07-25', 'b', true), v('2025-07-24', 'a', true), 'modified'],
    ['an un-delete', v('2025-07-25', 'b'), v('2025-07-24', 'a', true), 'modified'],
    ['a dated version over a missing date', v('2025-07-24', 'a'), v('0000-00-00', 'a'), 'modified'],
    ['a content change while the date is still missing', v('0000-00-00', 'b'), v('0000-00-00', 'a'), 'modified'],
    ['a missing date over a dated version', v('0000-00-00', 'b'), v('2025-07-24', 'a'), 'stale'],
    ['the same version over an item a reconcile marked missing', v('2025-07-24', 'a'), { ...v('2025-07-24', 'a'), missing: true }, 'modified'],
    ['the same version over an item written before the change index', v('2025-07-24', 'a'), { ...v('2025-07-24', 'a'), unindexed: true }, 'modified'],
    ['an older version over a marked item', v('2025-07-23', 'a'), { ...v('2025-07-24', 'a'), missing: true }, 'stale'],
  ] as const)('%s → %s', (_case, incoming, stored, expected) => {
    expect(decide(incoming, stored)).toBe(expected);
  });

  it('writes exactly for inserted, modified and deleted', () => {
    expect(['inserted', 'modified', 'deleted', 'unchanged', 'stale'].filter((d) => isWrite(d as never))).toEqual(['inserted', 'modified', 'deleted']);
  });
});
