/**
 * Prepare's partition planning (docs/SYNC.md "Partitions"): reads what the sizing rule needs (the NPN
 * status items, the previous complete full run's counts), applies the pure rule of partition.ts, stores
 * the slices and the run's plan (slice-store.ts) and turns a full pull's Map items into stream items.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { logger } from '#commons/logger';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { isEndpointName, type EndpointName } from '#producersync/endpoints';
import type { SyncPagesEvent } from '#sync/events';
import { FIRST_PAGE_URL_BYTES, LOOP_SECONDS_PER_PAGE, npnsPerSlice, parseForcedPartitions, sliceEndpoints, streamPlanOf, withStreams } from '#sync/partition';
import { createDynamoRunStore, type RunStore } from '#sync/run-record';
import { createDynamoSliceStore } from '#sync/slice-store';

/** Options of `partitionedItems`. */
export interface PartitionPlannerOptions {
  runId: string;
  /** The run's endpoints. */
  endpoints: readonly EndpointName[];
  /** The control table: the run store, the slices and the plan. */
  controlStore: { client: DynamoDBClient; tableName: string };
  /** The data table (its NPN status items); unset (a deployment made before partitions): nothing is partitioned. */
  dataTableName: string | undefined;
  /** PARTITION_FORCE, `endpoint:streams:slices,...`: a forced plan instead of the rule (operators and tests). */
  forced: string | undefined;
  /** Records a page (PAGE_SIZE). */
  pageSize: number;
  /** The shared budget (API_REQUESTS_PER_MINUTE). */
  requestsPerMinute: number;
  /** Prepare's clock (the slices' TTL). */
  nowMs: number;
}

/**
 * The items of a full pull with its partitions (docs/SYNC.md "Partitions"): sized by the previous complete
 * full run's counts over the NPN status items, or forced (PARTITION_FORCE); each slice stored in the
 * control table. Nothing is partitioned without NPN status items, without a previous complete full run
 * (unless forced), or without DATA_TABLE_NAME (a deployment made before partitions).
 */
export async function partitionedItems(items: SyncPagesEvent[], options: PartitionPlannerOptions): Promise<SyncPagesEvent[]> {
  const { runId, endpoints, controlStore: store, dataTableName, nowMs } = options;
  if (!dataTableName) return items;
  const slices = createDynamoSliceStore({ ...store, now: () => nowMs });
  // Run again under the same name: the streams' checkpoints point at the slices first stored.
  const recorded = await slices.loadPlan(runId);
  if (recorded) return withStreams(items, recorded);
  const forced = parseForcedPartitions(options.forced, isEndpointName).filter((f) => endpoints.includes(f.endpoint));
  const npns = await createDynamoNpnStatusStore({ client: store.client, tableName: dataTableName }).listNpns();
  const records = forced.length > 0 || npns.length === 0 ? undefined : await previousRecords(createDynamoRunStore(store), endpoints);
  const { sliced, plan: sizing } = sliceEndpoints(
    {
      records,
      npns,
      pageSize: options.pageSize,
      requestsPerMinute: options.requestsPerMinute,
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
