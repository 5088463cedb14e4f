import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { lambdaContext } from '#local/lambda-context';
import { handler as prepare } from '#sync/prepare';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let controlTable: string;

beforeAll(async () => {
  controlTable = await createControlTable(admin);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const runRecord = async (runId: string) => {
  const item = await admin.send(new GetItemCommand({ TableName: controlTable, Key: { pk: { S: `RUN#${runId}` }, sk: { S: 'RUN' } }, ConsistentRead: true }));
  return item.Item ? unmarshall(item.Item) : undefined;
};

describe('prepare', () => {
  it('writes the RUNNING run record once and fans out one item per endpoint', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    const event = { input: { runDate: '2025-07-24' }, executionName: 'exec-prepare-1', startTime: '2025-07-24T23:00:00.000Z' };
    const result = await prepare(event);
    expect(result).toEqual({
      runId: 'exec-prepare-1',
      mode: 'incremental',
      updatedSince: '2025-07-24',
      npns: null,
      endpoints: DEFAULT_SYNC_ENDPOINTS.map((endpoint) => ({ runId: 'exec-prepare-1', endpoint, mode: 'incremental', updatedSince: '2025-07-24', npns: null })),
    });
    expect(await runRecord('exec-prepare-1')).toEqual({
      pk: 'RUN#exec-prepare-1',
      sk: 'RUN',
      kind: 'run',
      runId: 'exec-prepare-1',
      mode: 'incremental',
      runDate: '2025-07-24',
      status: 'RUNNING',
      startedAt: '2025-07-24T23:00:00.000Z',
    });
    // A retried Prepare keeps the first startedAt.
    await prepare({ ...event, startTime: '2025-07-24T23:05:00.000Z' });
    expect((await runRecord('exec-prepare-1'))?.startedAt).toBe('2025-07-24T23:00:00.000Z');
    // The run is listed by the byKind index.
    const listed = await admin.send(
      new QueryCommand({ TableName: controlTable, IndexName: 'byKind', KeyConditionExpression: 'kind = :k', ExpressionAttributeValues: { ':k': { S: 'run' } } }),
    );
    expect(listed.Items?.map((i) => i.runId?.S)).toContain('exec-prepare-1');
  });

  it('uses SYNC_ENDPOINTS and rejects bad input without writing a run record', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    vi.stubEnv('SYNC_ENDPOINTS', 'licenses, licenseLoas');
    const result = await prepare({ input: { mode: 'backfill', npns: ['15645555'] }, executionName: 'exec-prepare-2' });
    expect(result.endpoints.map((e) => e.endpoint)).toEqual(['licenses', 'licenseLoas']);
    expect(result.endpoints[0]).toEqual({ runId: 'exec-prepare-2', endpoint: 'licenses', mode: 'backfill', updatedSince: null, npns: ['15645555'] });

    await expect(prepare({ input: { runDate: 'tomorrow' }, executionName: 'exec-prepare-3' })).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(await runRecord('exec-prepare-3')).toBeUndefined();

    vi.stubEnv('SYNC_ENDPOINTS', 'licenses,exams');
    await expect(prepare({ input: { mode: 'backfill' }, executionName: 'exec-prepare-4' })).rejects.toThrow(/unknown endpoint\(s\): exams/);
  });

  it('logs the Lambda context and the run id on every line', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    const lines = await captureLogLines(() => prepare({ input: { mode: 'backfill' }, executionName: 'exec-prepare-ctx' }, lambdaContext('producersync-prepare')));
    expectLambdaContextOnEveryLine(lines, 'producersync-prepare');
    expect(lines.map((l) => l.correlation_id)).toEqual(lines.map(() => 'exec-prepare-ctx'));
  });
});
