/**
 * The outcome of a run, from its endpoints' checkpoints: the checkpoints are the truth (a Map result
 * can be stale after ResumeFailed), so an endpoint succeeded iff its checkpoint is `done`; the Map
 * results only supply the error text.
 */
import { COUNT_NAMES, emptyCounts, type Checkpoint, type EndpointCounts } from '#sync/checkpoint';
import { caughtError, type EndpointSummary, type FailedEndpoint, type FinalizeEvent, type SyncPagesEvent } from '#sync/events';
import type { RunFinish } from '#sync/run-record';
import { laterDate } from '#sync/watermark';

/** What RecordRun writes and returns. */
export interface RunSummary extends Pick<RunFinish, 'status' | 'endpoints' | 'totals' | 'failedEndpoints'> {
  /** The Map items of the endpoints still to finish. */
  toResume: SyncPagesEvent[];
}

/** What a reconcile corrected on one endpoint: drift written plus items marked missing (NPN statuses set DEACTIVATED). */
export const correctedOf = (counts: EndpointCounts): number => counts.inserted + counts.modified + counts.deleted + counts.marked;

/** The newest `updatedAt` any endpoint read (what a full pull may move the watermark to). */
export function newestRead(checkpoints: readonly (Checkpoint | undefined)[]): string | undefined {
  return checkpoints.reduce<string | undefined>((newest, checkpoint) => laterDate(newest, checkpoint?.newestUpdatedAt), undefined);
}

/**
 * Counts per endpoint and in total, and which endpoints failed; `checkpoints[i]` is `items[i]`'s. A
 * partitioned endpoint's counts are the sum of its streams' (the counts' identity holds per stream, so
 * for the sum), and only its unfinished streams are resumed. A reconcile's endpoints (and totals) also
 * count what the pass `corrected`.
 */
export function summarizeRun(event: FinalizeEvent, items: readonly SyncPagesEvent[], checkpoints: readonly (Checkpoint | undefined)[]): RunSummary {
  const endpoints: Record<string, EndpointSummary> = {};
  const totals: EndpointSummary = emptyCounts();
  const reconcile = items.some((item) => item.mode === 'reconcile');
  const failedEndpoints: FailedEndpoint[] = [];
  const toResume: SyncPagesEvent[] = [];
  items.forEach((item, index) => {
    const checkpoint = checkpoints[index];
    const summary: EndpointSummary = (endpoints[item.endpoint] ??= emptyCounts());
    for (const name of COUNT_NAMES) summary[name] += checkpoint?.[name] ?? 0;
    if (checkpoint?.unsupported) summary.unsupported = true;
    if (!checkpoint?.done) {
      // A stream's own note first: the Map's Catch output names only the endpoint, not the stream.
      const error = item.stream === undefined ? (caughtError(event, item.endpoint) ?? checkpoint?.lastError) : (checkpoint?.lastError ?? caughtError(event, item.endpoint));
      failedEndpoints.push({ endpoint: item.endpoint, ...(item.stream === undefined ? {} : { stream: item.stream }), error: error ?? 'did not finish' });
      toResume.push(item);
    }
  });
  for (const summary of Object.values(endpoints)) {
    if (reconcile) summary.corrected = correctedOf(summary);
    addCounts(totals, summary);
  }
  if (reconcile) totals.corrected = correctedOf(totals);
  return { status: failedEndpoints.length === 0 ? 'SUCCEEDED' : 'FAILED', endpoints, totals, failedEndpoints, toResume };
}

function addCounts(into: EndpointCounts, add: EndpointCounts): void {
  for (const name of COUNT_NAMES) into[name] += add[name];
}
