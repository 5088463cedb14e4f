import { describe, expect, it } from 'vitest';
import { parseSyncInput, syncEndpoints } from '#sync/sync-input';

describe('sync input', () => {
  const now = new Date('2025-07-24T22:00:00Z');

  it('accepts every documented input: a runDate up to tomorrow, incremental, catch-up, backfills and reconcile', () => {
    expect(parseSyncInput({ runDate: '2025-07-24' }, now)).toEqual({ mode: 'incremental', runDate: '2025-07-24', npns: null, exact: true });
    expect(parseSyncInput({ runDate: '2025-07-25' }, now).runDate).toBe('2025-07-25');
    expect(parseSyncInput({ mode: 'incremental', runDate: '2025-07-24' }, now)).toEqual({ mode: 'incremental', runDate: '2025-07-24', npns: null });
    expect(parseSyncInput({ mode: 'catchUp' }, now)).toEqual({ mode: 'catchUp', npns: null });
    expect(parseSyncInput({ mode: 'backfill' }, now)).toEqual({ mode: 'backfill', npns: null });
    expect(parseSyncInput({ mode: 'backfill', runDate: '2025-07-24' }, now)).toEqual({ mode: 'backfill', runDate: '2025-07-24', npns: null });
    expect(parseSyncInput({ mode: 'backfill', npns: ['15645555', '19855109', '15645555'] }, now).npns).toEqual(['15645555', '19855109']);
    expect(parseSyncInput({ mode: 'reconcile' }, now)).toEqual({ mode: 'reconcile', npns: null });
  });

  it.each([
    [{ runDate: '2025-07-26' }, /in the future/],
    [{ runDate: '2025-02-29' }, /calendar date/],
    [{ runDate: '24-07-2025' }, /calendar date/],
    [{ runDate: 20250724 }, /calendar date/],
    [{ runDate: '2025-07-24', other: 1 }, /unexpected field\(s\) next to runDate: other/],
    [{ mode: 'backfill', runDate: '2025-07-24', npns: ['1'] }, /npns or a runDate, not both/],
    [{ mode: 'incremental', runDate: '2025-07-26' }, /in the future/],
    [{ mode: 'catchUp', runDate: '2025-07-24' }, /unexpected field\(s\) in a catchUp input: runDate/],
    [{ mode: 'reconcile', npns: ['1'] }, /unexpected field\(s\) in a reconcile input: npns/],
    [{ mode: 'sideways' }, /input must be/],
    [{ mode: 'backfill', npns: [] }, /non-empty array/],
    [{ mode: 'backfill', npns: ['12a'] }, /digits only/],
    [{ mode: 'backfill', npns: Array.from({ length: 501 }, (_, i) => String(i)) }, /at most 500/],
    [{ mode: 'incremental' }, /needs its runDate/],
    [{}, /input must be/],
    [null, /input must be/],
    [['2025-07-24'], /input must be/],
  ])('rejects %j with InvalidInput', (input, message) => {
    const attempt = () => parseSyncInput(input, now);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as Error).name).toBe('InvalidInput');
    }
  });
});

describe('syncEndpoints', () => {
  it('is the default catalogue when SYNC_ENDPOINTS is unset, else its names, trimmed and deduplicated', () => {
    expect(syncEndpoints(undefined)).not.toContain('licenseLoas');
    expect(syncEndpoints(undefined)).toContain('licenses');
    expect(syncEndpoints(' licenses, licenseLoas ,licenses')).toEqual(['licenses', 'licenseLoas']);
    expect(() => syncEndpoints('licenses,exams')).toThrow(/unknown endpoint\(s\): exams/);
  });
});
