/**
 * Issue 8, process faults: the sync Lambda dies at the worst moments (after fetching and before
 * writing, halfway through a page's writes, between the writes and the checkpoint, during finalize)
 * for longer than the state machine's retries, so the execution fails. Once the fault is gone the
 * execution is redriven through the Step Functions API stand-in, then re-run under a new name; both
 * must converge to the same table, equal to the simulator's ground truth, with each record inserted
 * once on the stream. DynamoDB batch leftovers (UnprocessedKeys / UnprocessedItems) are retried
 * until every item is read or written.
 */
import { DynamoDBClient, type BatchGetItemCommandInput, type BatchGetItemCommandOutput, type BatchWriteItemCommandInput, type BatchWriteItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sfnClient } from '#commons/clients';
import type { SfnApi } from '#local/sfn-api';
import type { LambdaHandler } from '#local/state-machine';
import type { EndpointName } from '#producersync/endpoints';
import { createDynamoCheckpointStore } from '#sync/checkpoint';
import { batchWriteBaseline } from '#sync/dynamo-record-store';
import { handler as finalize } from '#sync/finalize';
import { validateRecord } from '#sync/record-validation';
import type { SyncPagesDeps } from '#sync/sync-pages';
import { compareWithTruth, readSyncedRecords } from '../scripts/support/table-export.ts';
import { useSfnApi } from './support/local-aws.ts';
import { recordScenario } from './support/reliability-ledger.ts';
import {
  expectCleanInsertStream,
  expectExactMatch,
  expectRunRecordAgrees,
  mismatchCount,
  startSyncHarness,
  SYNC_ENDPOINTS,
  type SyncHarness,
  type Tables,
} from './support/reliability-harness.ts';
import { createDataTable, readStream } from './sync-fixtures.ts';

const FILE = 'reliability-process-faults.test.ts';
/** The endpoint that crashes: licenses has the most pages. */
const VICTIM: EndpointName = 'licenses';
/** Crash from this page of the victim on (1-based), so some pages are committed before. */
const CRASH_AT_PAGE = 3;

let h: SyncHarness;
let sfn: SfnApi;
let stateMachineArn: string;
/** The Lambdas behind the SFN stand-in; each scenario swaps in its own. */
let current: { syncPages: LambdaHandler; finalize: LambdaHandler };

beforeAll(async () => {
  h = await startSyncHarness({ prefix: 'rel-proc', sim: { npns: 10, seed: 31 }, pageSize: 4 });
  stateMachineArn = h.resources.resources.SyncStateMachine!.arn;
  sfn = await useSfnApi(h.local, {
    stateMachines: { [stateMachineArn]: h.asl },
    handlers: h.handlers(
      (event, context) => current.syncPages(event, context),
      (event, context) => current.finalize(event, context),
    ),
  });
});
afterAll(async () => {
  await h?.close();
});

class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | string;
async function execute(name: string): Promise<{ arn: string; status: Status }> {
  const { executionArn } = await sfnClient().send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ mode: 'backfill' }) }));
  await sfn.waitForAll();
  const described = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
  return { arn: executionArn!, status: described.status! };
}

async function redrive(executionArn: string): Promise<{ status: Status; redriveCount: number }> {
  await sfnClient().send(new RedriveExecutionCommand({ executionArn }));
  await sfn.waitForAll();
  const described = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
  return { status: described.status!, redriveCount: described.redriveCount ?? 0 };
}

interface CrashPlan {
  name: string;
  /** Installs the crash into the scenario's handlers; `outage()` says whether it still fires. */
  install(tables: Tables, outage: () => boolean, crashed: () => void): void;
  /** Whether the failed execution left the victim endpoint unfinished (false: the run record step failed). */
  leavesEndpointUnfinished: boolean;
}

/** Wraps the victim's record store so `before`/`after` run around its page writes. */
function storeWrapper(deps: SyncPagesDeps, around: (endpoint: EndpointName, write: () => Promise<unknown>) => Promise<unknown>): SyncPagesDeps {
  return {
    ...deps,
    storeFor(runId) {
      const store = deps.storeFor(runId);
      return { applyPage: (endpoint, records) => around(endpoint, () => store.applyPage(endpoint, records)) as ReturnType<typeof store.applyPage> };
    },
  };
}

