/**
 * Issue 8, API faults: a multi-page backfill of every default endpoint through the synthesized sync
 * state machine and the real Prepare/SyncPages/Finalize code, while the simulator injects one kind of
 * fault. Each run must end with the data table equal to the simulator's ground truth, a clean INSERT
 * stream (nothing doubled), and a run record whose counts agree with the truth and the requests seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStateMachine, type LambdaHandler } from '#local/state-machine';
import type { FaultPlan } from '#sim/server';
import { handler as deployedSyncPages } from '#sync/sync-pages';
import { recordScenario } from './support/reliability-ledger.ts';
import {
  expectCleanInsertStream,
  expectExactMatch,
  expectRunRecordAgrees,
  mismatchCount,
  startSyncHarness,
  statusesOf,
  SYNC_ENDPOINTS,
  type SyncHarness,
  type SyncPagesOptions,
} from './support/reliability-harness.ts';

const FILE = 'reliability-api-faults.test.ts';
let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ prefix: 'rel-api', sim: { npns: 10, seed: 21 }, pageSize: 4 });
});
afterAll(async () => {
  await h?.close();
});

interface FaultCase {
  name: string;
  plan: FaultPlan;
  options?: SyncPagesOptions;
  /** Requests the fault made fail (each costs exactly one extra request). */
  failedRequests: (statuses: Record<number, number>) => number;
  /** Further evidence that the fault really happened. */
  evidence?: (statuses: Record<number, number>, run: { throttled: number; tokensIssued: number; tokenStatuses: Record<number, number> }) => void;
}

const cases: FaultCase[] = [
  {
    name: '429 burst with a short Retry-After (waited out inside the Lambda)',
    plan: { burst429: { count: 3, afterRequests: 5, retryAfterSeconds: 2 } },
    failedRequests: (s) => s[429] ?? 0,
    evidence: (s) => expect(s[429]).toBe(3),
  },
  {
    name: '429 burst with a long Retry-After (handed to the Wait state)',
    plan: { burst429: { count: 2, afterRequests: 8, retryAfterSeconds: 45 } },
    failedRequests: (s) => s[429] ?? 0,
    evidence: (s, run) => {
      expect(s[429]).toBe(2);
      expect(run.throttled).toBeGreaterThanOrEqual(2);
    },
  },
  {
    name: '429 burst without Retry-After',
    plan: { burst429: { count: 3, afterRequests: 5, retryAfterSeconds: null } },
    failedRequests: (s) => s[429] ?? 0,
    evidence: (s) => expect(s[429]).toBe(3),
  },
  ...([500, 502, 503] as const).map(
    (status): FaultCase => ({
      name: `HTTP ${status} x3`,
      plan: { status5xx: { count: 3, afterRequests: 4, status } },
      failedRequests: (s) => s[status] ?? 0,
      evidence: (s) => expect(s[status]).toBe(3),
    }),
  ),
  {
    name: 'slow responses beyond the client timeout',
    // Generous margins so only the delayed responses can miss the timeout on a loaded machine.
    plan: { slowMs: { count: 3, afterRequests: 4, delayMs: 3_000 } },
    options: { timeoutMs: 1_000 },
    // The simulator still answers 200 after the client gave up: those requests are the extra ones.
    failedRequests: () => 3,
  },
  {
    name: 'dropped connections',
    plan: { dropConnection: { count: 3, afterRequests: 6 } },
    failedRequests: (s) => s[0] ?? 0,
    evidence: (s) => expect(s[0]).toBe(3),
  },
  {
    name: 'token revoked early: 401s mid-run',
    plan: { expireTokensAfterRequests: 12 },
    failedRequests: (s) => s[401] ?? 0,
    evidence: (s, run) => {
      expect(s[401]).toBeGreaterThanOrEqual(1);
      expect(run.tokensIssued).toBeGreaterThanOrEqual(1);
    },
  },
  {
    name: 'token revoked, then the token endpoint answers 429 and 503 while refreshing',
    plan: { expireTokensAfterRequests: 10, burst429: { count: 2, on: 'token', retryAfterSeconds: 1 }, status5xx: { count: 1, on: 'token', afterRequests: 2, status: 503 } },
    failedRequests: (s) => s[401] ?? 0,
    evidence: (s, run) => {
      expect(s[401]).toBeGreaterThanOrEqual(1);
      expect(run.tokenStatuses).toEqual({ 200: run.tokensIssued, 429: 2, 503: 1 });
    },
  },
  {
    name: 'malformed (truncated) page bodies',
    plan: { malformedBody: { count: 3, afterRequests: 3 } },
    failedRequests: () => 3,
  },
];

