/**
 * Bounded fan-out (issue 14.4): how many SyncPages invocations may run at once, sized to the API's rate
 * budget rather than to the account's shared Lambda pool (1,000 per region by default, shared by every
 * function in the account).
 *
 * The rule (Little's law): requests in flight = request rate × the time one request occupies an
 * invocation. A SyncPages invocation keeps one request in flight per page loop (the next page is
 * fetched while the current one is applied), and docs/SYNC.md measures that loop at 1.5 to 2 s for a
 * 1,000-record page when fetch and apply do not overlap (the bound for sizing). At 300 requests/min
 * (5/s) and 2 s, 10 invocations keep the budget busy; twice that leaves room for a second execution (a backfill beside the daily run)
 * and for invocations waiting inline on the budget. Never fewer than two executions' Map concurrency.
 */
import { ENDPOINT_NAMES } from '#producersync/endpoints';

/**
 * Map MaxConcurrency by default: every item a run can have at once (each endpoint of the catalogue, and a
 * reconcile's NPN status target), so no endpoint waits for another to finish (issue 15). The shared rate
 * budget, not the Map, paces them.
 */
export const DEFAULT_SYNC_CONCURRENCY = ENDPOINT_NAMES.length + 1;

/** Seconds one SyncPages page loop takes (docs/SYNC.md "History size": 1.5 to 2 s). */
export const PAGE_LOOP_SECONDS = 2;

/** Headroom over the invocations the budget needs: overlapping executions, inline waits, retries. */
export const CONCURRENCY_HEADROOM = 2;

/** Reserved concurrency of SyncPages for a request budget and a Map concurrency. */
export function syncPagesConcurrency(apiRequestsPerMinute: number, syncConcurrency: number): number {
  const inFlight = (apiRequestsPerMinute / 60) * PAGE_LOOP_SECONDS;
  return Math.max(Math.ceil(inFlight * CONCURRENCY_HEADROOM), 2 * syncConcurrency);
}

/**
 * The queue's event source `MaximumConcurrency`: dispatcher invocations (batches of 10 events) at once.
 * 2 is the lowest SQS allows (2 to 1,000), enough for a daily webhook and activation bursts.
 */
export const DEFAULT_DISPATCHER_CONCURRENCY = 2;
