/**
 * 7. Step Functions: state transitions and history events per 1,000 pages of the ceiling
 * backfill (paced like a deployed run: the budget's limit with the time budget scaled to match),
 * and the count extrapolated to a backfill of 500,000 NPNs against the 25,000-event limit.
 *
 * History events are estimated from the local interpreter's log (see support/history.ts: a
 * Lambda task writes 5 events, a Map 4 plus 2 per iteration, other states 2). The 500,000-NPN
 * page count is docs/SYNC.md's assumption (~49 records per NPN, 24,550 pages of 1,000), also
 * the basis of its own estimate (~630 events at 300 pages per invocation).
 */
import { HISTORY_EVENT_LIMIT } from './support/history.ts';
import { judge, num, ratio, type BenchOutcome } from './support/report.ts';
import type { CeilingData } from './ceiling.ts';
import type { SyncRun } from './support/sync-run.ts';

/** docs/SYNC.md "History size": pages of 1,000 for a backfill of 500,000 NPNs, and its estimate. */
export const DOCS_PAGES_FOR_500K_NPNS = 24_550;
export const DOCS_EVENTS_FOR_500K_NPNS = 630;
/** docs/SYNC.md: events per loop iteration (Lambda task 5 + Choice 2). */
export const DOCS_EVENTS_PER_ITERATION = 7;

export interface StepFunctionsData {
  pages: number;
  transitions: number;
  awsHistoryEvents: number;
  syncPagesIterations: number;
  pagesPerIteration: number;
  transitionsPer1000Pages: number;
  eventsPer1000Pages: number;
  /** Events outside the endpoint loops' iterations (start, Prepare, Map bookkeeping, RecordRun, end). */
  fixedEvents: number;
  eventsPerIteration: number;
  extrapolated500kNpns: number;
}

export function stepFunctionFigures(run: SyncRun, ceiling: CeilingData): BenchOutcome<StepFunctionsData> {
  const { history } = run.execution;
  const pages = ceiling.pages;
  const loopEvents = history.loopEvents;
  const fixedEvents = history.awsHistoryEvents - loopEvents;
  const eventsPer1000Pages = (history.awsHistoryEvents / pages) * 1000;
  const data: StepFunctionsData = {
    pages,
    transitions: history.transitions,
    awsHistoryEvents: history.awsHistoryEvents,
    syncPagesIterations: history.syncPagesIterations,
    pagesPerIteration: pages / history.syncPagesIterations,
    transitionsPer1000Pages: (history.transitions / pages) * 1000,
    eventsPer1000Pages,
    fixedEvents,
    eventsPerIteration: loopEvents / history.syncPagesIterations,
    // Loop events grow with pages at this run's pages per invocation; the fixed part does not.
    extrapolated500kNpns: fixedEvents + (loopEvents / pages) * DOCS_PAGES_FOR_500K_NPNS,
  };
  return {
    figures: [
      {
        section: '7',
        name: 'Step Functions per 1,000 pages',
        value: `${ratio(data.transitionsPer1000Pages, 1)} transitions, ${ratio(eventsPer1000Pages, 1)} history events (${num(pages)} pages, ${num(history.syncPagesIterations)} iterations of ${ratio(data.pagesPerIteration, 0)} pages, ${ratio(data.eventsPerIteration, 1)} events each; docs: ${DOCS_EVENTS_PER_ITERATION}${ceiling.aborted ? '; run stopped early' : ''})`,
        target: '-',
        verdict: 'info',
      },
      {
        section: '7',
        name: 'History events, backfill of 500,000 NPNs',
        value: `~${num(data.extrapolated500kNpns)} (${num(DOCS_PAGES_FOR_500K_NPNS)} pages; docs/SYNC.md: ~${num(DOCS_EVENTS_FOR_500K_NPNS)})`,
        target: `< ${num(HISTORY_EVENT_LIMIT)}`,
        verdict: judge(data.extrapolated500kNpns < HISTORY_EVENT_LIMIT),
      },
    ],
    data,
  };
}
