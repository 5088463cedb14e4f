import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerSyncClient } from '#producersync/client';
import { DEFAULT_SYNC_ENDPOINTS, type EndpointName } from '#producersync/endpoints';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { startSimulator, type Simulator } from '#sim/server';
import { typeShardOf } from '#sync/change-index';
import { contentHash } from '#sync/content-hash';
import type { CheckpointStore } from '#sync/checkpoint';
import type { SyncPagesEvent, SyncPagesResult } from '#sync/events';
import { sliceNpns } from '#sync/partition';
import { createDynamoSliceStore } from '#sync/slice-store';
import { createSyncDeps, syncPages, type SyncPagesDeps } from '#sync/sync-pages';
import { createControlTable, createDataTable, readStream, scanAll, streamSummary } from './sync-fixtures.ts';

const admin = new DynamoDBClient({});
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ npns: 40, seed: 3, rateLimit: { apiPerMinute: 100_000 } });
});
afterAll(async () => {
  await sim?.close();
});

interface Tables {
  data: string;
  control: string;
}

async function freshTables(): Promise<Tables> {
  const [data, control] = await Promise.all([createDataTable(admin), createControlTable(admin)]);
  return { data, control };
}

/**
 * The rate budget's clock. The state machine's Wait state is simulated by moving it forward,
 * so a test never sleeps through a Retry-After.
 */
const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };

function deps(tables: Tables, { dynamo = admin, ...overrides }: Partial<SyncPagesDeps> & { dynamo?: DynamoDBClient } = {}): SyncPagesDeps {
  const built = createSyncDeps({
    client: dynamo,
    dataTableName: tables.data,
    controlTableName: tables.control,
    source: createProducerSyncClient({
      credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
      rateBudget: createLocalRateBudget({ perMinute: 600_000, now: clock.now }),
      maxInlineWaitSeconds: 20,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    }),
    apiBaseUrl: sim.apiBaseUrl,
    pageSize: 20,
    timeBudgetMs: 600_000,
  });
  return { ...built, ...overrides };
}

const backfill = (runId: string, endpoint: EndpointName): SyncPagesEvent => ({ runId, endpoint, mode: 'backfill', updatedSince: null, npns: null });

/** Drives one endpoint the way the state machine loop does (SyncPages → Choice → Wait? → SyncPages). */
async function runEndpoint(event: SyncPagesEvent, d: SyncPagesDeps): Promise<{ invocations: SyncPagesResult[]; pages: number }> {
  const invocations: SyncPagesResult[] = [];
  for (let guard = 0; guard < 500; guard++) {
    const result = await syncPages(event, d);
    invocations.push(result);
    if (result.done) return { invocations, pages: invocations.reduce((n, r) => n + r.pages, 0) };
    clock.offsetMs += result.waitSeconds * 1000;
  }
  throw new Error('endpoint loop did not finish');
}

/** The data table's items of one record type, by id, must be exactly the simulator's records. */
async function expectTableEqualsTruth(tables: Tables, endpoint: EndpointName): Promise<number> {
  const truth = sim.groundTruth(endpoint);
  const items = (await scanAll(admin, tables.data)).filter((i) => i.recordType === endpoint);
  const byId = new Map(items.map((i) => [i.id as number, i]));
  expect(items).toHaveLength(truth.length);
  for (const record of truth) {
    const item = byId.get(record.id as number);
    expect(item, `${endpoint} ${record.id as number}`).toEqual({
      pk: `NPN#${record.npn as string}`,
      sk: `${endpoint}#${record.id as number}`,
      recordType: endpoint,
      npn: record.npn,
      id: record.id,
      updatedAt: record.updatedAt,
      deleted: record.niprDeleted === true,
      contentHash: contentHash(record),
      typeShard: typeShardOf(endpoint, `NPN#${record.npn as string}`, `${endpoint}#${record.id as number}`),
      changedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      record,
    });
  }
  return truth.length;
}

/** Index in `events` of the `n`th (1-based) occurrence of `event`. */
function indexOfNth(events: readonly string[], event: string, n: number): number {
  let seen = 0;
  return events.findIndex((e) => e === event && ++seen === n);
}