const plans: CrashPlan[] = [
  {
    name: 'dies after fetching a page, before writing it',
    leavesEndpointUnfinished: true,
    install(tables, outage, crashed) {
      let victimPages = 0;
      current.syncPages = h.syncPagesHandler(tables, {
        wrap: (deps) =>
          storeWrapper(deps, async (endpoint, write) => {
            if (endpoint === VICTIM && ++victimPages >= CRASH_AT_PAGE && outage()) {
              crashed();
              throw new InjectedCrash('died after fetching, before writing');
            }
            return write();
          }),
      });
    },
  },
  {
    name: 'dies after writing half of a page',
    leavesEndpointUnfinished: true,
    install(tables, outage, crashed) {
      // A client of its own for the victim's writes: it lets half of a page's PutItems through, then dies.
      let putsLeft = Number.POSITIVE_INFINITY;
      let died = false;
      const flaky = new DynamoDBClient({});
      flaky.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'PutItemCommand' && (args.input as { TableName?: string }).TableName === tables.data && putsLeft-- <= 0) {
            // Concurrent writes all fail once the process is gone; it died once.
            if (!died) crashed();
            died = true;
            throw new InjectedCrash('died after writing half of a page');
          }
          return next(args);
        },
        { step: 'initialize' },
      );
      const flakyHandler = h.syncPagesHandler(tables, { dynamo: flaky });
      const healthyHandler = h.syncPagesHandler(tables);
      let victimInvocations = 0;
      current.syncPages = async (event, context) => {
        if ((event as { endpoint?: string }).endpoint !== VICTIM) return healthyHandler(event, context);
        // The first invocation gets through some pages; every later one dies after two writes.
        died = false;
        putsLeft = outage() ? (++victimInvocations === 1 ? h.pageSize * (CRASH_AT_PAGE - 1) + 2 : 2) : Number.POSITIVE_INFINITY;
        return flakyHandler(event, context);
      };
    },
  },
  {
    name: 'dies after writing a page, before its checkpoint',
    leavesEndpointUnfinished: true,
    install(tables, outage, crashed) {
      current.syncPages = h.syncPagesHandler(tables, {
        wrap: (deps) => ({
          ...deps,
          checkpoints: {
            ...deps.checkpoints,
            async save(checkpoint, expectedPages) {
              if (checkpoint.endpoint === VICTIM && checkpoint.pages >= CRASH_AT_PAGE && outage()) {
                crashed();
                throw new InjectedCrash('died before the checkpoint');
              }
              return deps.checkpoints.save(checkpoint, expectedPages);
            },
          },
        }),
      });
    },
  },
  {
    name: 'dies during finalize, before the run record was written',
    leavesEndpointUnfinished: false,
    install(tables, outage, crashed) {
      current.syncPages = h.syncPagesHandler(tables);
      current.finalize = async (event, context) => {
        if (outage()) {
          crashed();
          throw new InjectedCrash('died during finalize');
        }
        return (finalize as LambdaHandler)(event, context);
      };
    },
  },
  {
    name: 'dies during finalize, after the run record was written',
    leavesEndpointUnfinished: false,
    install(tables, outage, crashed) {
      current.syncPages = h.syncPagesHandler(tables);
      current.finalize = async (event, context) => {
        const result = await (finalize as LambdaHandler)(event, context);
        if (outage()) {
          crashed();
          throw new InjectedCrash('died during finalize');
        }
        return result;
      };
    },
  },
];

describe('process faults: a failed execution is redriven, then re-run, and converges to the ground truth', () => {
  it.each(plans)('$name', async (plan) => {
    const tables = await h.freshTables();
    current = { syncPages: h.syncPagesHandler(tables), finalize: finalize as LambdaHandler };
    let outage = true;
    let crashes = 0;
    plan.install(tables, () => outage, () => crashes++);
    const name = `proc-${plans.indexOf(plan)}`;

    const first = await execute(name);
    expect(first.status).toBe('FAILED');
    expect(crashes).toBeGreaterThan(0);
    const checkpoints = createDynamoCheckpointStore({ client: h.admin, tableName: tables.control });
    const victim = await checkpoints.load(name, VICTIM);
    if (plan.leavesEndpointUnfinished) {
      // Committed pages stay committed; the victim stopped where it crashed.
      expect(victim?.done).toBe(false);
      expect(victim?.pages).toBeGreaterThanOrEqual(CRASH_AT_PAGE - 1);
      expect(victim?.lastError).toMatch(/InjectedCrash/);
      expect((await h.compare(tables)).missing.length).toBeGreaterThan(0);
    } else {
      expect(victim?.done).toBe(true);
      // Prepare's RUNNING record, or the one finalize wrote just before it died.
      expect(['RUNNING', 'SUCCEEDED']).toContain((await h.runRecord(tables, name)).status);
    }

    outage = false;
    const redriven = await redrive(first.arn);
    expect(redriven).toEqual({ status: 'SUCCEEDED', redriveCount: 1 });
    const truthCount = h.truthCount();
    const afterRedrive = await h.compare(tables);
    expectExactMatch(afterRedrive, truthCount);
    const record = await h.runRecord(tables, name);
    expectRunRecordAgrees(record, h.sim);
    // Writes lost with a crashed invocation's counts come back as unchanged on the replay: never counted twice.
    expect(record.totals.inserted + record.totals.deleted + record.totals.unchanged).toBe(truthCount);
    expect(record.endpoints[VICTIM]!.pages).toBeGreaterThanOrEqual(Math.ceil(h.sim.groundTruth(VICTIM).length / h.pageSize));
    await expectCleanInsertStream(h.admin, tables, truthCount);

    // A re-run under a new name reads everything again and changes nothing.
    const rerun = await execute(`${name}-rerun`);
    expect(rerun.status).toBe('SUCCEEDED');
    const afterRerun = await h.compare(tables);
    expectExactMatch(afterRerun, truthCount);
    const rerunRecord = await h.runRecord(tables, `${name}-rerun`);
    expectRunRecordAgrees(rerunRecord, h.sim);
    expect(rerunRecord.totals.unchanged).toBe(truthCount);
    await expectCleanInsertStream(h.admin, tables, truthCount);

    recordScenario({
      file: FILE,
      scenario: plan.name,
      faultsInjected: crashes,
      runs: 3,
      recordsCompared: afterRedrive.compared + afterRerun.compared,
      mismatches: mismatchCount(afterRedrive) + mismatchCount(afterRerun),
    });
  });
});

