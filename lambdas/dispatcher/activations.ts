/**
 * NPN activations and deactivations at any size (issue 12.7; docs/ARCHITECTURE.md, "Pending activations").
 *
 * npn.activated: the batch's NPNs are worked in steps of a few thousand. A step writes their status
 * items (each conditional), starts one backfill execution per MAX_BACKFILL_NPNS (what Prepare
 * accepts) of those still active, under a deterministic name, records each as one pending group and
 * notes each event's progress on its dedup item. Small events share steps, so a wave of one-NPN events still
 * makes executions of 500. Steps stop when the invocation's time budget runs out: the unfinished
 * events go back to the queue and resume where they stopped (events that already spent a delivery go
 * first), so any number of NPNs finishes in as many invocations as it takes.
 *
 * AgentSync fetches a new NPN's data on its next daily cycle, so the first backfill often finds
 * nothing: the backfill's Finalize takes the NPNs that returned records out of its group, and the
 * hourly `retry-pending-activations` backfills the rest again (regrouped by the same size) once
 * their execution ended and RETRY_DELAY_MS passed, for GIVE_UP_AFTER_MS, then gives up with a log line.
 */
import { chunked } from '#commons/chunked';
import { logger } from '#commons/logger';
import { onceForEvent } from '#dispatcher/dedup';
import type { DispatcherDeps } from '#dispatcher/deps';
import { failGroup, type EventGroup, type FailedMessages } from '#dispatcher/event-groups';
import { backfillExecutionName } from '#dispatcher/execution-name';
import type { NpnStatusChange, StatusWriteOutcome } from '#dispatcher/npn-status';
import type { PendingGroup } from '#dispatcher/pending-activations';
import type { StartedExecution } from '#dispatcher/sync-executions';
import { mapWithConcurrency } from '#sync/concurrency';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { npnsOf } from '#webhook/webhook-event';

/** A pending NPN's backfill is retried this long after the previous one. */
export const RETRY_DELAY_MS = 20 * 3600 * 1000;
/** After this long without data the retries stop. */
export const GIVE_UP_AFTER_MS = 7 * 24 * 3600 * 1000;
/** One retry run backfills at most this many NPNs again (100 executions); the next run takes the rest. */
export const RETRY_MAX_NPNS_PER_RUN = 100 * MAX_BACKFILL_NPNS;
/** Dedup claims, done marks and DescribeExecutions in flight at once. */
const REQUEST_CONCURRENCY = 16;
/** Backfills one activation step starts (their status writes go together, so a step is a few round trips). */
const STEP_BACKFILLS = 4;
/** NPNs per step of bulk work; the time budget is checked before each. */
const STEP_NPNS = STEP_BACKFILLS * MAX_BACKFILL_NPNS;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Starts one `{"mode":"backfill","npns":[...]}` execution (ExecutionAlreadyExists counts as started). */
async function startBackfill(deps: DispatcherDeps, name: string, npns: readonly string[]): Promise<StartedExecution> {
  const started = await deps.executions.start(name, { mode: 'backfill', npns });
  logger.info('backfill execution started', { executionArn: started.executionArn, alreadyStarted: started.alreadyStarted, npnCount: npns.length });
  return started;
}

/** Records a started backfill's NPNs as one pending group (kept as it is if a crashed earlier delivery wrote it already). */
async function recordPending(deps: DispatcherDeps, name: string, started: StartedExecution, npns: string[], attempts: number, firstSeenAt: string, nowMs: number): Promise<void> {
  const group: PendingGroup = {
    id: name,
    npns,
    attempts,
    firstSeenAt,
    nextAttemptAt: new Date(nowMs + RETRY_DELAY_MS).toISOString(),
    executionArn: started.executionArn,
    // Safety net only: the retry run deletes the item when it resolves or gives up.
    expiresAt: Math.floor((Date.parse(firstSeenAt) + GIVE_UP_AFTER_MS * 2) / 1000),
  };
  await deps.pendingActivations.put(group);
}

/** An npn.activated event being worked: its NPNs, how many are handled, and the first backfill they went into. */
interface ActivationWork {
  group: EventGroup;
  npns: string[];
  done: number;
  executionArn?: string;
}