const apiRequestsTo = (path: string) => sim.requests.filter((r) => r.kind === 'api' && r.path === path);

describe('sync-pages against the simulator', () => {
  it('backfills an endpoint across many pages into exactly the ground truth, one page request per committed page', async () => {
    const tables = await freshTables();
    const d = deps(tables);
    sim.clearRequests();
    const { invocations, pages } = await runEndpoint(backfill('run-backfill', 'licenses'), d);
    const total = await expectTableEqualsTruth(tables, 'licenses');
    expect(total).toBeGreaterThan(100);

    const checkpoint = await d.checkpoints.load('run-backfill', 'licenses');
    const fullPages = Math.ceil(total / 20);
    // The end may come with the last full page or with one more, empty, page.
    expect([fullPages, fullPages + 1]).toContain(checkpoint?.pages);
    expect(pages).toBe(checkpoint?.pages);
    expect(invocations).toHaveLength(1);
    expect(apiRequestsTo('/v2/licenses')).toHaveLength(pages);
    expect(checkpoint).toMatchObject({ done: true, nextUrl: null, recordsSeen: total, modified: 0, unchanged: 0, stale: 0, quarantined: 0 });
    expect(checkpoint!.inserted + checkpoint!.deleted).toBe(total);
    expect((await readStream(admin, tables.data)).filter((r) => r.eventName === 'INSERT')).toHaveLength(total);

    // A redriven or repeated invocation of a finished endpoint returns at once.
    sim.clearRequests();
    expect(await syncPages(backfill('run-backfill', 'licenses'), d)).toMatchObject({ done: true, pages: 0, waitSeconds: 0 });
    expect(sim.requests).toHaveLength(0);
  });

  it('writes nothing when the same data is synced again, and streams exactly the changes after a day passes', async () => {
    const tables = await freshTables();
    const d = deps(tables);
    // Endpoints side by side, as the Map runs them.
    await Promise.all(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => runEndpoint(backfill('run-day1', endpoint), d)));
    const afterBackfill = await readStream(admin, tables.data);

    // Second run, same data: zero writes, zero stream records.
    await Promise.all(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => runEndpoint(backfill('run-day1-again', endpoint), d)));
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
      const checkpoint = await d.checkpoints.load('run-day1-again', endpoint);
      expect(checkpoint).toMatchObject({ done: true, inserted: 0, modified: 0, deleted: 0, stale: 0 });
      expect(checkpoint?.unchanged).toBe(checkpoint?.recordsSeen);
    }
    expect(await readStream(admin, tables.data)).toHaveLength(afterBackfill.length);

    // A day passes: the incremental run's stream records are exactly the added/changed/deleted records.
    const before = new Map<string, string>();
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) for (const r of sim.groundTruth(endpoint)) before.set(`NPN#${r.npn as string}/${endpoint}#${r.id as number}`, contentHash(r));
    const day = await sim.advanceDay();
    const expected: string[] = [];
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
      for (const r of sim.groundTruth(endpoint)) {
        const key = `NPN#${r.npn as string}/${endpoint}#${r.id as number}`;
        const old = before.get(key);
        if (old === undefined) expected.push(`INSERT ${key}`);
        else if (old !== contentHash(r)) expected.push(`MODIFY ${key}`);
      }
    }
    expect(expected.length).toBeGreaterThan(5);

    const incremental = (endpoint: EndpointName): SyncPagesEvent => ({ runId: 'run-day2', endpoint, mode: 'incremental', updatedSince: day.runDate, npns: null });
    await Promise.all(DEFAULT_SYNC_ENDPOINTS.map((endpoint) => runEndpoint(incremental(endpoint), d)));
    const newRecords = (await readStream(admin, tables.data)).slice(afterBackfill.length);
    expect(streamSummary(newRecords)).toEqual(expected.sort());
    for (const endpoint of DEFAULT_SYNC_ENDPOINTS) await expectTableEqualsTruth(tables, endpoint);
    // Only the day's records were requested.
    expect(apiRequestsTo('/v2/licenses').filter((r) => r.query.updatedSince === day.runDate).length).toBeGreaterThan(0);
  });

  it('converges after a crash mid-page (after some writes) and after a crash between the page and its checkpoint', async () => {
    const tables = await freshTables();
    // Crash 1: the DynamoDB client dies after 30 PutItems, in the middle of the second page.
    let puts = 0;
    const flaky = new DynamoDBClient({});
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand' && args.input && (args.input as { TableName?: string }).TableName === tables.data && ++puts > 30) {
          throw new Error('injected crash after 30 writes');
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const event = backfill('run-crash', 'licenses');
    await expect(syncPages(event, deps(tables, { dynamo: flaky }))).rejects.toThrow(/injected crash/);
    const healthy = deps(tables);
    const afterCrash = await healthy.checkpoints.load('run-crash', 'licenses');
    expect(afterCrash).toMatchObject({ pages: 1, done: false, lastError: 'Error: injected crash after 30 writes' });

    // Crash 2: the process dies after storing page 3 but before its checkpoint is written.
    let saves = 0;
    const crashingCheckpoints: CheckpointStore = {
      ...healthy.checkpoints,
      async save(checkpoint, expectedPages) {
        if (++saves === 2) throw new Error('injected crash before checkpoint');
        return healthy.checkpoints.save(checkpoint, expectedPages);
      },
    };
    await expect(syncPages(event, { ...healthy, checkpoints: crashingCheckpoints })).rejects.toThrow(/before checkpoint/);
    expect(await healthy.checkpoints.load('run-crash', 'licenses')).toMatchObject({ pages: 2, done: false });

    await runEndpoint(event, healthy);
    const total = await expectTableEqualsTruth(tables, 'licenses');
    const checkpoint = await healthy.checkpoints.load('run-crash', 'licenses');
    // Every record counted exactly once; replayed records that were already written count as unchanged.
    expect(checkpoint).toMatchObject({ done: true, recordsSeen: total, stale: 0, quarantined: 0 });
    expect(checkpoint!.pages).toBeGreaterThanOrEqual(Math.ceil(total / 20));
    expect(checkpoint!.inserted + checkpoint!.deleted + checkpoint!.unchanged).toBe(total);
    expect(checkpoint!.unchanged).toBeGreaterThan(0);
    expect(checkpoint?.lastError).toBeUndefined();
    // Each key was inserted once: replays produced no second stream record.
    const stream = await readStream(admin, tables.data);
    expect(stream).toHaveLength(total);
    expect(new Set(streamSummary(stream)).size).toBe(total);
  });

  it('asks for the next page while the current one is applied, and commits pages strictly in order', async () => {
    const tables = await freshTables();
    const healthy = deps(tables);
    const events: string[] = [];
    const d: SyncPagesDeps = {
      ...healthy,
      source: { fetchPage: (url) => (events.push(`fetch ${url}`), healthy.source.fetchPage(url)) },
      storeFor: (runId) => {
        const store = healthy.storeFor(runId);
        return { ...store, applyPage: async (endpoint, records) => (events.push('apply'), store.applyPage(endpoint, records)) };
      },
      checkpoints: { ...healthy.checkpoints, save: async (checkpoint, expected) => (events.push(`commit ${checkpoint.pages}`), healthy.checkpoints.save(checkpoint, expected)) },
    };
    const { pages } = await runEndpoint(backfill('run-ahead', 'licenses'), d);
    expect(pages).toBeGreaterThan(3);
    // Each page's successor is requested before the page is applied; commits come one by one, in page order.
    const fetches = events.filter((e) => e.startsWith('fetch'));
    expect(fetches).toHaveLength(pages);
    expect(new Set(fetches).size).toBe(pages);
    for (let page = 1; page < pages; page++) {
      expect(events.indexOf(fetches[page]!), `page ${page + 1} asked for before page ${page} is applied`).toBeLessThan(indexOfNth(events, 'apply', page));
    }
    expect(events.filter((e) => e.startsWith('commit'))).toEqual(Array.from({ length: pages }, (_, i) => `commit ${i + 1}`));
    const total = await expectTableEqualsTruth(tables, 'licenses');
    expect(await d.checkpoints.load('run-ahead', 'licenses')).toMatchObject({ done: true, pages, recordsSeen: total });
  });

  it('commits the current page when the page fetched ahead fails, and resumes from the committed checkpoint', async () => {
    const tables = await freshTables();
    const healthy = deps(tables);
    let fetches = 0;
    const failing: SyncPagesDeps = {
      ...healthy,
      // The third request (page 3, fetched ahead while page 2 is applied) fails.
      source: { fetchPage: async (url) => (++fetches === 3 ? Promise.reject(new Error('injected failure of the page fetched ahead')) : healthy.source.fetchPage(url)) },
    };
    const event = backfill('run-ahead-fails', 'appointments');
    await expect(syncPages(event, failing)).rejects.toThrow(/fetched ahead/);
    expect(await healthy.checkpoints.load('run-ahead-fails', 'appointments')).toMatchObject({ pages: 2, done: false });

    // Resumed at page 3: a crash after page 5 is applied, with page 6 already in flight, before page 5's checkpoint.
    let saves = 0;
    const crashing: SyncPagesDeps = {
      ...healthy,
      checkpoints: {
        ...healthy.checkpoints,
        async save(checkpoint, expectedPages) {
          if (++saves === 3) throw new Error('injected crash before checkpoint');
          return healthy.checkpoints.save(checkpoint, expectedPages);
        },
      },
    };
    await expect(syncPages(event, crashing)).rejects.toThrow(/before checkpoint/);
    expect(await healthy.checkpoints.load('run-ahead-fails', 'appointments')).toMatchObject({ pages: 4, done: false });

    await runEndpoint(event, healthy);
    const total = await expectTableEqualsTruth(tables, 'appointments');
    const checkpoint = await healthy.checkpoints.load('run-ahead-fails', 'appointments');
    expect(checkpoint).toMatchObject({ done: true, recordsSeen: total, stale: 0, quarantined: 0 });
    expect(checkpoint!.inserted + checkpoint!.deleted + checkpoint!.unchanged).toBe(total);
    // The page applied but not committed was applied again: unchanged the second time, one stream record per key.
    expect(checkpoint!.unchanged).toBeGreaterThan(0);
    expect(await readStream(admin, tables.data)).toHaveLength(total);
  });

  it('stops at the time budget after each page and resumes from the checkpoint', async () => {
    const tables = await freshTables();
    const d = deps(tables, { timeBudgetMs: 1 });
    const { invocations, pages } = await runEndpoint(backfill('run-budget', 'appointments'), d);
    expect(invocations.length).toBe(pages);
    expect(invocations.every((r) => r.pages === 1 && r.waitSeconds === 0)).toBe(true);
    expect(invocations.slice(0, -1).every((r) => !r.done)).toBe(true);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(sim.groundTruth('appointments').length / 20));
    await expectTableEqualsTruth(tables, 'appointments');
  });

  it('hands a long 429 to the state machine as waitSeconds, counts it, and continues afterwards', async () => {
    const tables = await freshTables();
    const d = deps(tables);
    sim.setFaults({ burst429: { count: 1, afterRequests: 2, retryAfterSeconds: 45 } });
    try {
      const first = await syncPages(backfill('run-429', 'addresses'), d);
      expect(first).toMatchObject({ done: false, waitSeconds: 45, pages: 2, runId: 'run-429', endpoint: 'addresses' });
      expect(await d.checkpoints.load('run-429', 'addresses')).toMatchObject({ pages: 2, throttled: 1, done: false });
      // Without the wait, the client's budget (paused by the 429) still refuses: no request goes out.
      sim.clearRequests();
      expect(await syncPages(backfill('run-429', 'addresses'), d)).toMatchObject({ done: false, pages: 0 });
      expect(apiRequestsTo('/v2/addresses')).toHaveLength(0);
      clock.offsetMs += 45_000;
      const rest = await runEndpoint(backfill('run-429', 'addresses'), d);
      expect(rest.invocations).toHaveLength(1);
    } finally {
      sim.setFaults({});
    }
    const total = await expectTableEqualsTruth(tables, 'addresses');
    expect(await d.checkpoints.load('run-429', 'addresses')).toMatchObject({ done: true, throttled: 2, recordsSeen: total });
  });

  it('quarantines bad records from the feed and stores the rest', async () => {
    const tables = await freshTables();
    const d = deps(tables);
    sim.setFaults({ badRecord: { endpoint: 'contactInfos', count: 3 } });
    try {
      await runEndpoint(backfill('run-bad', 'contactInfos'), d);
    } finally {
      sim.setFaults({});
    }
    const total = await expectTableEqualsTruth(tables, 'contactInfos');
    expect(await d.checkpoints.load('run-bad', 'contactInfos')).toMatchObject({ done: true, quarantined: 3, recordsSeen: total + 3 });
    const quarantined = await admin.send(
      new QueryCommand({
        TableName: tables.control,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :q)',
        ExpressionAttributeValues: { ':pk': { S: 'RUN#run-bad' }, ':q': { S: 'QUARANTINE#contactInfos#' } },
      }),
    );
    expect(quarantined.Items?.map((i) => i.reason?.S).sort()).toEqual([
      'id is not an integer number',
      'id is not an integer number',
      'npn is missing or not a string of digits',
    ]);
  });

  it('marks an optional endpoint unsupported on a 404 first page, but fails a default endpoint', async () => {
    const tables = await freshTables();
    const d = deps(tables, { apiBaseUrl: `${sim.apiBaseUrl}/not-served` });
    expect(await syncPages(backfill('run-404', 'licenseLoas'), d)).toMatchObject({ done: true, pages: 0 });
    expect(await d.checkpoints.load('run-404', 'licenseLoas')).toMatchObject({ done: true, unsupported: true, pages: 0 });

    await expect(syncPages(backfill('run-404', 'licenses'), d)).rejects.toThrow(/404/);
    const failed = await d.checkpoints.load('run-404', 'licenses');
    expect(failed?.done).toBe(false);
    expect(failed?.lastError).toMatch(/^ProducerSyncHttpError: .*HTTP 404/);
  });

  it('lets a duplicate concurrent invocation race without double counting or going backwards', async () => {
    const tables = await freshTables();
    const d = deps(tables, { pageSize: 10 });
    const event = backfill('run-duplicate', 'appointments');
    const [a, b] = await Promise.all([runEndpoint(event, d), runEndpoint(event, d)]);
    const total = await expectTableEqualsTruth(tables, 'appointments');
    const checkpoint = await d.checkpoints.load('run-duplicate', 'appointments');
    expect(checkpoint).toMatchObject({ done: true, recordsSeen: total, stale: 0 });
    expect(checkpoint!.inserted + checkpoint!.deleted + checkpoint!.unchanged).toBe(total);
    // Pages committed by either invocation add up to the checkpoint: none counted twice.
    expect(a.pages + b.pages).toBe(checkpoint!.pages);
    expect((await readStream(admin, tables.data)).length).toBe(total);
  });

  it('emits the page and record counts as EMF metrics in the ProducerSync namespace', async () => {
    const tables = await freshTables();
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return write(chunk, ...(rest as []));
    }) as typeof process.stdout.write;
    let result: SyncPagesResult;
    try {
      result = await syncPages(backfill('run-metrics', 'otherNames'), deps(tables));
    } finally {
      process.stdout.write = write;
    }
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('"CloudWatchMetrics"'))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string }[] } });
    expect(emf).toHaveLength(1);
    expect(emf[0]!._aws.CloudWatchMetrics[0]!.Namespace).toBe('ProducerSync');
    const total = sim.groundTruth('otherNames').length;
    expect(emf[0]).toMatchObject({ Pages: result.pages, RecordsQuarantined: 0, Throttled: 0 });
    expect((emf[0]!.RecordsInserted as number) + (emf[0]!.RecordsDeleted as number)).toBe(total);
  });

  it('rejects a malformed event', async () => {
    const tables = await freshTables();
    await expect(syncPages({ runId: 'x', endpoint: 'exams' } as unknown as SyncPagesEvent, deps(tables))).rejects.toThrow(/sync-pages event must be/);
  });
});

