/**
 * A reconcile's sweep (docs/SYNC.md "Reconcile"): once an endpoint's pass is complete, every item of its
 * type that changed before the pass started and that the pass did not see is what the API no longer
 * returns. The sweep enumerates the type through the change index, one shard after the other, resumably
 * (checkpointed after every index page, bounded by the invocation's time budget, looped by the state
 * machine like the pages), and marks those items: soft, `missingFromSource`, never a delete. NPN
 * status items are swept the same way, an ACTIVE NPN the subscription list no longer holds becoming
 * DEACTIVATED. The index reader/marker interface, its DynamoDB adapter and the sweep itself.
 */
import { ConditionalCheckFailedException, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { logger } from '#commons/logger';
import { CHANGE_INDEX_NAME, TYPE_SHARDS, typeShardValue } from '#sync/change-index';
import { CheckpointConflictError, type Checkpoint, type CheckpointStore, type SweepPosition } from '#sync/checkpoint';
import { mapWithConcurrency } from '#sync/concurrency';
import { NPN_STATUS_TARGET, type SyncTarget } from '#sync/events';
import type { MissingFromSource } from '#sync/record-store';
import { compactKey, type ItemKey, type SeenKeyStore } from '#sync/seen-keys';

/** One change-index entry, as the sweep reads it (the index projects these few attributes). */
export interface IndexEntry extends ItemKey {
  /** Already marked by an earlier reconcile: nothing to write. */
  missing: boolean;
  /** NPN status items: ACTIVE or DEACTIVATED. */
  status?: string;
}

/** The change index as the sweep uses it. */
export interface SweepStore {
  /** One page of the entries of `typeShard` that changed before `before` (ISO), from `startKey` (JSON). */
  page(typeShard: string, before: string, startKey?: string): Promise<{ entries: IndexEntry[]; nextKey?: string }>;
  /** Marks the item missing unless it is marked already or changed at or after `before`; true when it wrote. */
  markMissing(key: ItemKey, mark: MissingFromSource, before: string): Promise<boolean>;
}

/** Options of `createDynamoSweepStore`. */
export interface DynamoSweepStoreOptions {
  client: DynamoDBClient;
  /** The data table. */
  tableName: string;
}

/** The sweep's reads and marks on the data table and its change index. */
export function createDynamoSweepStore({ client, tableName }: DynamoSweepStoreOptions): SweepStore {
  return {
    async page(typeShard, before, startKey) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: CHANGE_INDEX_NAME,
          KeyConditionExpression: 'typeShard = :shard AND changedAt < :before',
          ExpressionAttributeValues: marshall({ ':shard': typeShard, ':before': before }),
          ...(startKey ? { ExclusiveStartKey: JSON.parse(startKey) as Record<string, AttributeValue> } : {}),
        }),
      );
      const entries = (out.Items ?? []).map((raw) => {
        const item = unmarshall(raw);
        return { pk: String(item.pk), sk: String(item.sk), missing: item.missingFromSource !== undefined, ...(typeof item.status === 'string' ? { status: item.status } : {}) };
      });
      return { entries, ...(out.LastEvaluatedKey ? { nextKey: JSON.stringify(out.LastEvaluatedKey) } : {}) };
    },

    async markMissing(key, mark, before) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: marshall({ pk: key.pk, sk: key.sk }),
            // The mark is a change of the item: changedAt moves, so the stream and the index carry it once.
            UpdateExpression: 'SET missingFromSource = :mark, changedAt = :at',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(missingFromSource) AND changedAt < :before',
            ExpressionAttributeValues: marshall({ ':mark': mark, ':at': mark.since, ':before': before }),
          }),
        );
        return true;
      } catch (error) {
        // Written since the index was read (a concurrent run, or the source returned it again): not missing.
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
  };
}

/** What the sweep of one endpoint works with. */
export interface SweepContext {
  store: SweepStore;
  seen: SeenKeyStore;
  checkpoints: CheckpointStore;
  /** NPN status target: sets an ACTIVE NPN the subscription list no longer holds DEACTIVATED; true when it wrote. */
  deactivate(npn: string): Promise<boolean>;
  /** Items changed at or after this ISO time are the pass's own or a concurrent run's: never missing. */
  passStartedAt: string;
  now: () => number;
  /** Epoch ms after which no further index page is started. */
  deadline: number;
}

/** Marks in flight at once. */
const MARK_CONCURRENCY = 16;

/**
 * Sweeps `checkpoint`'s endpoint from where it stands until every shard is done or the deadline passes;
 * returns the checkpoint as saved (`done` once the last shard is swept).
 */
export async function sweepEndpoint(checkpoint: Checkpoint, context: SweepContext): Promise<Checkpoint> {
  const { runId, endpoint } = checkpoint;
  let current = checkpoint;
  let position: SweepPosition = current.sweep ?? { shard: 0, steps: 0 };
  while (position.shard < TYPE_SHARDS) {
    const shard = position.shard;
    const seen = await context.seen.loadShard(endpoint, shard);
    do {
      const page = await context.store.page(typeShardValue(endpoint, shard), context.passStartedAt, position.startKey);
      const since = new Date(context.now()).toISOString();
      const unseen = page.entries.filter((entry) => !seen.has(compactKey(entry)));
      const wrote = await mapWithConcurrency(unseen, MARK_CONCURRENCY, (entry) => markEntry(endpoint, entry, { reason: 'notReturnedBySource', since, runId }, context));
      const marked = wrote.filter(Boolean).length;
      position = page.nextKey ? { shard, startKey: page.nextKey, steps: position.steps + 1 } : { shard: shard + 1, steps: position.steps + 1 };
      const next: Checkpoint = { ...current, marked: current.marked + marked, sweep: position, done: position.shard >= TYPE_SHARDS };
      try {
        await context.checkpoints.save(next, current.pages, current.sweep?.steps ?? 0);
      } catch (error) {
        if (!(error instanceof CheckpointConflictError)) throw error;
        // A duplicate invocation swept this page first; its marks stand, the state machine calls again.
        logger.warn('sweep checkpoint moved by another invocation');
        return (await context.checkpoints.load(runId, endpoint)) ?? current;
      }
      current = next;
      if (marked > 0) logger.info('items no longer returned by the source marked', { shard, marked });
      if (current.done) return current;
      if (context.now() > context.deadline) return current;
    } while (position.shard === shard);
  }
  return current;
}

/** Marks one unseen entry: a record item missing, an ACTIVE status item DEACTIVATED. */
async function markEntry(endpoint: SyncTarget, entry: IndexEntry, mark: MissingFromSource, context: SweepContext): Promise<boolean> {
  if (endpoint === NPN_STATUS_TARGET) {
    return entry.status === 'ACTIVE' ? context.deactivate(entry.pk.slice(entry.pk.indexOf('#') + 1)) : false;
  }
  return entry.missing ? false : context.store.markMissing(entry, mark, context.passStartedAt);
}
