/**
 * What a run reads and how it moves the watermark (docs/SYNC.md "Inputs" and "The watermark"): the
 * parsed input and the watermark at Prepare time in, the run plan out. Pure: Prepare reads the
 * watermark, Finalize applies `advance` when every endpoint finished.
 */
import { utcDay } from '#commons/calendar-date';
import type { EndpointMode, SyncMode } from '#sync/events';
import type { SyncRequest } from '#sync/sync-input';
import { laterDate, type WatermarkState } from '#sync/watermark';

/**
 * How a successful run moves the watermark: `none`; `runDate`, to the run's date; `newestRead`, to the
 * newest `updatedAt` the run read, or the run's date if that is later. The watermark never moves back.
 */
export type WatermarkAdvance = 'none' | 'runDate' | 'newestRead';

/** A run as Prepare starts it. */
export interface RunPlan {
  /** The run's mode (an initial load is a `backfill`). */
  mode: SyncMode;
  runDate?: string;
  updatedSince: string | null;
  npns: string[] | null;
  /** How each endpoint pages. */
  endpointMode: EndpointMode;
  advance: WatermarkAdvance;
  /** An incremental or catch-up run found no watermark: it became the day-0 full pull, one at a time. */
  initialLoad: boolean;
}

const earlier = (a: string, b: string): string => (a < b ? a : b);

/** The plan of `request` given the watermark `state` (now: Prepare's clock, for today − 1). */
export function planRun(request: SyncRequest, state: WatermarkState, nowMs: number): RunPlan {
  const { mode, runDate, npns } = request;
  const dated = runDate === undefined ? {} : { runDate };
  const full = (advance: WatermarkAdvance, initialLoad = false): RunPlan => ({
    mode: 'backfill',
    ...dated,
    updatedSince: null,
    npns: null,
    endpointMode: 'backfill',
    advance,
    initialLoad,
  });
  const { watermark } = state;

  switch (mode) {
    case 'incremental': {
      const date = runDate as string;
      // An operator's {"runDate":D}: exactly D, and the watermark stays where it is.
      if (request.exact) return { mode, runDate: date, updatedSince: date, npns: null, endpointMode: 'incremental', advance: 'none', initialLoad: false };
      if (watermark === undefined) return full('newestRead', true);
      // Inclusive: the watermark day is read again, so its late data is caught (and costs no stream record).
      return { mode, runDate: date, updatedSince: earlier(date, watermark), npns: null, endpointMode: 'incremental', advance: 'runDate', initialLoad: false };
    }
    case 'catchUp':
      if (watermark === undefined) return full('newestRead', true);
      // AgentSync's advice without webhooks is today − 1; the watermark is never read past.
      return { mode, updatedSince: earlier(watermark, utcDay(nowMs, -1)), npns: null, endpointMode: 'incremental', advance: 'newestRead', initialLoad: false };
    case 'backfill':
      if (npns) return { mode, updatedSince: null, npns, endpointMode: 'backfill', advance: 'none', initialLoad: false };
      return full('newestRead');
    case 'reconcile':
      return { mode, updatedSince: null, npns: null, endpointMode: 'reconcile', advance: 'newestRead', initialLoad: false };
  }
}

/** The date a successful run moves the watermark to (undefined: it stays). */
export function advanceTarget(advance: WatermarkAdvance | undefined, runDate: string | undefined, newestRead: string | undefined): string | undefined {
  if (advance === 'runDate') return runDate;
  return advance === 'newestRead' ? laterDate(runDate, newestRead) : undefined;
}