/** The next step: up to `size` distinct NPNs from the events in order, with what each event gave. */
function nextStep(work: readonly ActivationWork[], size: number): { changes: NpnStatusChange[]; taken: Map<ActivationWork, number> } {
  const byNpn = new Map<string, NpnStatusChange>();
  const taken = new Map<ActivationWork, number>();
  for (const item of work) {
    const { eventId, timestamp } = item.group.event;
    let position = item.done;
    while (position < item.npns.length) {
      const npn = item.npns[position]!;
      const seen = byNpn.get(npn);
      if (!seen && byNpn.size >= size) break;
      // The same NPN in two events of the batch: one write, under the newer event.
      if (!seen || seen.eventTimestamp < timestamp) byNpn.set(npn, { npn, status: 'ACTIVE', eventId, eventTimestamp: timestamp });
      position++;
    }
    if (position > item.done) taken.set(item, position - item.done);
    if (byNpn.size >= size) break;
  }
  return { changes: [...byNpn.values()], taken };
}

/**
 * One step: the status items of up to STEP_BACKFILLS × MAX_BACKFILL_NPNS NPNs, then one backfill and
 * pending group per MAX_BACKFILL_NPNS of those still active. Returns the first execution, if one started.
 */
async function activationStep(deps: DispatcherDeps, changes: NpnStatusChange[], nowMs: number): Promise<string | undefined> {
  const outcomes: StatusWriteOutcome[] = await deps.npnStatus.writeAll(changes);
  const active = changes.filter((_, i) => outcomes[i] !== 'superseded').map((c) => c.npn);
  if (active.length < changes.length) {
    const superseded = changes.filter((_, i) => outcomes[i] === 'superseded').map((c) => c.npn);
    logger.info('activations older than a deactivation of the same NPN; not backfilled', { npnCount: superseded.length, npns: superseded });
  }
  const firstSeenAt = new Date(nowMs).toISOString();
  const arns = await mapWithConcurrency(chunked(active, MAX_BACKFILL_NPNS), STEP_BACKFILLS, async (chunk) => {
    const npns = [...chunk].sort();
    const name = backfillExecutionName('activation', isoDay(nowMs), npns);
    const started = await startBackfill(deps, name, npns);
    await recordPending(deps, name, started, npns, 1, firstSeenAt, nowMs);
    return started.executionArn;
  });
  return arns[0];
}

/** Notes each event's progress: DONE when all its NPNs are handled, else how far it got. A failed note fails that event. */
async function noteProgress(deps: DispatcherDeps, work: readonly ActivationWork[], failed: FailedMessages): Promise<void> {
  await mapWithConcurrency(work, REQUEST_CONCURRENCY, async (item) => {
    const { eventId } = item.group.event;
    try {
      if (item.done < item.npns.length) return await deps.dedup.saveProgress(eventId, item.done);
      await deps.dedup.markDone(eventId, item.executionArn ? { executionArn: item.executionArn } : {});
      logger.info('NPNs activated', { correlation_id: eventId, npnCount: item.npns.length, executionArn: item.executionArn });
    } catch (error) {
      logger.error('activation event failed', { correlation_id: eventId, error: (error as Error).message });
      failGroup(failed, item.group);
    }
  });
}

/**
 * The npn.activated events of a batch, in steps (module comment). A failed or unfinished event's
 * messages go to `failed`, so SQS delivers them again and they resume from their noted progress.
 */
export async function activate(deps: DispatcherDeps, groups: readonly EventGroup[], failed: FailedMessages): Promise<void> {
  const claimed = await mapWithConcurrency(groups, REQUEST_CONCURRENCY, async (group): Promise<ActivationWork | undefined> => {
    const { event } = group;
    try {
      const npns = npnsOf(event.data);
      return await onceForEvent(deps.dedup, event, async (claim) => ({ group, npns, done: Math.min(claim.npnsDone, npns.length) }));
    } catch (error) {
      logger.error('activation event failed', { correlation_id: event.eventId, error: (error as Error).message });
      failGroup(failed, group);
      return undefined;
    }
  });
  // Events resumed after a stop go first, so a long event is not starved by new ones.
  const work = claimed.filter((item): item is ActivationWork => item !== undefined).sort((a, b) => Number(b.done > 0) - Number(a.done > 0));
  // Everything already handled by an earlier delivery is only marked done.
  await noteProgress(deps, work.filter((item) => item.done === item.npns.length), failed);

  const nowMs = deps.now();
  for (;;) {
    const { changes, taken } = nextStep(work, STEP_NPNS);
    if (changes.length === 0) break;
    if (deps.budget.expired()) break;
    let executionArn: string | undefined;
    try {
      executionArn = await activationStep(deps, changes, nowMs);
    } catch (error) {
      logger.error('could not start the activation backfill', { eventIds: [...taken.keys()].map((item) => item.group.event.eventId), error: (error as Error).message });
      // This step's events and every later one are delivered again; steps already taken stay noted.
      for (const item of work) if (item.done < item.npns.length) failGroup(failed, item.group);
      return;
    }
    for (const [item, count] of taken) {
      item.done += count;
      item.executionArn ??= executionArn;
    }
    await noteProgress(deps, [...taken.keys()], failed);
  }
  const unfinished = work.filter((item) => item.done < item.npns.length);
  for (const item of unfinished) {
    logger.info('time budget used; the activation continues in a later delivery', { correlation_id: item.group.event.eventId, npnsDone: item.done, npnCount: item.npns.length });
    failGroup(failed, item.group);
  }
}

