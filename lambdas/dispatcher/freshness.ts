/**
 * The scheduled `check-freshness` and `reconcile` actions (docs/SYNC.md "Day 0", "The fallback",
 * "Reconcile"). Every hour the freshness check reports the watermark's age (`WatermarkAgeHours`: since
 * it last advanced, or since the first check before there is any), starts the initial load on a fresh
 * deployment once the credentials are in, and a catch-up run (`{"mode":"catchUp"}`) when no run has
 * advanced the watermark for CATCH_UP_AFTER_HOURS and no catch-up started within that time. The weekly
 * schedule starts a reconcile run. Names are deterministic per period, so a retried invocation starts nothing twice.
 */
import { logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import type { DispatcherDeps } from '#dispatcher/deps';
import { scheduledExecutionName } from '#dispatcher/execution-name';
import { initialLoadInFlight, watermarkAgeHours } from '#sync/watermark';

/** What one freshness check found and did. */
export interface FreshnessCheck {
  /** The watermark (absent before the initial load finished). */
  watermark?: string;
  /** Hours since the watermark advanced (or since the first check). */
  ageHours: number;
  action: 'fresh' | 'waiting-for-credentials' | 'initial-load-in-flight' | 'initial-load-started' | 'catch-up-started' | 'catch-up-recent';
  /** The execution started or in flight. */
  executionArn?: string;
  runId?: string;
}

/** The hourly `check-freshness` action. */
export async function checkFreshness(deps: DispatcherDeps): Promise<FreshnessCheck> {
  const nowMs = deps.now();
  const at = new Date(nowMs).toISOString();
  let state = await deps.watermarks.load();
  if (state.firstSeenAt === undefined) state = { ...state, firstSeenAt: await deps.watermarks.noteFirstSeen(at) };
  const ageHours = watermarkAgeHours(state, nowMs) ?? 0;
  publishCounts({ WatermarkAgeHours: ageHours });
  const { watermark } = state;
  const report = (check: Omit<FreshnessCheck, 'ageHours' | 'watermark'>): FreshnessCheck => {
    const result = { ...(watermark ? { watermark } : {}), ageHours, ...check };
    logger.info('freshness checked', { ...result });
    return result;
  };

  if (watermark === undefined) {
    const inFlight = initialLoadInFlight(state, nowMs);
    if (inFlight) return report({ action: 'initial-load-in-flight', runId: inFlight.runId });
    // Before an operator puts the credentials in, a full pull could only fail, every hour.
    if (!(await deps.credentials.isSet())) return report({ action: 'waiting-for-credentials' });
    // A catch-up without a watermark is the initial load (Prepare records it, one at a time).
    const runId = scheduledExecutionName('catch-up', nowMs);
    const { executionArn } = await deps.executions.start(runId, { mode: 'catchUp' });
    return report({ action: 'initial-load-started', runId, executionArn });
  }
  const dueMs = deps.catchUpAfterHours * 3_600_000;
  if (ageHours * 3_600_000 < dueMs) return report({ action: 'fresh' });
  if (state.catchUp && nowMs - Date.parse(state.catchUp.startedAt) < dueMs) return report({ action: 'catch-up-recent', runId: state.catchUp.runId });
  const runId = scheduledExecutionName('catch-up', nowMs);
  const { executionArn } = await deps.executions.start(runId, { mode: 'catchUp' });
  await deps.watermarks.noteCatchUp({ runId, startedAt: at });
  return report({ action: 'catch-up-started', runId, executionArn });
}

/** What the weekly `reconcile` action did. */
export interface ReconcileStart {
  started: boolean;
  runId?: string;
  executionArn?: string;
  /** Why nothing started. */
  reason?: string;
}

/** The weekly `reconcile` action: one reconcile run per day at most, never before the credentials are in. */
export async function startReconcile(deps: DispatcherDeps): Promise<ReconcileStart> {
  if (!(await deps.credentials.isSet())) {
    logger.info('reconcile not started: no ProducerSync credentials in the secret yet');
    return { started: false, reason: 'the ProducerSync credentials are not in the secret yet' };
  }
  const runId = scheduledExecutionName('reconcile', deps.now());
  const { executionArn, alreadyStarted } = await deps.executions.start(runId, { mode: 'reconcile' });
  logger.info('reconcile execution started', { executionArn, alreadyStarted });
  return { started: true, runId, executionArn };
}