describe('API faults during a multi-page sync converge to the ground truth', () => {
  it.each(cases)('$name', async ({ name, plan, options, failedRequests, evidence }) => {
    const tables = await h.freshTables();
    const runId = `api-${cases.findIndex((c) => c.name === name)}`;
    h.sim.clearRequests();
    const tokensBefore = h.sim.tokensIssued();
    h.sim.setFaults(plan);
    let run;
    try {
      run = await runStateMachine(h.asl, { mode: 'backfill' }, { handlers: h.handlers(h.syncPagesHandler(tables, options)), executionName: runId });
    } finally {
      h.sim.setFaults({});
    }
    expect(run.status, run.cause).toBe('SUCCEEDED');

    const truthCount = h.truthCount();
    const comparison = await h.compare(tables);
    expectExactMatch(comparison, truthCount);
    const record = await h.runRecord(tables, runId);
    expectRunRecordAgrees(record, h.sim);
    // No crash: every write was counted, and the stream saw exactly those writes.
    expect(record.totals.inserted + record.totals.deleted).toBe(truthCount);
    await expectCleanInsertStream(h.admin, tables, truthCount);

    const statuses = statusesOf(h.sim);
    const requests = Object.values(statuses).reduce((n, c) => n + c, 0);
    const failed = failedRequests(statuses);
    expect(failed).toBeGreaterThan(0);
    // Every committed page was fetched once successfully; each injected failure cost exactly one more request.
    expect(requests).toBe(record.totals.pages + failed);
    const tokenStatuses: Record<number, number> = {};
    for (const r of h.sim.requests) if (r.kind === 'token') tokenStatuses[r.status] = (tokenStatuses[r.status] ?? 0) + 1;
    evidence?.(statuses, { throttled: record.totals.throttled, tokensIssued: h.sim.tokensIssued() - tokensBefore, tokenStatuses });

    const tokenFaults = Object.entries(tokenStatuses).reduce((n, [status, count]) => n + (status === '200' ? 0 : count), 0);
    recordScenario({ file: FILE, scenario: name, faultsInjected: failed + tokenFaults, runs: 1, recordsCompared: comparison.compared, mismatches: mismatchCount(comparison) });
  });

  it('quarantines records with missing or mistyped fields, counts them, and syncs the rest', async () => {
    const tables = await h.freshTables();
    h.sim.setFaults({ badRecord: { endpoint: 'licenses', count: 4 } });
    let run;
    try {
      run = await runStateMachine(h.asl, { mode: 'backfill' }, { handlers: h.handlers(h.syncPagesHandler(tables)), executionName: 'api-bad-records' });
    } finally {
      h.sim.setFaults({});
    }
    expect(run.status, run.cause).toBe('SUCCEEDED');
    const comparison = await h.compare(tables);
    expectExactMatch(comparison, h.truthCount());
    const record = await h.runRecord(tables, 'api-bad-records');
    expectRunRecordAgrees(record, h.sim, { quarantined: { licenses: 4 } });
    expect(record.totals.quarantined).toBe(4);
    const quarantined = await h.quarantined(tables, 'api-bad-records');
    expect(quarantined.map((q) => q.endpoint)).toEqual(['licenses', 'licenses', 'licenses', 'licenses']);
    expect(quarantined.every((q) => q.reason.length > 0)).toBe(true);
    await expectCleanInsertStream(h.admin, tables, h.truthCount());
    recordScenario({ file: FILE, scenario: 'records with missing fields (quarantined)', faultsInjected: 4, runs: 1, recordsCompared: comparison.compared, mismatches: mismatchCount(comparison) });
  });

  it('the deployed SyncPages handler as is (credentials from Secrets Manager): 503s and an early token expiry', async () => {
    const tables = await h.freshTables();
    h.sim.clearRequests();
    h.sim.setFaults({ status5xx: { count: 2, afterRequests: 3, status: 503 }, expireTokensAfterRequests: 9 });
    let run;
    try {
      run = await runStateMachine(h.asl, { mode: 'backfill' }, { handlers: h.handlers(deployedSyncPages as LambdaHandler), executionName: 'api-deployed-handler' });
    } finally {
      h.sim.setFaults({});
    }
    expect(run.status, run.cause).toBe('SUCCEEDED');
    const comparison = await h.compare(tables);
    expectExactMatch(comparison, h.truthCount());
    const record = await h.runRecord(tables, 'api-deployed-handler');
    expectRunRecordAgrees(record, h.sim);
    await expectCleanInsertStream(h.admin, tables, h.truthCount());
    const statuses = statusesOf(h.sim);
    expect(statuses[503]).toBe(2);
    expect(statuses[401]).toBeGreaterThanOrEqual(1);
    const requests = Object.values(statuses).reduce((n, c) => n + c, 0);
    expect(requests).toBe(record.totals.pages + 2 + statuses[401]!);
    expect(SYNC_ENDPOINTS.every((e) => record.endpoints[e]!.pages >= 1)).toBe(true);
    recordScenario({
      file: FILE,
      scenario: 'deployed handler: 503 x2 + token revoked',
      faultsInjected: 2 + statuses[401]!,
      runs: 1,
      recordsCompared: comparison.compared,
      mismatches: mismatchCount(comparison),
    });
  });
});
