import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '#local/lambda-context';
import { afterPage, createDynamoCheckpointStore, initialCheckpoint } from '#sync/checkpoint';
import { createFinalizeHandler, handler as finalize } from '#sync/finalize';
import { createPrepareHandler, handler as prepare } from '#sync/prepare';
import { createDynamoRunLeases } from '#sync/run-lease';
import { createDynamoWatermarkStore } from '#sync/watermark';
import { emptyOutcome } from '#sync/record-store';
import { createDynamoRunStore, type RunStore } from '#sync/run-record';
import { captureLogLines, captureMetricLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
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
      totals: { pages: 2, recordsSeen: 15, inserted: 7, modified: 5, unchanged: 2, deleted: 0, stale: 0, quarantined: 1, throttled: 2, marked: 0 },
    });
    expect(run?.endpoints).toEqual({
      entities: { pages: 1, recordsSeen: 10, inserted: 7, modified: 0, unchanged: 2, deleted: 0, stale: 0, quarantined: 1, throttled: 2, marked: 0 },
      licenses: { pages: 1, recordsSeen: 5, inserted: 0, modified: 5, unchanged: 0, deleted: 0, stale: 0, quarantined: 0, throttled: 0, marked: 0 },
      licenseLoas: { pages: 0, recordsSeen: 0, inserted: 0, modified: 0, unchanged: 0, deleted: 0, stale: 0, quarantined: 0, throttled: 0, marked: 0, unsupported: true },
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

describe('finalize and the watermark', () => {
  const NOW = Date.parse('2025-07-31T01:00:00.000Z');
  const prepareAt = createPrepareHandler({ now: () => NOW - 3_600_000 });
  const finalizeAt = createFinalizeHandler({ now: () => NOW });
  let table: string;
  const watermarks = () => createDynamoWatermarkStore({ client: admin, tableName: table });
  const checkpoints = () => createDynamoCheckpointStore({ client: admin, tableName: table });
  const runStore = () => createDynamoRunStore({ client: admin, tableName: table });

  beforeAll(async () => {
    table = await createControlTable(admin);
  });

  /** Prepares `input` as `runId` and stores a finished checkpoint per endpoint (`newest` read by the first), unless `unfinished`. */
  async function runUntilRecordRun(runId: string, input: unknown, { newest, unfinished }: { newest?: string; unfinished?: string } = {}) {
    const prepared = await prepareAt({ input, executionName: runId });
    for (const [i, item] of prepared.endpoints.entries()) {
      const checkpoint = afterPage(initialCheckpoint(runId, item.endpoint), 1, { ...emptyOutcome(), inserted: 1 }, item.endpoint === unfinished ? 'https://api/next?continuationToken=2' : null);
      await checkpoints().save({ ...checkpoint, ...(i === 0 && newest ? { newestUpdatedAt: newest } : {}) }, 0);
    }
    return prepared;
  }

  it('moves the watermark only for a run whose every endpoint finished, never backwards, and reports its age', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', table);
    vi.stubEnv('SYNC_ENDPOINTS', 'entities,licenses');
    // Day 0: the first webhook's run is the initial load; it reads a record dated after its runDate.
    const initial = await runUntilRecordRun('run-2025-07-30-a', { mode: 'incremental', runDate: '2025-07-30' }, { newest: '2025-07-31' });
    const metrics = await captureMetricLines(() => finalizeAt({ ...initial, results: [] }));
    expect(await runStore().load('run-2025-07-30-a')).toMatchObject({ status: 'SUCCEEDED', initialLoad: true, watermark: { target: '2025-07-31', advanced: true, value: '2025-07-31' } });
    expect(await watermarks().load()).toMatchObject({
      watermark: '2025-07-31',
      advancedAt: new Date(NOW).toISOString(),
      advancedBy: 'run-2025-07-30-a',
      initialLoad: { runId: 'run-2025-07-30-a', finishedAt: new Date(NOW).toISOString() },
    });
    expect(metrics).toEqual([expect.objectContaining({ RunsSucceeded: 1, WatermarkAgeHours: 0 })]);
    // Its lease ended with it.
    expect(await createDynamoRunLeases({ client: admin, tableName: table }).active(NOW)).toEqual([]);

    // A later incremental that failed on one endpoint moves nothing.
    const failed = await runUntilRecordRun('run-2025-08-01-b', { mode: 'incremental', runDate: '2025-08-01' }, { unfinished: 'licenses' });
    expect(failed.updatedSince).toBe('2025-07-31');
    expect((await finalizeAt({ ...failed, results: [] })).status).toBe('FAILED');
    expect(await runStore().load('run-2025-08-01-b')).toMatchObject({ status: 'FAILED' });
    expect((await runStore().load('run-2025-08-01-b'))?.watermark).toBeUndefined();
    expect((await watermarks().load()).watermark).toBe('2025-07-31');
    // ResumeFailed finished it: the second RecordRun moves the watermark to the runDate.
    await checkpoints().save(afterPage(afterPage(initialCheckpoint('run-2025-08-01-b', 'licenses'), 1, { ...emptyOutcome(), inserted: 1 }, 'x'), 1, emptyOutcome(), null), 1);
    expect((await finalizeAt({ ...failed, results: [] })).status).toBe('SUCCEEDED');
    expect((await watermarks().load()).watermark).toBe('2025-08-01');

    // An operator's re-run of an older date, and an incremental older than the watermark, leave it.
    for (const [runId, input] of [['rerun-1', { runDate: '2025-07-29' }], ['run-2025-07-29-c', { mode: 'incremental', runDate: '2025-07-29' }]] as const) {
      const prepared = await runUntilRecordRun(runId, input, { newest: '2025-08-02' });
      await finalizeAt({ ...prepared, results: [] });
      expect((await watermarks().load()).watermark).toBe('2025-08-01');
    }
    // A backfill of some NPNs never moves it, whatever it read.
    const some = await runUntilRecordRun('activation-1', { mode: 'backfill', npns: ['15645555'] }, { newest: '2025-08-03' });
    await finalizeAt({ ...some, results: [] });
    expect((await watermarks().load()).watermark).toBe('2025-08-01');
  });

  it('counts what a reconcile corrected per endpoint and in total, and reports it as RecordsCorrected', async () => {
    vi.stubEnv('CONTROL_TABLE_NAME', table);
    vi.stubEnv('SYNC_ENDPOINTS', 'licenses');
    const prepared = await prepareAt({ input: { mode: 'reconcile' }, executionName: 'reconcile-x' });
    const licenses = afterPage(initialCheckpoint('reconcile-x', 'licenses'), 10, { ...emptyOutcome(), unchanged: 7, modified: 2, inserted: 1 }, null);
    await checkpoints().save({ ...licenses, marked: 3, passComplete: true, sweep: { shard: 16, steps: 16 } }, 0);
    const status = afterPage(initialCheckpoint('reconcile-x', 'npnStatus'), 4, { ...emptyOutcome(), unchanged: 3, inserted: 1 }, null);
    await checkpoints().save({ ...status, marked: 1 }, 0);
    const metrics = await captureMetricLines(() => finalizeAt({ ...prepared, results: [] }));
    const run = await runStore().load('reconcile-x');
    expect(run?.endpoints?.licenses).toMatchObject({ corrected: 6, marked: 3 });
    expect(run?.endpoints?.npnStatus).toMatchObject({ corrected: 2 });
    expect(run?.totals).toMatchObject({ corrected: 8 });
    expect(metrics).toEqual([expect.objectContaining({ RecordsCorrected: 8, RunsSucceeded: 1 })]);
  });
});
