/**
 * The run record: control-table item `RUN#<runId>` / `RUN` (docs/ARCHITECTURE.md), one per
 * execution, listed by the `byKind` GSI. Prepare starts it, RecordRun finishes it, the CLI lists it.
 * The record type (the one definition the CLI and the tests use), the store interface and its
 * DynamoDB adapter.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { EndpointSummary, FailedEndpoint, SyncMode } from '#sync/events';
import type { WatermarkAdvance } from '#sync/run-plan';

/** Where a run stands. `SKIPPED`: Prepare found another initial load in flight (`skipped` says which). */
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

/** What Prepare records when a run starts. */
export interface RunStart {
  runId: string;
  mode: SyncMode;
  runDate?: string;
  npns?: string[];
  startedAt: string;
  /** What the run reads from (null: everything). */
  updatedSince?: string | null;
  /** How the watermark moves when the run succeeds (run-plan.ts). */
  advance?: WatermarkAdvance;
  /** The day-0 full pull (an incremental or catch-up that found no watermark). */
  initialLoad?: true;
  /** Why the run did nothing; its status is SKIPPED. */
  skipped?: string;
}

/** What the watermark did when the run ended. */
export interface RunWatermark {
  /** The date the run could move it to (undefined: the run does not move it). */
  target?: string;
  advanced: boolean;
  /** The watermark after the run. */
  value?: string;
}

/** What RecordRun records when a run ends (again after ResumeFailed). */
export interface RunFinish {
  status: Exclude<RunStatus, 'RUNNING' | 'SKIPPED'>;
  finishedAt: string;
  durationMs: number;
  endpoints: Record<string, EndpointSummary>;
  totals: EndpointSummary;
  failedEndpoints: FailedEndpoint[];
  watermark?: RunWatermark;
}

/**
 * A stored run record. The start fields are missing only if RecordRun ran without Prepare's write;
 * the finish fields until RecordRun has run.
 */
export type RunRecord = { kind: 'run'; status: RunStatus } & Omit<RunStart, 'mode' | 'startedAt'> &
  Partial<Pick<RunStart, 'mode' | 'startedAt'>> &
  Partial<Omit<RunFinish, 'status'>>;

/** Where run records are kept. */
export interface RunStore {
  /** Writes the RUNNING record once: a retried or redriven Prepare keeps the first `startedAt`. */
  start(run: RunStart): Promise<void>;
  load(runId: string): Promise<RunRecord | undefined>;
  /** Records the outcome; every RecordRun (also after ResumeFailed) overwrites the previous one. */
  finish(runId: string, finish: RunFinish): Promise<void>;
  /** The newest SUCCEEDED full pull (a backfill of everything, an initial load or a reconcile): what partitions are sized by. */
  lastCompleteFullRun(): Promise<RunRecord | undefined>;
}

/** Pages of the `byKind` index read looking for the last complete full run (newest first) before giving up. */
const FULL_RUN_SEARCH_PAGES = 20;

/** Options of `createDynamoRunStore`. */
export interface DynamoRunStoreOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
}

/** The control-table key of a run record. */
export const runKey = (runId: string) => ({ pk: { S: `RUN#${runId}` }, sk: { S: 'RUN' } });

/** The run store on the DynamoDB control table. */
export function createDynamoRunStore({ client, tableName }: DynamoRunStoreOptions): RunStore {
  return {
    async start(run) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...marshall({ kind: 'run', status: run.skipped ? 'SKIPPED' : 'RUNNING', ...run }, { removeUndefinedValues: true }), ...runKey(run.runId) },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },

    async load(runId) {
      const response = await client.send(new GetItemCommand({ TableName: tableName, Key: runKey(runId), ConsistentRead: true }));
      return response.Item ? runRecordOf(unmarshall(response.Item)) : undefined;
    },

    async finish(runId, finish) {
      // Every RunFinish field, written as given (the watermark only when the run says what it did).
      const fields: Record<string, unknown> = {
        status: finish.status,
        finishedAt: finish.finishedAt,
        durationMs: finish.durationMs,
        endpoints: finish.endpoints,
        totals: finish.totals,
        failedEndpoints: finish.failedEndpoints,
        ...(finish.watermark ? { watermark: finish.watermark } : {}),
      };
      const names = Object.keys(fields);
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: runKey(runId),
          UpdateExpression: `SET #kind = if_not_exists(#kind, :kind), #runId = if_not_exists(#runId, :runId), ${names.map((name) => `#${name} = :${name}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(['kind', 'runId', ...names].map((name) => [`#${name}`, name])),
          ExpressionAttributeValues: marshall(
            { ':kind': 'run', ':runId': runId, ...Object.fromEntries(names.map((name) => [`:${name}`, fields[name]])) },
            { removeUndefinedValues: true },
          ),
        }),
      );
    },

    async lastCompleteFullRun() {
      let startKey: Record<string, AttributeValue> | undefined;
      for (let page = 0; page < FULL_RUN_SEARCH_PAGES; page++) {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: 'byKind',
            KeyConditionExpression: '#kind = :kind',
            FilterExpression: '#status = :ok AND (#mode = :backfill OR #mode = :reconcile) AND attribute_not_exists(npns)',
            ExpressionAttributeNames: { '#kind': 'kind', '#status': 'status', '#mode': 'mode' },
            ExpressionAttributeValues: marshall({ ':kind': 'run', ':ok': 'SUCCEEDED', ':backfill': 'backfill', ':reconcile': 'reconcile' }),
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
          }),
        );
        const found = out.Items?.[0];
        if (found) return runRecordOf(unmarshall(found));
        startKey = out.LastEvaluatedKey;
        if (!startKey) return undefined;
      }
      return undefined;
    },
  };
}

/**
 * The run record in an unmarshalled item (also a `byKind` query result): its attributes without
 * the table keys.
 */
export function runRecordOf(item: Record<string, unknown>): RunRecord {
  const { pk: _pk, sk: _sk, ...record } = item;
  if (record.kind !== 'run' || typeof record.runId !== 'string') throw new Error(`${String(item.pk)} is not a run record`);
  return record as RunRecord;
}

