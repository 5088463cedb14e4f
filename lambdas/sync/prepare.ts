/**
 * `Prepare` task (Lambda `producersync-prepare`): validates the execution input, plans the run against
 * the watermark (run-plan.ts: what it reads, how it moves the watermark, whether it is the initial
 * load), writes the run record, takes the active-run lease and fans the run out into one Map item per
 * endpoint (docs/SYNC.md, step 1). Bad input throws `InvalidInput` (caught → Fail); a second initial load
 * while one is in flight returns no endpoints and a `skipped` reason (the state machine ends at once).
 */
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { numberEnv, requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { API_LIMITS, isEndpointName, type EndpointName } from '#producersync/endpoints';
import { NPN_STATUS_TARGET, type PrepareEvent, type PrepareResult, type SyncPagesEvent } from '#sync/events';
import {
  FIRST_PAGE_URL_BYTES,
  LOOP_SECONDS_PER_PAGE,
  npnsPerSlice,
  parseForcedPartitions,
  sliceEndpoints,
  streamPlanOf,
  withStreams,
} from '#sync/partition';
import { createDynamoRunLeases } from '#sync/run-lease';
import { planRun } from '#sync/run-plan';
import { createDynamoRunStore, type RunStore } from '#sync/run-record';
import { createDynamoSliceStore } from '#sync/slice-store';
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
    if (endpointMode === 'backfill' && npns === null) items = await partitioned(items, { runId, endpoints, store, nowMs });
    if (endpointMode === 'reconcile') {
      const passStartedAt = new Date(nowMs).toISOString();
      for (const each of items) each.passStartedAt = passStartedAt;
      items.push({ ...item, endpoint: NPN_STATUS_TARGET, passStartedAt });
    }
    logger.info('run prepared', { runId, mode, updatedSince, advance, initialLoad, npnCount: npns?.length ?? null, endpoints: items.map((i) => i.endpoint) });
    return { runId, mode, updatedSince, npns, endpoints: items };
  };
}

/**
 * The items of a full pull with its partitions (docs/SYNC.md "Partitions"): sized by the previous complete
 * full run's counts over the NPN status items, or forced by PARTITION_FORCE; each slice stored in the
 * control table. Nothing is partitioned without NPN status items, without a previous complete full run
 * (unless forced), or without DATA_TABLE_NAME (a deployment made before partitions).
 */
async function partitioned(
  items: SyncPagesEvent[],
  { runId, endpoints, store, nowMs }: { runId: string; endpoints: readonly EndpointName[]; store: { client: ReturnType<typeof dynamoClient>; tableName: string }; nowMs: number },
): Promise<SyncPagesEvent[]> {
  const dataTableName = process.env.DATA_TABLE_NAME;
  if (!dataTableName) return items;
  const slices = createDynamoSliceStore({ ...store, now: () => nowMs });
  // Run again under the same name: the streams' checkpoints point at the slices first stored.
  const recorded = await slices.loadPlan(runId);
  if (recorded) return withStreams(items, recorded);
  const forced = parseForcedPartitions(process.env.PARTITION_FORCE, isEndpointName).filter((f) => endpoints.includes(f.endpoint));
  const npns = await createDynamoNpnStatusStore({ client: store.client, tableName: dataTableName }).listNpns();
  const records = forced.length > 0 || npns.length === 0 ? undefined : await previousRecords(createDynamoRunStore(store), endpoints);
  const { sliced, plan: sizing } = sliceEndpoints(
    {
      records,
      npns,
      pageSize: Math.min(numberEnv('PAGE_SIZE', API_LIMITS.maxPageSize), API_LIMITS.maxPageSize),
      requestsPerMinute: numberEnv('API_REQUESTS_PER_MINUTE', API_LIMITS.apiRequestsPerMinute),
      loopSecondsPerPage: LOOP_SECONDS_PER_PAGE,
      npnsPerSlice: npnsPerSlice(FIRST_PAGE_URL_BYTES),
    },
    forced,
  );
  for (const { endpoint, slices: lists } of sliced) await slices.put(runId, endpoint, lists);
  const plan = await slices.savePlan(runId, streamPlanOf(sliced));
  logger.info('partitions planned', {
    npnCount: npns.length,
    forced: forced.length > 0,
    previousRun: records !== undefined,
    partitions: sliced.map(({ endpoint, streams, slices: lists }) => ({ endpoint, streams, slices: lists.length })),
    ...(sizing ? { baseRequests: sizing.baseRequests, extraRequests: sizing.extraRequests, leftAsTail: sizing.leftAsTail } : {}),
  });
  return withStreams(items, plan);
}

/** The previous complete full run's `recordsSeen` of this run's endpoints (undefined: there is none). */
async function previousRecords(runs: RunStore, endpoints: readonly EndpointName[]): Promise<Partial<Record<EndpointName, number>> | undefined> {
  const previous = await runs.lastCompleteFullRun();
  if (!previous?.endpoints) return undefined;
  return Object.fromEntries(endpoints.flatMap((endpoint) => (previous.endpoints?.[endpoint] ? [[endpoint, previous.endpoints[endpoint].recordsSeen]] : [])));
}

/** The Prepare handler. */
export const handler = createPrepareHandler();
