/**
 * The NPN slices of a partitioned endpoint (docs/SYNC.md "Partitions"): control-table items
 * `RUN#<runId>` / `SLICE#<endpoint>#<index>`, one per slice, its NPNs as one comma-joined string,
 * expiring like the run's seen keys. Prepare stores them, SyncPages loads the slice its stream is at,
 * so the state machine's items carry only `{endpoint, stream, streams, slices}`. The store interface
 * and its DynamoDB adapter.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { EndpointName } from '#producersync/endpoints';
import { mapWithConcurrency } from '#sync/concurrency';
import { SEEN_KEYS_TTL_DAYS } from '#sync/seen-keys';

/** Where slices are kept. */
export interface SliceStore {
  /** Stores every slice of `endpoint` (idempotent: a retried Prepare writes the same items). */
  put(runId: string, endpoint: EndpointName, slices: readonly (readonly string[])[]): Promise<void>;
  /** The NPNs of slice `index`; a missing slice is an error (its NPNs would be skipped). */
  load(runId: string, endpoint: EndpointName, index: number): Promise<string[]>;
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

/** The slice store on the DynamoDB control table. */
export function createDynamoSliceStore({ client, tableName, now = Date.now }: DynamoSliceStoreOptions): SliceStore {
  return {
    async put(runId, endpoint, slices) {
      const expiresAt = Math.floor(now() / 1000) + SEEN_KEYS_TTL_DAYS * 86_400;
      await mapWithConcurrency([...slices.entries()], 8, ([index, npns]) =>
        client.send(new PutItemCommand({ TableName: tableName, Item: marshall({ ...sliceKey(runId, endpoint, index), npns: npns.join(','), expiresAt }) })),
      );
    },

    async load(runId, endpoint, index) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: marshall(sliceKey(runId, endpoint, index)), ConsistentRead: true }));
      const npns = out.Item ? (unmarshall(out.Item) as { npns?: unknown }).npns : undefined;
      if (typeof npns !== 'string' || npns === '') throw new Error(`slice ${index} of ${endpoint} in run ${runId} is missing from the control table`);
      return npns.split(',');
    },
  };
}