describe('DynamoDB batch leftovers are retried until every item is done', () => {
  it('BatchGetItem UnprocessedKeys on every read of a sync: the run still writes exactly the ground truth', async () => {
    const tables = await h.freshTables();
    let leftovers = 0;
    // DynamoDB under pressure answers part of a batch and returns the rest as UnprocessedKeys.
    const partial = new DynamoDBClient({});
    partial.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchGetItemCommand') return next(args);
        const input = args.input as BatchGetItemCommandInput;
        const [table, request] = Object.entries(input.RequestItems ?? {})[0]!;
        const keys = request.Keys ?? [];
        if (keys.length < 2) return next(args);
        const half = Math.ceil(keys.length / 2);
        const result = await next({ ...args, input: { ...input, RequestItems: { [table]: { ...request, Keys: keys.slice(0, half) } } } });
        (result.output as BatchGetItemCommandOutput).UnprocessedKeys = { [table]: { ...request, Keys: keys.slice(half) } };
        leftovers += keys.length - half;
        return result;
      },
      { step: 'initialize' },
    );
    current = { syncPages: h.syncPagesHandler(tables, { dynamo: partial }), finalize: finalize as LambdaHandler };
    const run = await execute('proc-unprocessed-keys');
    expect(run.status).toBe('SUCCEEDED');
    expect(leftovers).toBeGreaterThan(0);
    const truthCount = h.truthCount();
    const comparison = await h.compare(tables);
    expectExactMatch(comparison, truthCount);
    const record = await h.runRecord(tables, 'proc-unprocessed-keys');
    expectRunRecordAgrees(record, h.sim);
    expect(record.totals.inserted + record.totals.deleted).toBe(truthCount);
    await expectCleanInsertStream(h.admin, tables, truthCount);
    recordScenario({ file: FILE, scenario: 'BatchGetItem UnprocessedKeys', faultsInjected: leftovers, runs: 1, recordsCompared: comparison.compared, mismatches: mismatchCount(comparison) });
  });

  it('BatchWriteItem UnprocessedItems (the batch writer): every item ends up written', async () => {
    const table = await createDataTable(h.admin);
    let leftovers = 0;
    const partial = new DynamoDBClient({});
    partial.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchWriteItemCommand') return next(args);
        const input = args.input as BatchWriteItemCommandInput;
        const [name, requests] = Object.entries(input.RequestItems ?? {})[0]!;
        if (requests.length < 2) return next(args);
        const half = Math.ceil(requests.length / 2);
        const result = await next({ ...args, input: { ...input, RequestItems: { [name]: requests.slice(0, half) } } });
        (result.output as BatchWriteItemCommandOutput).UnprocessedItems = { [name]: requests.slice(half) };
        leftovers += requests.length - half;
        return result;
      },
      { step: 'initialize' },
    );
    const truth = Object.fromEntries(SYNC_ENDPOINTS.map((endpoint) => [endpoint, h.sim.groundTruth(endpoint)]));
    const items = SYNC_ENDPOINTS.flatMap((endpoint) =>
      truth[endpoint]!.map((record) => {
        const result = validateRecord(endpoint, record);
        if (!result.ok) throw new Error(`ground truth record rejected: ${result.reason}`);
        return result.item;
      }),
    );
    await batchWriteBaseline(partial, table, items);
    expect(leftovers).toBeGreaterThan(items.length / 2);
    const comparison = compareWithTruth(await readSyncedRecords(h.admin, table), truth);
    expectExactMatch(comparison, items.length);
    expect(await readStream(h.admin, table)).toHaveLength(items.length);
    recordScenario({ file: FILE, scenario: 'BatchWriteItem UnprocessedItems', faultsInjected: leftovers, runs: 1, recordsCompared: comparison.compared, mismatches: mismatchCount(comparison) });
  });
});
