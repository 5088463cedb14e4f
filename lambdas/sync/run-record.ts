import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { EndpointSummary, FailedEndpoint, SyncMode } from '#sync/events';
import type { EndpointCounts } from '#sync/checkpoint';

/** Control-table item `RUN#<runId>` / `RUN` (docs/ARCHITECTURE.md): one per execution, listed by the `byKind` GSI. */
export const runKey = (runId: string) => ({ pk: { S: `RUN#${runId}` }, sk: { S: 'RUN' } });

export interface RunStart {
  runId: string;
  mode: SyncMode;
  runDate?: string;
  npns?: string[];
  startedAt: string;
}

export interface RunFinish {
  status: 'SUCCEEDED' | 'FAILED';
  finishedAt: string;
  durationMs: number;
  endpoints: Record<string, EndpointSummary>;
  totals: EndpointCounts;
  failedEndpoints: FailedEndpoint[];
}

/** Writes the RUNNING record once: a retried or redriven Prepare keeps the first `startedAt`. */
export async function startRun(client: DynamoDBClient, tableName: string, run: RunStart): Promise<void> {
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
}

export async function loadRun(client: DynamoDBClient, tableName: string, runId: string): Promise<Record<string, unknown> | undefined> {
  const response = await client.send(new GetItemCommand({ TableName: tableName, Key: runKey(runId), ConsistentRead: true }));
  return response.Item ? unmarshall(response.Item) : undefined;
}

/** Records the outcome; every RecordRun (also after ResumeFailed) overwrites the previous one. */
export async function finishRun(client: DynamoDBClient, tableName: string, runId: string, finish: RunFinish): Promise<void> {
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
}
