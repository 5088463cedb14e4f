/**
 * Active-run leases (docs/SYNC.md "Reconcile"): every run but a reconcile holds an expiring lease in the
 * control table (`LEASE#sync-runs` / `RUN#<runId>`) from Prepare to Finalize, renewed by each of its
 * SyncPages invocations. A reconcile's page loop yields (a Step Functions Wait) while any lease is
 * live, so the weekly full pass never delays the daily run. A run that dies simply stops renewing: its
 * lease lapses after LEASE_MS. The store interface and its DynamoDB adapter.
 */
import { DeleteItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/** How long a lease lives without renewal: longer than one SyncPages invocation (15 min) plus a short Wait. */
export const LEASE_MS = 30 * 60 * 1000;

/** Where leases are kept. */
export interface RunLeases {
  /** Takes or renews the run's lease until `nowMs + LEASE_MS`. */
  hold(runId: string, nowMs: number): Promise<void>;
  /** Ends the run's lease. */
  release(runId: string): Promise<void>;
  /** The runs whose lease is live at `nowMs`. */
  active(nowMs: number): Promise<string[]>;
}

/** Options of `createDynamoRunLeases`. */
export interface DynamoRunLeasesOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
}

const LEASE_PK = 'LEASE#sync-runs';
const leaseKey = (runId: string) => marshall({ pk: LEASE_PK, sk: `RUN#${runId}` });

/** The run leases on the DynamoDB control table. */
export function createDynamoRunLeases({ client, tableName }: DynamoRunLeasesOptions): RunLeases {
  return {
    async hold(runId, nowMs) {
      const until = nowMs + LEASE_MS;
      // TTL deletes late (up to days): `until` is what counts, `expiresAt` only clears the item away.
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: marshall({ ...unmarshall(leaseKey(runId)), runId, until, expiresAt: Math.floor(until / 1000) + 86_400 }) }),
      );
    },

    async release(runId) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: leaseKey(runId) }));
    },

    async active(nowMs) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: '#until > :now',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: marshall({ ':pk': LEASE_PK, ':now': nowMs }),
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map((item) => String(unmarshall(item).runId));
    },
  };
}
