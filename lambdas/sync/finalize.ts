/**
 * `RecordRun` task (Lambda `producersync-finalize`): reads the endpoints' checkpoints, writes the run
 * record and returns the Map items of the endpoints still to finish (docs/SYNC.md, step 3). A run whose
 * every endpoint finished moves the watermark by its plan (never a failed or partial one), ends the
 * initial load and its lease; every call reports the watermark's age, a reconcile what it corrected.
 * A run of listed NPNs (an activation backfill) also takes the NPNs that returned records out of
 * its pending activation group (sync/backfill-npns.ts).
 */
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { createDynamoPendingActivationStore } from '#dispatcher/pending-activations';
import { npnsFound } from '#sync/backfill-npns';
import { createDynamoCheckpointStore } from '#sync/checkpoint';
import { finalizeItems, type FinalizeEvent, type FinalizeResult } from '#sync/events';
import { createDynamoRunLeases } from '#sync/run-lease';
import { advanceTarget } from '#sync/run-plan';
import { createDynamoRunStore, type RunWatermark } from '#sync/run-record';
import { newestRead, summarizeRun } from '#sync/run-summary';
import { createDynamoWatermarkStore, watermarkAgeHours } from '#sync/watermark';

/** Options of `createFinalizeHandler`. */
export interface FinalizeHandlerOptions {
  /** The clock of `finishedAt`, `advancedAt` and the age metric. @default Date.now */
  now?: () => number;
}

/** The RecordRun handler over the control table named in the environment. */
export function createFinalizeHandler({ now = Date.now }: FinalizeHandlerOptions = {}): (event: FinalizeEvent, context?: Context) => Promise<FinalizeResult> {
  return async (event, context) => {
    addLambdaContext(context);
    const runId = event?.runId;
    if (typeof runId !== 'string' || runId === '') throw new Error('finalize needs {runId, endpoints, results}');
    logger.setCorrelationId(runId);
    const items = finalizeItems(event);
    const store = { client: dynamoClient(), tableName: requiredEnv('CONTROL_TABLE_NAME') };
    const runs = createDynamoRunStore(store);
    const checkpoints = createDynamoCheckpointStore(store);
    const watermarks = createDynamoWatermarkStore(store);

    const [run, ...loaded] = await Promise.all([runs.load(runId), ...items.map((item) => checkpoints.load(runId, item.endpoint, item.stream))]);
    const { toResume, ...summary } = summarizeRun(event, items, loaded);
    const finishedAt = new Date(now());
    const at = finishedAt.toISOString();

    let watermark: RunWatermark | undefined;
    if (summary.status === 'SUCCEEDED') {
      const target = advanceTarget(run?.advance, run?.runDate, newestRead(loaded));
      const advanced = target === undefined ? false : await watermarks.advance(target, { runId, at });
      if (run?.initialLoad) await watermarks.finishInitialLoad(runId, at);
      await createDynamoRunLeases(store).release(runId);
      watermark = { ...(target ? { target } : {}), advanced };
    }
    // A failed run leaves its lease to lapse: ResumeFailed may still renew it.
    const state = await watermarks.load();
    if (watermark && state.watermark) watermark.value = state.watermark;

    const startedAtMs = run?.startedAt === undefined ? Number.NaN : Date.parse(run.startedAt);
    await runs.finish(runId, {
      ...summary,
      finishedAt: at,
      durationMs: Number.isNaN(startedAtMs) ? 0 : Math.max(0, finishedAt.getTime() - startedAtMs),
      ...(watermark ? { watermark } : {}),
    });
    const found = items[0]?.npns ? npnsFound(loaded) : [];
    if (found.length > 0) {
      // Idempotent: a second RecordRun (after ResumeFailed) takes out the same NPNs again.
      await createDynamoPendingActivationStore(store).resolve(runId, found);
      logger.info('pending activations resolved', { npnCount: found.length });
    }
    const age = watermarkAgeHours(state, finishedAt.getTime());
    publishCounts({
      ...(summary.status === 'SUCCEEDED' ? { RunsSucceeded: 1 } : {}),
      ...(age === undefined ? {} : { WatermarkAgeHours: age }),
      ...(summary.totals.corrected === undefined ? {} : { RecordsCorrected: summary.totals.corrected }),
    });
    logger.info('run recorded', { status: summary.status, totals: summary.totals, failedEndpoints: summary.failedEndpoints, watermark });
    return { status: summary.status, failedEndpoints: toResume };
  };
}

/** The RecordRun handler. */
export const handler = createFinalizeHandler();
