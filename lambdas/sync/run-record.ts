/**
 * The run record: control-table item `RUN#<runId>` / `RUN` (docs/ARCHITECTURE.md), one per
 * execution, listed by the `byKind` GSI. Prepare starts it, RecordRun finishes it, the CLI lists it.
 * The record type (the one definition the CLI and the tests use), the store interface and its
 * DynamoDB adapter.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { EndpointCounts } from '#sync/checkpoint';
import type { EndpointSummary, FailedEndpoint, SyncMode } from '#sync/events';

/** Where a run stands. */
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** What Prepare records when a run starts. */
export interface RunStart {
  runId: string;
  mode: SyncMode;
  runDate?: string;
  npns?: string[];
  startedAt: string;
}

/** What RecordRun records when a run ends (again after ResumeFailed). */
export interface RunFinish {
  status: Exclude<RunStatus, 'RUNNING'>;
  finishedAt: string;
  durationMs: number;
  endpoints: Record<string, EndpointSummary>;
  totals: EndpointCounts;
  failedEndpoints: FailedEndpoint[];
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
}

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
            Item: { ...marshall({ kind: 'run', status: 'RUNNING', ...run }, { removeUndefinedValues: true }), ...runKey(run.runId) },
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
      const values = marshall(
        {
          ':kind': 'run',
          ':runId': runId,
          ':status': finish.status,
          ':finishedAt': finish.finishedAt,
          ':durationMs': finish.durationMs,
          ':endpoints': finish.endpoints,
          ':totals': finish.totals,
          ':failedEndpoints': finish.failedEndpoints,
        },
        { removeUndefinedValues: true },
      );
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: runKey(runId),
          UpdateExpression:
            'SET #kind = if_not_exists(#kind, :kind), #runId = if_not_exists(#runId, :runId), #status = :status, #finishedAt = :finishedAt, ' +
            '#durationMs = :durationMs, #endpoints = :endpoints, #totals = :totals, #failedEndpoints = :failedEndpoints',
          ExpressionAttributeNames: {
            '#kind': 'kind',
            '#runId': 'runId',
            '#status': 'status',
            '#finishedAt': 'finishedAt',
            '#durationMs': 'durationMs',
            '#endpoints': 'endpoints',
            '#totals': 'totals',
            '#failedEndpoints': 'failedEndpoints',
          },
          ExpressionAttributeValues: values,
        }),
      );
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

