/**
 * A reconcile of the NPN status items against `GET /v1/accounts/subscriptions` (docs/SYNC.md
 * "Reconcile"): a subscribed NPN without an ACTIVE status item becomes ACTIVE as its page of the list is
 * read; the sweep (sweep.ts) later sets DEACTIVATED the ACTIVE NPNs the list no longer holds. Both write
 * with the pass's start as the event time and reason `reconcile`, so a webhook newer than the list read
 * still wins (the status store's ordering rule), and only a real change writes.
 */
import { NPN_STATUS_RECORD_TYPE, statusKey, type NpnStatusStore } from '#dispatcher/npn-status';
import { mapWithConcurrency } from '#sync/concurrency';
import { emptyOutcome, type PageOutcome } from '#sync/record-store';
import type { SeenKeyStore } from '#sync/seen-keys';

/** What a status reconcile writes through. */
export interface StatusReconcileContext {
  npnStatus: NpnStatusStore;
  seen: SeenKeyStore;
  runId: string;
  /** ISO time the pass started: the reconcile's event time. */
  passStartedAt: string;
}

/** The event id of a reconcile's status writes. */
export const reconcileEventId = (runId: string): string => `reconcile-${runId}`;

/**
 * Applies one page of subscribed NPNs: ACTIVE where the status item is missing (`inserted`) or says
 * otherwise (`modified`), nothing where it is ACTIVE already (`unchanged`); records the page's keys.
 */
export async function applyStatusPage(npns: readonly string[], page: number, context: StatusReconcileContext): Promise<PageOutcome> {
  const unique = [...new Set(npns)];
  await context.seen.putPage(NPN_STATUS_RECORD_TYPE, page, unique.map(statusKey));
  const stored = await context.npnStatus.statuses(unique);
  const outcome = emptyOutcome();
  outcome.unchanged += npns.length - unique.length;
  const results = await mapWithConcurrency(unique, 16, async (npn) => {
    const before = stored.get(npn);
    if (before === 'ACTIVE') return 'unchanged';
    const written = await context.npnStatus.write({ npn, status: 'ACTIVE', eventId: reconcileEventId(context.runId), eventTimestamp: context.passStartedAt, reason: 'reconcile' });
    if (written !== 'written') return 'unchanged';
    return before === undefined ? 'inserted' : 'modified';
  });
  for (const result of results) outcome[result]++;
  return outcome;
}

/** The sweep's deactivation of an ACTIVE NPN the subscription list no longer holds; true when it wrote. */
export async function deactivateUnsubscribed(npn: string, context: Omit<StatusReconcileContext, 'seen'>): Promise<boolean> {
  const written = await context.npnStatus.write({ npn, status: 'DEACTIVATED', eventId: reconcileEventId(context.runId), eventTimestamp: context.passStartedAt, reason: 'reconcile' });
  return written === 'written';
}
