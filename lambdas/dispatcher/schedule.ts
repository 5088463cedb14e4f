/**
 * Scheduled actions: EventBridge schedules invoke the dispatcher with
 * `{"source":"producersync.schedule","action":A}` (CONTRACTS §3). Every action is one entry of
 * SCHEDULED_ACTIONS, keyed by its name; an unknown action is an error naming the known ones.
 */
import type { DispatcherDeps } from '#dispatcher/deps';
import { retryPendingActivations } from '#dispatcher/activations';
import { checkFreshness, startReconcile } from '#dispatcher/freshness';

/** The `source` of every scheduled invocation. */
export const SCHEDULE_SOURCE = 'producersync.schedule';

/** Every scheduled action, by name. */
export const SCHEDULED_ACTIONS = {
  /** Hourly: re-backfill activated NPNs that still have no data. */
  'retry-pending-activations': (deps: DispatcherDeps) => retryPendingActivations(deps, deps.now()),
  /** Hourly: report the watermark's age; start the initial load, or a catch-up run when due. */
  'check-freshness': (deps: DispatcherDeps) => checkFreshness(deps),
  /** Weekly: start a reconcile run. */
  reconcile: (deps: DispatcherDeps) => startReconcile(deps),
} as const satisfies Record<string, (deps: DispatcherDeps) => Promise<unknown>>;

/** The name of a scheduled action. */
export type ScheduledActionName = keyof typeof SCHEDULED_ACTIONS;

/** The event a schedule sends. */
export interface ScheduledAction<A extends string = ScheduledActionName> {
  source: typeof SCHEDULE_SOURCE;
  action: A;
}

/** What an action returns. */
export type ScheduledActionResult<A extends ScheduledActionName = ScheduledActionName> = Awaited<ReturnType<(typeof SCHEDULED_ACTIONS)[A]>>;

/** True for an event a schedule sent, whatever its action. */
export function isScheduledEvent(event: unknown): event is ScheduledAction<string> {
  return (event as { source?: unknown } | null)?.source === SCHEDULE_SOURCE;
}

/** Runs the event's action; throws for an action that is not in SCHEDULED_ACTIONS. */
export function runScheduledAction<A extends ScheduledActionName>(deps: DispatcherDeps, event: ScheduledAction<A>): Promise<ScheduledActionResult<A>>;
export function runScheduledAction(deps: DispatcherDeps, event: ScheduledAction<string>): Promise<ScheduledActionResult>;
export function runScheduledAction(deps: DispatcherDeps, event: ScheduledAction<string>): Promise<ScheduledActionResult> {
  const { action } = event;
  if (!Object.hasOwn(SCHEDULED_ACTIONS, action)) {
    throw new Error(`unknown scheduled action ${JSON.stringify(action)}; known: ${Object.keys(SCHEDULED_ACTIONS).join(', ')}`);
  }
  return SCHEDULED_ACTIONS[action as ScheduledActionName](deps);
}