describe('sync-pages of a partitioned endpoint (NPN slices, docs/SYNC.md "Partitions")', () => {
  it('moves each stream from slice to slice, each slice its own filtered pass, and resumes a crash mid-slice from the checkpoint with each change written once', async () => {
    const tables = await freshTables();
    // Small pages, so every slice takes several.
    const healthy = deps(tables, { pageSize: 5 });
    const npns = sim.subscribedNpns();
    const slices = sliceNpns(npns, 5);
    await createDynamoSliceStore({ client: admin, tableName: tables.control }).put('run-sliced', 'licenses', slices);
    const stream = (k: number): SyncPagesEvent => ({ ...backfill('run-sliced', 'licenses'), stream: k, streams: 2, slices: 5 });

    // Stream 0 (slices 0, 2, 4) dies after applying the second page of slice 2, before its checkpoint.
    let armed = true;
    const crashingCheckpoints: CheckpointStore = {
      ...healthy.checkpoints,
      async save(checkpoint, expectedPages, expectedSweepSteps) {
        const stored = await healthy.checkpoints.load('run-sliced', 'licenses', 0);
        if (armed && stored?.slice === 2 && stored.nextUrl !== null) {
          armed = false;
          throw new Error('injected crash before checkpoint');
        }
        return healthy.checkpoints.save(checkpoint, expectedPages, expectedSweepSteps);
      },
    };
    sim.clearRequests();
    await expect(syncPages(stream(0), { ...healthy, checkpoints: crashingCheckpoints })).rejects.toThrow(/before checkpoint/);
    const afterCrash = await healthy.checkpoints.load('run-sliced', 'licenses', 0);
    expect(afterCrash).toMatchObject({ stream: 0, slice: 2, done: false, lastError: 'Error: injected crash before checkpoint' });
    expect(afterCrash?.nextUrl).not.toBeNull();
    // The stream's own key; the endpoint's unpartitioned checkpoint does not exist.
    expect(await healthy.checkpoints.load('run-sliced', 'licenses')).toBeUndefined();

    await runEndpoint(stream(0), healthy);
    await runEndpoint(stream(1), healthy);
    const total = await expectTableEqualsTruth(tables, 'licenses');
    const streams = await Promise.all([0, 1].map((k) => healthy.checkpoints.load('run-sliced', 'licenses', k)));
    expect(streams.map((c) => [c?.done, c?.slice])).toEqual([
      [true, 4],
      [true, 3],
    ]);
    // The counts' identity holds per stream, so for their sum; the replayed page counts unchanged.
    const sum = (name: 'recordsSeen' | 'inserted' | 'deleted' | 'unchanged' | 'pages') => streams.reduce((n, c) => n + (c?.[name] ?? 0), 0);
    expect(sum('recordsSeen')).toBe(total);
    expect(sum('inserted') + sum('deleted') + sum('unchanged')).toBe(total);
    expect(sum('unchanged')).toBeGreaterThan(0);
    // Each change written once: one stream record per key.
    const records = await readStream(admin, tables.data);
    expect(records).toHaveLength(total);
    expect(new Set(streamSummary(records)).size).toBe(total);

    // Every slice was one filtered pass: its first page lists exactly its NPNs (the resumed stream went on at
    // slice 2's committed cursor, not its first page), and it ended on its own empty page.
    const requests = apiRequestsTo('/v2/licenses');
    const firstPages = requests.filter((r) => r.query.continuationToken === undefined);
    expect(firstPages.map((r) => slices.findIndex((s) => s.join(',') === r.query.npns))).toEqual([0, 2, 4, 1, 3]);
    expect(requests.every((r) => r.query.npns !== undefined)).toBe(true);
    expect(requests.filter((r) => r.records === 0)).toHaveLength(5);
    // Beyond the committed pages: the replayed page, and the page that was fetched ahead when the crash came, if any.
    expect(requests.length - sum('pages')).toBeGreaterThanOrEqual(1);
    expect(requests.length - sum('pages')).toBeLessThanOrEqual(2);
  });
});
