/**
 * Newly activated NPNs. AgentSync fetches their data on its next daily cycle, so the first backfill
 * often finds nothing: every activation of a batch goes into one backfill execution (one per 5,000
 * NPNs), each activated NPN is kept as a pending activation until the data table holds a record for
 * it, and the scheduled `retry-pending-activations` run re-backfills the empty ones for a few days,
 * then gives up with a log line.
 */
import { chunked } from '#commons/chunked';
import { logger, withCorrelationId } from '#commons/logger';
import { onceForEvent } from '#dispatcher/dedup';
import type { DispatcherDeps } from '#dispatcher/deps';
import { failGroup, type EventGroup, type FailedMessages } from '#dispatcher/event-groups';
import { backfillExecutionName } from '#dispatcher/execution-name';
import type { PendingActivation } from '#dispatcher/pending-activations';
import type { SyncExecutions } from '#dispatcher/sync-executions';
import { npnsOf } from '#webhook/webhook-event';

/** A pending NPN's backfill is retried this long after the previous one. */
export const RETRY_DELAY_MS = 20 * 3600 * 1000;
/** After this long without data the retries stop. */
export const GIVE_UP_AFTER_MS = 7 * 24 * 3600 * 1000;
/** Keeps one execution input far below the 256 KB Step Functions limit. */
export const MAX_NPNS_PER_BACKFILL = 5000;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** One `{"mode":"backfill","npns":[...]}` execution per chunk of NPNs; returns each NPN's execution ARN. */
export async function startBackfills(
  executions: SyncExecutions,
  kind: 'activation' | 'activation-retry',
  npns: readonly string[],
  nowMs: number,
): Promise<Map<string, string>> {
  const arnByNpn = new Map<string, string>();
  const sorted = [...new Set(npns)].sort();
  for (const group of chunked(sorted, MAX_NPNS_PER_BACKFILL)) {
    const name = backfillExecutionName(kind, isoDay(nowMs), group);
    const { executionArn, alreadyStarted } = await executions.start(name, { mode: 'backfill', npns: group });
    logger.info('backfill execution started', { executionArn, alreadyStarted, npnCount: group.length });
    for (const npn of group) arnByNpn.set(npn, executionArn);
  }
  return arnByNpn;
}

/** The pending activation of an NPN whose first backfill just started. */
function newPendingActivation(activation: { npn: string; executionArn: string; eventId: string }, nowMs: number): PendingActivation {
  const firstSeenAt = new Date(nowMs).toISOString();
  return {
    ...activation,
    attempts: 1,
    firstSeenAt,
    nextAttemptAt: new Date(nowMs + RETRY_DELAY_MS).toISOString(),
    // Safety net only: the retry run deletes the item when it resolves or gives up.
    expiresAt: Math.floor((nowMs + GIVE_UP_AFTER_MS * 2) / 1000),
  };
}

interface ClaimedActivation {
  group: EventGroup;
  /** The event's NPNs that are active now (not deactivated by a newer event). */
  npns: string[];
}

/**
 * The npn.activated events of a batch: each is claimed and its NPNs marked ACTIVE, then one backfill
 * starts for all of them and each event is marked done. A failed event's messages go to `failed`.
 */
export async function activate(deps: DispatcherDeps, groups: readonly EventGroup[], failed: FailedMessages): Promise<void> {
  const claimed: ClaimedActivation[] = [];
  for (const group of groups) {
    const { event } = group;
    await withCorrelationId(event.eventId, async () => {
      try {
        const npns = npnsOf(event.data);
        await onceForEvent(deps.dedup, event, async () => {
          const active: string[] = [];
          for (const npn of npns) {
            const outcome = await deps.npnStatus.write({ npn, status: 'ACTIVE', eventId: event.eventId, eventTimestamp: event.timestamp });
            if (outcome === 'superseded') logger.info('activation older than a deactivation of the same NPN; not backfilled', { npn });
            else active.push(npn);
          }
          claimed.push({ group, npns: active });
        });
      } catch (error) {
        logger.error('activation event failed', { error: (error as Error).message });
        failGroup(failed, group);
      }
    });
  }
  if (claimed.length === 0) return;

  const nowMs = Date.now();
  let arnByNpn = new Map<string, string>();
  const npns = claimed.flatMap((c) => c.npns);
  try {
    if (npns.length > 0) arnByNpn = await startBackfills(deps.executions, 'activation', npns, nowMs);
  } catch (error) {
    logger.error('could not start the activation backfill', { eventIds: claimed.map((c) => c.group.event.eventId), error: (error as Error).message });
    for (const { group } of claimed) failGroup(failed, group);
    return;
  }
  for (const { group, npns: active } of claimed) {
    const { event } = group;
    await withCorrelationId(event.eventId, async () => {
      try {
        for (const npn of active) {
          await deps.pendingActivations.put(newPendingActivation({ npn, executionArn: arnByNpn.get(npn)!, eventId: event.eventId }, nowMs));
        }
        const executionArn = active[0] === undefined ? undefined : arnByNpn.get(active[0]);
        await deps.dedup.markDone(event.eventId, executionArn ? { executionArn } : {});
        logger.info('NPNs activated', { npnCount: active.length, executionArn });
      } catch (error) {
        logger.error('activation event failed', { error: (error as Error).message });
        failGroup(failed, group);
      }
    });
  }
}

/** What one `retry-pending-activations` run found and did. */
export interface RetrySummary {
  pending: number;
  resolved: number;
  deactivated: number;
  gaveUp: number;
  waiting: number;
  retried: number;
  executions: string[];
}

/** The scheduled `retry-pending-activations` run. */
export async function retryPendingActivations(deps: DispatcherDeps, nowMs = Date.now()): Promise<RetrySummary> {
  const pending = await deps.pendingActivations.list();
  const summary: RetrySummary = { pending: pending.length, resolved: 0, deactivated: 0, gaveUp: 0, waiting: 0, retried: 0, executions: [] };
  const due: PendingActivation[] = [];
  for (const item of pending) {
    const state = await deps.npnStatus.dataState(item.npn);
    if (state.hasRecords) {
      await deps.pendingActivations.forget(item.npn);
      summary.resolved++;
      continue;
    }
    if (state.status === 'DEACTIVATED') {
      await deps.pendingActivations.forget(item.npn);
      summary.deactivated++;
      continue;
    }
    // Checked before "still running" so a stuck execution cannot keep an NPN pending forever.
    if (nowMs - Date.parse(item.firstSeenAt) >= GIVE_UP_AFTER_MS) {
      logger.warn('activated NPN still has no data; giving up on backfill retries', { npn: item.npn, attempts: item.attempts, firstSeenAt: item.firstSeenAt });
      await deps.pendingActivations.forget(item.npn);
      summary.gaveUp++;
      continue;
    }
    if (Date.parse(item.nextAttemptAt) > nowMs || (item.executionArn !== undefined && (await deps.executions.isRunning(item.executionArn)))) {
      summary.waiting++;
      continue;
    }
    due.push(item);
  }
  if (due.length === 0) return summary;

  const arnByNpn = await startBackfills(deps.executions, 'activation-retry', due.map((item) => item.npn), nowMs);
  summary.executions = [...new Set(arnByNpn.values())];
  for (const item of due) {
    await deps.pendingActivations.put({ ...item, attempts: item.attempts + 1, nextAttemptAt: new Date(nowMs + RETRY_DELAY_MS).toISOString(), executionArn: arnByNpn.get(item.npn) });
    summary.retried++;
  }
  logger.info('pending activations retried', { ...summary });
  return summary;
}
