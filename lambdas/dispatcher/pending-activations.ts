/**
 * Pending activations in the control table: one item per activation backfill execution
 * (`ACTIVATION#<executionName>` / `PENDING`) holding that execution's activated NPNs that have no
 * data yet, as a string set. The backfill's Finalize removes the NPNs that returned records; the
 * hourly retry (activations.ts) regroups the rest. `kind = "pendingActivation"` and `startedAt` = the
 * next attempt's time put the items on the `byKind` index in the order they fall due, so the retry
 * reads only the due ones. Items written by 0.1 (one per NPN: `ACTIVATION#<npn>`, `npn`, `startedAt`
 * = first seen) read as groups of one. The store interface and its DynamoDB adapter.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/** The `kind` that lists pending activations in the `byKind` index. */
export const PENDING_ACTIVATION_KIND = 'pendingActivation';

/** The activated NPNs of one backfill execution that are still waiting for data. */
export interface PendingGroup {
  /** The item's id after `ACTIVATION#`: the backfill execution's name (an NPN for items written by 0.1). */
  id: string;
  npns: string[];
  /** Backfills these NPNs have had (the most any of them has had, after a regrouping). */
  attempts: number;
  /** When the earliest of these NPNs was activated: the 7-day give-up counts from here. */
  firstSeenAt: string;
  /** When the retry may backfill them again (the backfill's execution must have ended too). */
  nextAttemptAt: string;
  executionArn?: string;
  /** Safety-net TTL (epoch seconds): the retry deletes the item when it resolves or gives up. */
  expiresAt: number;
}

/** A due group as the `byKind` index lists it: what the retry decides on, without the NPNs (read consistently with `get`). */
export type DueGroup = Omit<PendingGroup, 'npns' | 'expiresAt'>;

/** Where pending activations are kept. */
export interface PendingActivationStore {
  /**
   * Writes a new group. A group already written for the same execution is kept as it is (a delivery
   * repeated after a crash), since its backfill's Finalize may have taken NPNs out of it meanwhile.
   */
  put(group: PendingGroup): Promise<void>;
  /** The groups whose next attempt is due at `nowIso`, oldest due first, one index page at a time. */
  due(nowIso: string, pageSize?: number): AsyncGenerator<DueGroup[]>;
  /** The group read consistently (the index lags the table, e.g. right after a Finalize). */
  get(id: string): Promise<PendingGroup | undefined>;
  /** Takes NPNs out of a group: they returned records (Finalize), or moved to a new group (the retry). No-op for a missing group. */
  resolve(id: string, npns: readonly string[]): Promise<void>;
  forget(id: string): Promise<void>;
}

/** Options of `createDynamoPendingActivationStore`. */
export interface DynamoPendingActivationStoreOptions {
  client: DynamoDBClient;
  /** The control table (with its `byKind` index). */
  tableName: string;
}

const ACTIVATION_PREFIX = 'ACTIVATION#';
const pendingKey = (id: string) => marshall({ pk: `${ACTIVATION_PREFIX}${id}`, sk: 'PENDING' });
/** What the retry decides on; the NPN sets stay out of the index pages. */
const DUE_PROJECTION = { '#pk': 'pk', '#attempts': 'attempts', '#firstSeenAt': 'firstSeenAt', '#nextAttemptAt': 'nextAttemptAt', '#executionArn': 'executionArn' };

/** The pending-activation store on the DynamoDB control table. */
export function createDynamoPendingActivationStore({ client, tableName }: DynamoPendingActivationStoreOptions): PendingActivationStore {
  return {
    async put(group) {
      const { id, npns, ...rest } = group;
      if (npns.length === 0) throw new Error(`pending group ${id} has no NPNs`);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: marshall(
              { ...rest, npns: new Set(npns), pk: `${ACTIVATION_PREFIX}${id}`, sk: 'PENDING', kind: PENDING_ACTIVATION_KIND, startedAt: group.nextAttemptAt },
              { removeUndefinedValues: true },
            ),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },

    async *due(nowIso, pageSize = 100) {
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: 'byKind',
            KeyConditionExpression: '#kind = :kind AND #startedAt <= :now',
            ProjectionExpression: Object.keys(DUE_PROJECTION).join(', '),
            ExpressionAttributeNames: { ...DUE_PROJECTION, '#kind': 'kind', '#startedAt': 'startedAt' },
            ExpressionAttributeValues: marshall({ ':kind': PENDING_ACTIVATION_KIND, ':now': nowIso }),
            Limit: pageSize,
            ExclusiveStartKey: startKey,
          }),
        );
        const groups = (page.Items ?? []).flatMap((item) => {
          const due = dueGroupOf(unmarshall(item));
          return due ? [due] : [];
        });
        startKey = page.LastEvaluatedKey;
        if (groups.length > 0) yield groups;
      } while (startKey);
    },

    async get(id) {
      const got = await client.send(new GetItemCommand({ TableName: tableName, Key: pendingKey(id), ConsistentRead: true }));
      if (!got.Item) return undefined;
      const item = unmarshall(got.Item);
      const due = dueGroupOf(item);
      if (!due) return undefined;
      const npns = item.npns instanceof Set ? [...(item.npns as Set<string>)] : typeof item.npn === 'string' ? [item.npn] : [];
      return { ...due, npns: npns.sort(), expiresAt: Number(item.expiresAt) };
    },

    async resolve(id, npns) {
      if (npns.length === 0) return;
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: pendingKey(id),
            UpdateExpression: 'DELETE #npns :npns',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#npns': 'npns' },
            ExpressionAttributeValues: marshall({ ':npns': new Set(npns) }),
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },

    async forget(id) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: pendingKey(id) }));
    },
  };
}

/** The group in a stored or projected item, or undefined for an item of another shape. */
function dueGroupOf(item: Record<string, unknown>): DueGroup | undefined {
  const { pk, attempts, firstSeenAt, nextAttemptAt, executionArn } = item;
  if (typeof pk !== 'string' || !pk.startsWith(ACTIVATION_PREFIX) || typeof firstSeenAt !== 'string' || typeof nextAttemptAt !== 'string') return undefined;
  return {
    id: pk.slice(ACTIVATION_PREFIX.length),
    attempts: typeof attempts === 'number' ? attempts : 1,
    firstSeenAt,
    nextAttemptAt,
    ...(typeof executionArn === 'string' ? { executionArn } : {}),
  };
}
