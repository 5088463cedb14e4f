/**
 * The checkpoint of one endpoint in one run (control-table item `RUN#<runId>` / `ENDPOINT#<name>`, a
 * partitioned endpoint's stream `ENDPOINT#<name>#<stream>`):
 * its cursor and its counts, saved after every page so any invocation resumes where the last one
 * committed. The store interface and its DynamoDB adapter.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { CursorGuardState } from '#sync/cursor-guard';
import type { SyncTarget } from '#sync/events';
import type { PageOutcome } from '#sync/record-store';

/** Everything an endpoint's sync has counted so far in one run (the run record repeats these per endpoint). */
export interface EndpointCounts extends PageOutcome {
  /** Pages committed to the checkpoint. */
  pages: number;
  /** Records on those pages (every one lands in exactly one PageOutcome bucket). */
  recordsSeen: number;
  /** Times the endpoint handed a wait to the state machine. */
  throttled: number;
  /** Reconcile: items the sweep found the API no longer returns (marked, or NPN statuses set DEACTIVATED). */
  marked: number;
}

/** The names of EndpointCounts, in the order the run record and the CLI show them. */
export const COUNT_NAMES = [
  'pages',
  'recordsSeen',
  'inserted',
  'modified',
  'unchanged',
  'deleted',
  'stale',
  'quarantined',
  'throttled',
  'marked',
] as const satisfies readonly (keyof EndpointCounts)[];

/** Where a reconcile's sweep is: the change-index shard it reads and the index page to go on from. */
export interface SweepPosition {
  shard: number;
  /** The index Query's LastEvaluatedKey (JSON), absent at the start of the shard. */
  startKey?: string;
  /** Saves of the sweep so far: its version, as `pages` is the page loop's. */
  steps: number;
}

/** Control-table item `RUN#<runId>` / `ENDPOINT#<name>`: where an endpoint's sync is and what it has done. */
export interface Checkpoint extends EndpointCounts {
  runId: string;
  endpoint: SyncTarget;
  /** The next page to fetch; null before the first page and after the last. */
  nextUrl: string | null;
  /** Everything this endpoint has to do in the run is done (a reconcile: the pass and its sweep). */
  done: boolean;
  /** The account's API does not serve this optional endpoint (404 on its first page). */
  unsupported?: boolean;
  lastError?: string;
  /** The newest real `updatedAt` read so far (docs/SYNC.md "The watermark"). */
  newestUpdatedAt?: string;
  /** The continuation tokens this pass followed (cursor-guard.ts). */
  cursorGuard?: CursorGuardState;
  /** Reconcile: every page is read and its keys recorded; the sweep runs until `done`. */
  passComplete?: boolean;
  /** Reconcile: where the sweep is. */
  sweep?: SweepPosition;
  /** In a run of listed NPNs: those this endpoint returned records for so far (sync/backfill-npns.ts). */
  npnsWithRecords?: string[];
  /** A partitioned endpoint's page loop (docs/SYNC.md "Partitions"). */
  stream?: number;
  /** The stream's current slice (its first: `stream`); `nextUrl` and `cursorGuard` belong to this slice's pass. */
  slice?: number;
}

/** Another invocation saved this checkpoint first: reload it instead of overwriting its progress. */
export class CheckpointConflictError extends Error {
  override readonly name = 'CheckpointConflictError';
}

/** Counts with every value at zero. */
export const emptyCounts = (): EndpointCounts => ({
  pages: 0,
  recordsSeen: 0,
  inserted: 0,
  modified: 0,
  unchanged: 0,
  deleted: 0,
  stale: 0,
  quarantined: 0,
  throttled: 0,
  marked: 0,
});

/** The checkpoint of an endpoint (or one of its streams) that has not stored a page yet. */
export const initialCheckpoint = (runId: string, endpoint: SyncTarget, stream?: number): Checkpoint => ({
  runId,
  endpoint,
  nextUrl: null,
  done: false,
  ...emptyCounts(),
  ...(stream === undefined ? {} : { stream, slice: stream }),
});

/** The checkpoint after one more page: counts added, cursor moved, done when there is no next page. */
export function afterPage(checkpoint: Checkpoint, recordsOnPage: number, outcome: PageOutcome, nextUrl: string | null): Checkpoint {
  const { lastError: _cleared, ...rest } = checkpoint;
  return {
    ...rest,
    nextUrl,
    done: nextUrl === null,
    pages: checkpoint.pages + 1,
    recordsSeen: checkpoint.recordsSeen + recordsOnPage,
    inserted: checkpoint.inserted + outcome.inserted,
    modified: checkpoint.modified + outcome.modified,
    unchanged: checkpoint.unchanged + outcome.unchanged,
    deleted: checkpoint.deleted + outcome.deleted,
    stale: checkpoint.stale + outcome.stale,
    quarantined: checkpoint.quarantined + outcome.quarantined,
  };
}

