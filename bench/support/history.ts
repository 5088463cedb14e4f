import type { ExecutionEvent } from '#local/state-machine';

/** Step Functions Standard's cap on one execution's history. */
export const HISTORY_EVENT_LIMIT = 25_000;

/**
 * History events AWS writes per state entered (Standard workflows): a Lambda task is
 * TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited; a Map adds
 * MapStateStarted/MapStateSucceeded to its Entered/Exited; every other state is Entered/Exited.
 */
const EVENTS_PER_STATE: Record<string, number> = { Task: 5, Map: 4 };
const DEFAULT_EVENTS_PER_STATE = 2;
/** A failed attempt before a retry: TaskScheduled, TaskStarted, TaskFailed. */
const EVENTS_PER_RETRY = 3;
/** One endpoint-loop iteration: the SyncPages task and the EndpointDone choice. */
const EVENTS_PER_ITERATION = EVENTS_PER_STATE.Task! + DEFAULT_EVENTS_PER_STATE;

export interface HistoryEstimate {
  /** The local interpreter's own log entries. */
  localEvents: number;
  /** Loop states the local log lost (see estimateHistory), restored from the invocation count. */
  restoredLoopEntries: number;
  /** State transitions (StateEntered). */
  transitions: number;
  /** What the same execution would write to its AWS history. */
  awsHistoryEvents: number;
  /** SyncPages task invocations (loop iterations of the endpoint loops). */
  syncPagesIterations: number;
  waitStates: number;
  /** History events of the endpoint loops' own states (SyncPages, EndpointDone, WaitForRateBudget), retries included. */
  loopEvents: number;
}

const LOOP_TASKS = new Set(['SyncPages', 'ResumeSyncPages']);
const LOOP_CHOICES = new Set(['EndpointDone', 'ResumeEndpointDone']);
const LOOP_WAITS = new Set(['WaitForRateBudget', 'ResumeWaitForRateBudget']);

/**
 * Translates the local runner's event log (aws-local-stepfunctions: StateEntered/Exited,
 * MapIteration*, StateRetried, Execution*) into the AWS history it stands for.
 *
 * The interpreter forwards a Map iteration's events to the execution's log asynchronously and
 * drops whatever arrives after the execution closed its log, so a busy run can lose a few
 * nested entries near its end. Every SyncPages invocation (counted exactly by the runner) is
 * one SyncPages task and one EndpointDone choice, so missing loop entries are restored from it.
 */
export function estimateHistory(events: readonly ExecutionEvent[], syncPagesInvocations: number): HistoryEstimate {
  let aws = 0;
  let transitions = 0;
  let loggedTasks = 0;
  let loggedChoices = 0;
  let waits = 0;
  let loopRetries = 0;
  for (const event of events) {
    const name = event.state?.name ?? '';
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionAborted':
      case 'ExecutionTimeout':
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        aws += 1;
        break;
      case 'StateEntered':
        transitions++;
        aws += EVENTS_PER_STATE[event.state?.type ?? ''] ?? DEFAULT_EVENTS_PER_STATE;
        if (LOOP_TASKS.has(name)) loggedTasks++;
        if (LOOP_CHOICES.has(name)) loggedChoices++;
        if (LOOP_WAITS.has(name)) waits++;
        break;
      case 'StateRetried':
        aws += EVENTS_PER_RETRY;
        if (LOOP_TASKS.has(name)) loopRetries++;
        break;
    }
  }
  const missingTasks = Math.max(0, syncPagesInvocations - loggedTasks);
  const missingChoices = Math.max(0, syncPagesInvocations - loggedChoices);
  const restored = missingTasks + missingChoices;
  const restoredEvents = missingTasks * EVENTS_PER_STATE.Task! + missingChoices * DEFAULT_EVENTS_PER_STATE;
  return {
    localEvents: events.length,
    restoredLoopEntries: restored,
    transitions: transitions + restored,
    awsHistoryEvents: aws + restoredEvents,
    syncPagesIterations: syncPagesInvocations,
    waitStates: waits,
    loopEvents: syncPagesInvocations * EVENTS_PER_ITERATION + waits * DEFAULT_EVENTS_PER_STATE + loopRetries * EVENTS_PER_RETRY,
  };
}