/**
 * npn.deactivated: each NPN's status item becomes DEACTIVATED (its data is kept), in steps under the
 * time budget like activations. A pending activation of a deactivated NPN ends at the next retry run,
 * which never backfills it again.
 */
export async function deactivate(deps: DispatcherDeps, group: EventGroup, failed: FailedMessages): Promise<void> {
  const { event } = group;
  const npns = npnsOf(event.data);
  await onceForEvent(deps.dedup, event, async (claim) => {
    const statusItems: Record<StatusWriteOutcome, number> = { written: 0, unchanged: 0, superseded: 0 };
    let done = Math.min(claim.npnsDone, npns.length);
    while (done < npns.length) {
      if (deps.budget.expired()) {
        logger.info('time budget used; the deactivation continues in a later delivery', { npnsDone: done, npnCount: npns.length });
        failGroup(failed, group);
        return;
      }
      const step = npns.slice(done, done + STEP_NPNS);
      const outcomes = await deps.npnStatus.writeAll(step.map((npn) => ({ npn, status: 'DEACTIVATED' as const, eventId: event.eventId, eventTimestamp: event.timestamp })));
      for (const outcome of outcomes) statusItems[outcome]++;
      done += step.length;
      if (done < npns.length) await deps.dedup.saveProgress(event.eventId, done);
    }
    await deps.dedup.markDone(event.eventId);
    logger.info('NPNs deactivated', { npnCount: npns.length, statusItems });
  });
}

/** What one `retry-pending-activations` run found and did. */
export interface RetrySummary {
  /** Due pending groups read. */
  groups: number;
  /** Groups whose every NPN returned records (taken out by the backfills' Finalize): deleted. */
  resolved: number;
  /** NPNs deactivated since their activation: never backfilled again. */
  deactivated: number;
  /** NPNs given up on after GIVE_UP_AFTER_MS without data. */
  gaveUp: number;
  /** Due groups whose backfill is still running. */
  waiting: number;
  /** NPNs backfilled again. */
  retried: number;
  /** The executions started, MAX_BACKFILL_NPNS NPNs each at most. */
  executions: string[];
  /** The time budget or RETRY_MAX_NPNS_PER_RUN stopped this run early; the next run takes the rest (still due on the index). */
  more: boolean;
}

/** What the retry does with one due group. */
type Verdict = { kind: 'give-up'; group?: PendingGroup } | { kind: 'waiting' } | { kind: 'resolved' } | { kind: 'due'; group: PendingGroup } | { kind: 'gone' };

/** The pending NPNs of the due groups, regrouped: oldest first, each group's NPNs together. */
interface Regrouped {
  npn: string;
  from: PendingGroup;
}

/**
 * The scheduled `retry-pending-activations` run. Reads only the due groups, page by page from the
 * `byKind` index (one DescribeExecution and one consistent GetItem per group, never a request per
 * NPN but the status reads, 100 NPNs a request), and backfills their NPNs again in new groups of
 * MAX_BACKFILL_NPNS under the time budget.
 */
