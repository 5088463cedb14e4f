/**
 * `Prepare` task (Lambda `producersync-prepare`): validates the execution input, plans the run against
 * the watermark (run-plan.ts: what it reads, how it moves the watermark, whether it is the initial
 * load), writes the run record, takes the active-run lease and fans the run out into one Map item per
 * endpoint, or per NPN-slice stream for a full pull's largest endpoints (partition-planner.ts)
 * (docs/SYNC.md, step 1). Bad input throws `InvalidInput` (caught → Fail); a second initial load while
 * one is in flight returns no endpoints and a `skipped` reason (the state machine ends at once).
 */
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { numberEnv, requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import { API_LIMITS } from '#producersync/endpoints';
import { NPN_STATUS_TARGET, type PrepareEvent, type PrepareResult, type SyncPagesEvent } from '#sync/events';
import { partitionedItems } from '#sync/partition-planner';
import { createDynamoRunLeases } from '#sync/run-lease';
import { planRun } from '#sync/run-plan';
import { createDynamoRunStore } from '#sync/run-record';
import { parseSyncInput, syncEndpoints } from '#sync/sync-input';
import { createDynamoWatermarkStore } from '#sync/watermark';

/** Options of `createPrepareHandler`. */
export interface PrepareHandlerOptions {
  /** Prepare's clock: "tomorrow" for run dates, today − 1 for a catch-up, leases, a reconcile's pass start. @default Date.now */
  now?: () => number;
}

/** The Prepare handler over the control table named in the environment. */
export function createPrepareHandler({ now = Date.now }: PrepareHandlerOptions = {}): (event: PrepareEvent, context?: Context) => Promise<PrepareResult> {
  return async (event, context) => {
    addLambdaContext(context);
    const runId = event?.executionName;
    // A wiring error, not bad user input: let it fail loudly rather than as InvalidInput.
    if (typeof runId !== 'string' || runId === '') throw new Error('executionName is missing from the Prepare payload');
    logger.setCorrelationId(runId);
    const nowMs = now();
    const request = parseSyncInput(event.input, new Date(nowMs));
    const endpoints = syncEndpoints();
    const startedAt = typeof event.startTime === 'string' && !Number.isNaN(Date.parse(event.startTime)) ? event.startTime : new Date(nowMs).toISOString();

    const store = { client: dynamoClient(), tableName: requiredEnv('CONTROL_TABLE_NAME') };
    const watermarks = createDynamoWatermarkStore(store);
    // Only incremental and catch-up runs depend on the watermark (where they read from, and day 0).
    const needsWatermark = (request.mode === 'incremental' && !request.exact) || request.mode === 'catchUp';
    const plan = planRun(request, needsWatermark ? await watermarks.load() : {}, nowMs);
    const { mode, runDate, updatedSince, npns, endpointMode, advance, initialLoad } = plan;

    let skipped: string | undefined;
    if (initialLoad) {
      const claim = await watermarks.claimInitialLoad({ runId, startedAt: new Date(nowMs).toISOString() }, nowMs);
      if (!claim.claimed) skipped = `another initial load (${claim.inFlight}) is in flight`;
    }
    await createDynamoRunStore(store).start({
      runId,
      mode,
      ...(runDate ? { runDate } : {}),
      ...(npns ? { npns } : {}),
      startedAt,
      updatedSince,
      advance,
      ...(initialLoad ? { initialLoad: true as const } : {}),
      ...(skipped ? { skipped } : {}),
    });
    if (skipped) {
      logger.info('run skipped', { runId, mode, reason: skipped });
      return { runId, mode, updatedSince, npns, endpoints: [], skipped };
    }
    // Every run but a reconcile holds the active-run lease, so a reconcile's page loop yields to it.
    if (endpointMode !== 'reconcile') await createDynamoRunLeases(store).hold(runId, nowMs);

    const item = { runId, mode: endpointMode, updatedSince, npns };
    let items: SyncPagesEvent[] = endpoints.map((endpoint) => ({ ...item, endpoint }));
    // A full pull (a backfill of everything, the initial load) pages its largest endpoints in NPN slices.
    if (endpointMode === 'backfill' && npns === null) {
      items = await partitionedItems(items, {
        runId,
        endpoints,
        controlStore: store,
        dataTableName: process.env.DATA_TABLE_NAME,
        forced: process.env.PARTITION_FORCE,
        pageSize: Math.min(numberEnv('PAGE_SIZE', API_LIMITS.maxPageSize), API_LIMITS.maxPageSize),
        requestsPerMinute: numberEnv('API_REQUESTS_PER_MINUTE', API_LIMITS.apiRequestsPerMinute),
        nowMs,
      });
    }
    if (endpointMode === 'reconcile') {
      const passStartedAt = new Date(nowMs).toISOString();
      for (const each of items) each.passStartedAt = passStartedAt;
      items.push({ ...item, endpoint: NPN_STATUS_TARGET, passStartedAt });
    }
    logger.info('run prepared', { runId, mode, updatedSince, advance, initialLoad, npnCount: npns?.length ?? null, endpoints: items.map((i) => i.endpoint) });
    return { runId, mode, updatedSince, npns, endpoints: items };
  };
}

/** The Prepare handler. */
export const handler = createPrepareHandler();
