import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '#local/lambda-context';
import { afterPage, createDynamoCheckpointStore, initialCheckpoint } from '#sync/checkpoint';
import { handler as finalize } from '#sync/finalize';
import { handler as prepare } from '#sync/prepare';
import { emptyOutcome } from '#sync/record-store';
import { createDynamoRunStore, type RunStore } from '#sync/run-record';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
import { createControlTable } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let controlTable: string;
let runs: RunStore;

beforeAll(async () => {
  controlTable = await createControlTable(admin);
  runs = createDynamoRunStore({ client: admin, tableName: controlTable });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const runRecord = (runId: string) => runs.load(runId);

describe('finalize', () => {
  it('records counts per endpoint and totals, and returns the unfinished endpoints to resume', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    vi.stubEnv('SYNC_ENDPOINTS', 'entities,licenses,licenseLoas');
    const prepared = await prepare({ input: { runDate: '2025-07-24' }, executionName: 'exec-fin-1', startTime: new Date(Date.now() - 5_000).toISOString() });
    const store = createDynamoCheckpointStore({ client: admin, tableName: controlTable });
    const entities = afterPage(initialCheckpoint('exec-fin-1', 'entities'), 10, { ...emptyOutcome(), inserted: 7, unchanged: 2, quarantined: 1 }, null);
    await store.save({ ...entities, throttled: 2 }, 0);
    const licenses = afterPage(initialCheckpoint('exec-fin-1', 'licenses'), 5, { ...emptyOutcome(), modified: 5 }, 'https://api/next?continuationToken=9');
    await store.save(licenses, 0);
    await store.save({ ...initialCheckpoint('exec-fin-1', 'licenseLoas'), done: true, unsupported: true }, 0);

    const results = [
      { ...prepared.endpoints[0], done: true, waitSeconds: 0, pages: 1 },
      {
        endpoint: 'licenses',
        failed: true,
        error: { Error: 'UpstreamError', Cause: JSON.stringify({ errorType: 'UpstreamError', errorMessage: '502 from /v2/licenses', trace: ['at x'] }) },
      },
      { ...prepared.endpoints[2], done: true, waitSeconds: 0, pages: 0 },
    ];
    const outcome = await finalize({ ...prepared, results });
    expect(outcome).toEqual({ status: 'FAILED', failedEndpoints: [prepared.endpoints[1]] });

    const run = await runRecord('exec-fin-1');
    expect(run).toMatchObject({
      status: 'FAILED',
      mode: 'incremental',
      runDate: '2025-07-24',
      failedEndpoints: [{ endpoint: 'licenses', error: 'UpstreamError: 502 from /v2/licenses' }],
      totals: { pages: 2, recordsSeen: 15, inserted: 7, modified: 5, unchanged: 2, deleted: 0, stale: 0, quarantined: 1, throttled: 2 },
    });
    expect(run?.endpoints).toEqual({
      entities: { pages: 1, recordsSeen: 10, inserted: 7, modified: 0, unchanged: 2, deleted: 0, stale: 0, quarantined: 1, throttled: 2 },
      licenses: { pages: 1, recordsSeen: 5, inserted: 0, modified: 5, unchanged: 0, deleted: 0, stale: 0, quarantined: 0, throttled: 0 },
      licenseLoas: { pages: 0, recordsSeen: 0, inserted: 0, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 0, throttled: 0, unsupported: true },
    });
    expect(run?.durationMs).toBeGreaterThanOrEqual(5_000);

    // ResumeFailed finished licenses: the second RecordRun flips the run to SUCCEEDED.
    await store.save(afterPage(licenses, 2, { ...emptyOutcome(), inserted: 2 }, null), 1);
    const resumed = await finalize({ ...prepared, results: [{ ...prepared.endpoints[1], done: true, waitSeconds: 0, pages: 1 }] });
    expect(resumed).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
    expect(await runRecord('exec-fin-1')).toMatchObject({ status: 'SUCCEEDED', failedEndpoints: [], totals: { pages: 3, inserted: 9 }, startedAt: prepared && expect.any(String) });
  });

  it('logs the Lambda context on every line', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', controlTable);
    const prepared = await prepare({ input: { runDate: '2025-07-24' }, executionName: 'exec-fin-ctx' });
    const lines = await captureLogLines(() => finalize({ ...prepared, results: [] }, lambdaContext('producersync-finalize')));
    expectLambdaContextOnEveryLine(lines, 'producersync-finalize');
    expect(lines.find((l) => l.message === 'run recorded')).toMatchObject({ correlation_id: 'exec-fin-ctx', status: 'FAILED' });
  });
});
