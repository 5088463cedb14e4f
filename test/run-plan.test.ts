import { describe, expect, it } from 'vitest';
import { advanceTarget, planRun } from '#sync/run-plan';
import { parseSyncInput } from '#sync/sync-input';
import type { WatermarkState } from '#sync/watermark';

const NOW = Date.parse('2025-07-30T23:00:00Z');
const plan = (input: unknown, state: WatermarkState = {}) => planRun(parseSyncInput(input, new Date(NOW)), state, NOW);
const at = (watermark: string): WatermarkState => ({ watermark, advancedAt: '2025-07-28T23:00:00Z' });

describe('planRun', () => {
  it('an operator\'s {"runDate"} reads exactly that date and never moves the watermark', () => {
    expect(plan({ runDate: '2025-07-20' }, at('2025-07-28'))).toEqual({
      mode: 'incremental',
      runDate: '2025-07-20',
      updatedSince: '2025-07-20',
      npns: null,
      endpointMode: 'incremental',
      advance: 'none',
      initialLoad: false,
    });
  });

  it('an incremental reads from the earlier of its date and the watermark (inclusive) and advances to its date', () => {
    // Two lost days: the run for the 30th also reads the 29th and the 28th again.
    expect(plan({ mode: 'incremental', runDate: '2025-07-30' }, at('2025-07-28'))).toMatchObject({ updatedSince: '2025-07-28', advance: 'runDate', initialLoad: false });
    // A date before the watermark (an operator's input) reads from that date.
    expect(plan({ mode: 'incremental', runDate: '2025-07-25' }, at('2025-07-28'))).toMatchObject({ updatedSince: '2025-07-25' });
  });

  it('a catch-up reads from the watermark, never later than today − 1, and advances to the newest date it reads', () => {
    expect(plan({ mode: 'catchUp' }, at('2025-07-26'))).toMatchObject({ mode: 'catchUp', updatedSince: '2025-07-26', advance: 'newestRead', endpointMode: 'incremental' });
    expect(plan({ mode: 'catchUp' }, at('2025-07-30'))).toMatchObject({ updatedSince: '2025-07-29' });
  });

  it('without a watermark an incremental or a catch-up becomes the initial load: a full pull', () => {
    expect(plan({ mode: 'incremental', runDate: '2025-07-30' })).toEqual({
      mode: 'backfill',
      runDate: '2025-07-30',
      updatedSince: null,
      npns: null,
      endpointMode: 'backfill',
      advance: 'newestRead',
      initialLoad: true,
    });
    expect(plan({ mode: 'catchUp' })).toMatchObject({ mode: 'backfill', updatedSince: null, advance: 'newestRead', initialLoad: true });
    // With a watermark present but only firstSeenAt set: still day 0.
    expect(plan({ mode: 'catchUp' }, { firstSeenAt: '2025-07-30T00:00:00Z' })).toMatchObject({ initialLoad: true });
  });

  it('full pulls advance to the newest date read (or their runDate); a backfill of some NPNs never moves it', () => {
    expect(plan({ mode: 'backfill' }, at('2025-07-28'))).toMatchObject({ updatedSince: null, advance: 'newestRead', initialLoad: false });
    expect(plan({ mode: 'backfill', runDate: '2025-07-30' })).toMatchObject({ runDate: '2025-07-30', advance: 'newestRead', initialLoad: false });
    expect(plan({ mode: 'backfill', npns: ['15645555'] })).toMatchObject({ npns: ['15645555'], advance: 'none' });
    expect(plan({ mode: 'reconcile' }, at('2025-07-28'))).toMatchObject({ mode: 'reconcile', endpointMode: 'reconcile', updatedSince: null, advance: 'newestRead' });
  });
});

describe('advanceTarget', () => {
  it('is the run date, the later of run date and newest read, or nothing', () => {
    expect(advanceTarget('runDate', '2025-07-30', '2025-07-31')).toBe('2025-07-30');
    expect(advanceTarget('newestRead', undefined, '2025-07-29')).toBe('2025-07-29');
    // A portal test event's old example date cannot drag a full pull back.
    expect(advanceTarget('newestRead', '2025-07-24', '2025-07-29')).toBe('2025-07-29');
    expect(advanceTarget('newestRead', '2025-07-30', '2025-07-29')).toBe('2025-07-30');
    expect(advanceTarget('newestRead', undefined, undefined)).toBeUndefined();
    expect(advanceTarget('none', '2025-07-30', '2025-07-31')).toBeUndefined();
    expect(advanceTarget(undefined, '2025-07-30', undefined)).toBeUndefined();
  });
});