/**
 * A stream whose slice just ended moves on to its next slice (stream + k × streams): a new pass from
 * its first page, with its own cursor guard; the stream is done after its last slice.
 */
export function nextSlice(checkpoint: Checkpoint, streams: number, slices: number): Checkpoint {
  if (!checkpoint.done || checkpoint.stream === undefined) return checkpoint;
  const slice = (checkpoint.slice ?? checkpoint.stream) + streams;
  if (slice >= slices) return checkpoint;
  const { cursorGuard: _endedPass, ...rest } = checkpoint;
  return { ...rest, done: false, nextUrl: null, slice };
}

/** The control-table key of a checkpoint (of a partitioned endpoint's stream when `stream` is given). */
export const checkpointKey = (runId: string, endpoint: string, stream?: number) => ({
  pk: { S: `RUN#${runId}` },
  sk: { S: stream === undefined ? `ENDPOINT#${endpoint}` : `ENDPOINT#${endpoint}#${stream}` },
});

/** Where checkpoints are kept (`stream`: a partitioned endpoint's page loop; its checkpoint carries it). */
export interface CheckpointStore {
  load(runId: string, endpoint: SyncTarget, stream?: number): Promise<Checkpoint | undefined>;
  /**
   * Saves `checkpoint` only if the stored one is still at `expectedPages` (and, in a sweep, at
   * `expectedSweepSteps`): the version this invocation started from, so a duplicate invocation can
   * never move an endpoint backwards. Throws CheckpointConflictError otherwise.
   */
  save(checkpoint: Checkpoint, expectedPages: number, expectedSweepSteps?: number): Promise<void>;
  /** Notes why the endpoint failed, for the run record; progress is left as it is. */
  recordError(runId: string, endpoint: SyncTarget, message: string, stream?: number): Promise<void>;
}

/** Options of `createDynamoCheckpointStore`. */
export interface DynamoCheckpointStoreOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
}

/** The checkpoint store on the DynamoDB control table. */
export function createDynamoCheckpointStore({ client, tableName }: DynamoCheckpointStoreOptions): CheckpointStore {
  return {
    async load(runId, endpoint, stream) {
      const response = await client.send(new GetItemCommand({ TableName: tableName, Key: checkpointKey(runId, endpoint, stream), ConsistentRead: true }));
      return response.Item ? fromItem(runId, endpoint, unmarshall(response.Item), stream) : undefined;
    },

    async save(checkpoint, expectedPages, expectedSweepSteps = 0) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...marshall(checkpoint, { removeUndefinedValues: true }), ...checkpointKey(checkpoint.runId, checkpoint.endpoint, checkpoint.stream) },
            ConditionExpression: '(attribute_not_exists(#pages) OR #pages = :expected) AND (attribute_not_exists(#sweep.#steps) OR #sweep.#steps = :steps)',
            ExpressionAttributeNames: { '#pages': 'pages', '#sweep': 'sweep', '#steps': 'steps' },
            ExpressionAttributeValues: { ':expected': { N: String(expectedPages) }, ':steps': { N: String(expectedSweepSteps) } },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new CheckpointConflictError(`checkpoint ${checkpoint.runId}/${checkpoint.endpoint} moved past page ${expectedPages}`);
        }
        throw error;
      }
    },

    async recordError(runId, endpoint, message, stream) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: checkpointKey(runId, endpoint, stream),
          UpdateExpression: 'SET #lastError = :e',
          ExpressionAttributeNames: { '#lastError': 'lastError' },
          ExpressionAttributeValues: { ':e': { S: message } },
        }),
      );
    },
  };
}

/** Tolerates partial items (e.g. only `lastError` written before any page succeeded). */
function fromItem(runId: string, endpoint: SyncTarget, item: Record<string, unknown>, stream?: number): Checkpoint {
  const checkpoint: Checkpoint = {
    ...initialCheckpoint(runId, endpoint, stream),
    nextUrl: typeof item.nextUrl === 'string' ? item.nextUrl : null,
    done: item.done === true,
  };
  for (const name of COUNT_NAMES) {
    const value = item[name];
    if (typeof value === 'number') checkpoint[name] = value;
  }
  if (item.unsupported === true) checkpoint.unsupported = true;
  if (typeof item.lastError === 'string') checkpoint.lastError = item.lastError;
  if (typeof item.newestUpdatedAt === 'string') checkpoint.newestUpdatedAt = item.newestUpdatedAt;
  if (item.cursorGuard && typeof item.cursorGuard === 'object') checkpoint.cursorGuard = item.cursorGuard as CursorGuardState;
  if (item.passComplete === true) checkpoint.passComplete = true;
  if (item.sweep && typeof item.sweep === 'object') checkpoint.sweep = item.sweep as SweepPosition;
  if (stream !== undefined && typeof item.slice === 'number') checkpoint.slice = item.slice;
  if (Array.isArray(item.npnsWithRecords)) checkpoint.npnsWithRecords = item.npnsWithRecords.filter((npn): npn is string => typeof npn === 'string');
  return checkpoint;
}
