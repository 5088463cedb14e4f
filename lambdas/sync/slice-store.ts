/**
 * The NPN slices of a partitioned endpoint (docs/SYNC.md "Partitions"): control-table items
 * `RUN#<runId>` / `SLICE#<endpoint>#<index>`, one per slice, its NPNs as one comma-joined string, and
 * the run's plan `RUN#<runId>` / `PARTITIONS` (`[{endpoint, streams, slices}]`), all expiring like the
 * run's seen keys. Prepare stores them, SyncPages loads the slice its stream is at, so the state
 * machine's items carry only `{endpoint, stream, streams, slices}`. The plan is written once, after its
 * slices: a Prepare run again under the same name (a rerun of a failed execution) reuses it, so the
 * streams' checkpoints keep pointing at the slices they were paging even if the NPN list changed since.
 * The store interface and its DynamoDB adapter.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { EndpointName } from '#producersync/endpoints';
import { mapWithConcurrency } from '#sync/concurrency';
import type { StreamPlan } from '#sync/partition';
import { SEEN_KEYS_TTL_DAYS } from '#sync/seen-keys';

/** Where slices are kept. */
export interface SliceStore {
  /** Stores every slice of `endpoint` (idempotent: a retried Prepare writes the same items). */
  put(runId: string, endpoint: EndpointName, slices: readonly (readonly string[])[]): Promise<void>;
  /** The NPNs of slice `index`; a missing slice is an error (its NPNs would be skipped). */
  load(runId: string, endpoint: EndpointName, index: number): Promise<string[]>;
  /** Records the run's plan unless one is recorded; the plan that stands (the first). */
  savePlan(runId: string, plan: readonly StreamPlan[]): Promise<StreamPlan[]>;
  /** The run's recorded plan, if Prepare has recorded one. */
  loadPlan(runId: string): Promise<StreamPlan[] | undefined>;
}

/** Options of `createDynamoSliceStore`. */
export interface DynamoSliceStoreOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
  /** Clock of the TTL. @default Date.now */
  now?: () => number;
}

/** The control-table key of a slice. */
export const sliceKey = (runId: string, endpoint: string, index: number) => ({ pk: `RUN#${runId}`, sk: `SLICE#${endpoint}#${String(index).padStart(5, '0')}` });

/** The control-table key of a run's partition plan. */
const planKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'PARTITIONS' });

/** The slice store on the DynamoDB control table. */
export function createDynamoSliceStore({ client, tableName, now = Date.now }: DynamoSliceStoreOptions): SliceStore {
  const expiresAt = (): number => Math.floor(now() / 1000) + SEEN_KEYS_TTL_DAYS * 86_400;
  const store: SliceStore = {
    async put(runId, endpoint, slices) {
      const ttl = expiresAt();
      await mapWithConcurrency([...slices.entries()], 8, ([index, npns]) =>
        client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ ...sliceKey(runId, endpoint, index), npns: npns.join(','), expiresAt: ttl }) })),
      );
    },

    async load(runId, endpoint, index) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: marshall(sliceKey(runId, endpoint, index)), ConsistentRead: true }));
      const npns = out.Item ? (unmarshall(out.Item) as { npns?: unknown }).npns : undefined;
      if (typeof npns !== 'string' || npns === '') throw new Error(`slice ${index} of ${endpoint} in run ${runId} is missing from the control table`);
      return npns.split(',');
    },

    async savePlan(runId, plan) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: marshall({ ...planKey(runId), partitions: plan, expiresAt: expiresAt() }),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return [...plan];
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        return (await store.loadPlan(runId)) ?? [...plan];
      }
    },

    async loadPlan(runId) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: marshall(planKey(runId)), ConsistentRead: true }));
      return out.Item ? ((unmarshall(out.Item) as { partitions: StreamPlan[] }).partitions ?? []) : undefined;
    },
  };
  return store;
}
