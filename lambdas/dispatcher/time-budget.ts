/**
 * How long one dispatcher invocation keeps starting work: the Lambda's remaining time less a margin
 * for the writes after the last step (progress, done marks) and the reply. Bulk work (activation
 * waves, the hourly retry) checks it before each step and leaves the rest for the next delivery or run.
 */
import type { Context } from 'aws-lambda';

/** Kept back from the timeout: one step (500 NPNs) and the final writes take well under a second. */
export const DISPATCHER_SAFETY_MARGIN_MS = 10_000;

/** Whether the invocation should stop starting new steps. */
export interface TimeBudget {
  expired(): boolean;
}

/** A budget that never runs out (tools and tests that call the core without a Lambda context). */
export const UNLIMITED_BUDGET: TimeBudget = { expired: () => false };

/** The budget of an invocation: its remaining time less the margin. Without a context, unlimited. */
export function lambdaTimeBudget(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined, marginMs = DISPATCHER_SAFETY_MARGIN_MS): TimeBudget {
  if (typeof context?.getRemainingTimeInMillis !== 'function') return UNLIMITED_BUDGET;
  return { expired: () => context.getRemainingTimeInMillis() < marginMs };
}