export async function retryPendingActivations(deps: DispatcherDeps, nowMs = deps.now()): Promise<RetrySummary> {
  const summary: RetrySummary = { groups: 0, resolved: 0, deactivated: 0, gaveUp: 0, waiting: 0, retried: 0, executions: [], more: false };
  const due: PendingGroup[] = [];
  let pooled = 0;
  for await (const page of deps.pendingActivations.due(new Date(nowMs).toISOString())) {
    const verdicts = await mapWithConcurrency(page, REQUEST_CONCURRENCY, async (listed): Promise<Verdict> => {
      // Checked before "still running" so a stuck execution cannot keep NPNs pending forever.
      if (nowMs - Date.parse(listed.firstSeenAt) >= GIVE_UP_AFTER_MS) return { kind: 'give-up', group: await deps.pendingActivations.get(listed.id) };
      // Items of 0.1 sort by their first-seen time, so the index lists them before they are due.
      if (Date.parse(listed.nextAttemptAt) > nowMs) return { kind: 'waiting' };
      if (listed.executionArn !== undefined && (await deps.executions.isRunning(listed.executionArn))) return { kind: 'waiting' };
      // Consistent: the index may not show yet what the ended backfill's Finalize took out.
      const group = await deps.pendingActivations.get(listed.id);
      if (!group) return { kind: 'gone' };
      return group.npns.length === 0 ? { kind: 'resolved' } : { kind: 'due', group };
    });
    for (const [i, verdict] of verdicts.entries()) {
      const listed = page[i]!;
      summary.groups++;
      if (verdict.kind === 'waiting') summary.waiting++;
      else if (verdict.kind === 'due') {
        due.push(verdict.group);
        pooled += verdict.group.npns.length;
      } else if (verdict.kind === 'resolved') {
        await deps.pendingActivations.forget(listed.id);
        summary.resolved++;
      } else if (verdict.kind === 'give-up') {
        const npns = verdict.group?.npns ?? [];
        logger.warn('activated NPNs still have no data; giving up on backfill retries', { npnCount: npns.length, npns, attempts: listed.attempts, firstSeenAt: listed.firstSeenAt });
        await deps.pendingActivations.forget(listed.id);
        summary.gaveUp += npns.length;
      }
    }
    if (pooled >= RETRY_MAX_NPNS_PER_RUN || deps.budget.expired()) {
      summary.more = true;
      break;
    }
  }
  if (due.length > 0) await backfillAgain(deps, due, nowMs, summary);
  logger.info('pending activations retried', { ...summary, executions: summary.executions.length });
  return summary;
}

/** Backfills the due groups' NPNs again in new groups, deleting each old group once all its active NPNs are in started ones. */
async function backfillAgain(deps: DispatcherDeps, due: PendingGroup[], nowMs: number, summary: RetrySummary): Promise<void> {
  // A deactivated NPN must not be backfilled again (a per-NPN read could subscribe it again); a newer activation wins.
  const statuses = await deps.npnStatus.statuses(due.flatMap((group) => group.npns));
  const pool: Regrouped[] = [];
  const activeCount = new Map<PendingGroup, number>();
  due.sort((a, b) => a.firstSeenAt.localeCompare(b.firstSeenAt) || a.id.localeCompare(b.id));
  for (const group of due) {
    const active = group.npns.filter((npn) => statuses.get(npn) !== 'DEACTIVATED');
    summary.deactivated += group.npns.length - active.length;
    activeCount.set(group, active.length);
    for (const npn of active) pool.push({ npn, from: group });
  }
  await mapWithConcurrency(
    due.filter((group) => activeCount.get(group) === 0),
    REQUEST_CONCURRENCY,
    (group) => deps.pendingActivations.forget(group.id),
  );

  const covered = new Map<PendingGroup, string[]>();
  for (const step of chunked(pool, MAX_BACKFILL_NPNS)) {
    if (deps.budget.expired()) {
      summary.more = true;
      break;
    }
    const npns = step.map((entry) => entry.npn).sort();
    const members = [...new Set(step.map((entry) => entry.from))];
    const attempts = Math.max(...members.map((group) => group.attempts)) + 1;
    const firstSeenAt = members.map((group) => group.firstSeenAt).sort()[0]!;
    const name = backfillExecutionName('activation-retry', isoDay(nowMs), npns, attempts);
    const started = await startBackfill(deps, name, npns);
    await recordPending(deps, name, started, npns, attempts, firstSeenAt, nowMs);
    summary.retried += npns.length;
    summary.executions.push(started.executionArn);
    for (const entry of step) {
      const npnsOfGroup = covered.get(entry.from) ?? [];
      npnsOfGroup.push(entry.npn);
      covered.set(entry.from, npnsOfGroup);
    }
    const replaced = members.filter((group) => covered.get(group)!.length === activeCount.get(group));
    await mapWithConcurrency(replaced, REQUEST_CONCURRENCY, (group) => deps.pendingActivations.forget(group.id));
  }
  // Stopped part-way: a group split by the last step keeps only its NPNs not backfilled again yet.
  for (const [group, npns] of covered) {
    if (npns.length < activeCount.get(group)!) await deps.pendingActivations.resolve(group.id, npns);
  }
}
