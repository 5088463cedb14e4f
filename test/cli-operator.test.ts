import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { createDynamoRunStore } from '#sync/run-record';
import type { SfnApi } from '#local/sfn-api';
import { main } from '../scripts/cli.ts';
import { memoryIo } from '../scripts/support/cli-io.ts';
import { parseNpnList } from '../scripts/support/npn-list.ts';
import { provisionTestResources, useLocalAws, useSfnApi, type LocalAws } from './support/local-aws.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:ProducerSync-Sync';
let local: LocalAws;
let sfn: SfnApi;
let controlTable: string;
let dir: string;

beforeAll(async () => {
  local = await useLocalAws();
  // One Succeed state: what matters here is what the commands start and report, not what a run does.
  sfn = await useSfnApi(local, { stateMachines: { [STATE_MACHINE_ARN]: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } } }, handlers: {} });
  controlTable = (await provisionTestResources('cli-runs')).resources.ControlTable!.name;
  dir = mkdtempSync(join(tmpdir(), 'cli-operator-'));
});
afterAll(async () => {
  await local?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `producersync <argv>` in this process, stdout and stderr captured. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

const backfill = (args: string[]) => cli(['backfill', ...args]);
const rerun = (args: string[]) => cli(['rerun', ...args]);
const started = (name: string) => sfn.executions().filter((e) => e.name.startsWith(name));

describe('parseNpnList', () => {
  it('reads lines, separators and an npn CSV column, skips a header, drops duplicates in order', () => {
    expect(parseNpnList('NPN\n3\n2, 4 ;5\n3\n')).toEqual(['3', '2', '4', '5']);
    expect(parseNpnList('id,npn,name\n7,111,"A"\n8,"222",B\n')).toEqual(['111', '222']);
  });

  it('rejects anything that is not 1-10 digits, naming it, and a header where none is allowed', () => {
    expect(() => parseNpnList('123\n12a\n')).toThrow(/1 value\(s\) are not NPNs.*"12a"/);
    expect(() => parseNpnList('12345678901')).toThrow(/not NPNs/);
    expect(() => parseNpnList('npn', { allowHeader: false })).toThrow(/"npn"/);
  });
});

describe('backfill and rerun commands', () => {
  it('backfill starts the console input and splits a long list into executions of at most the engine limit', async () => {
    const file = join(dir, 'npns.csv');
    const many = Array.from({ length: MAX_BACKFILL_NPNS * 2 + 1 }, (_, i) => String(10_000_000 + i));
    writeFileSync(file, `agency,npn\nA,${many.join('\nA,')}\n`);
    const result = await backfill(['--file', file, '--npns', '99,10000000', '--name', 'bf-split', '--state-machine-arn', STATE_MACHINE_ARN]);
    expect(result.code).toBe(0);
    const executions = started('bf-split');
    expect(executions.map((e) => e.name)).toEqual(['bf-split-part-1', 'bf-split-part-2', 'bf-split-part-3']);
    const inputs = executions.map((e) => JSON.parse(e.input) as { mode: string; npns: string[] });
    expect(inputs.every((i) => i.mode === 'backfill' && i.npns.length <= MAX_BACKFILL_NPNS)).toBe(true);
    // Every NPN exactly once, command-line NPNs first.
    expect(inputs.flatMap((i) => i.npns)).toEqual(['99', ...many]);
    expect(result.out).toContain('console https://us-east-1.console.aws.amazon.com/states/');
  });

  it('backfill reads NPNs from stdin with --file -, and --output json lists every execution', async () => {
    const io = memoryIo({ stdin: 'npn\n15645555\n19855109\n' });
    expect(await main(['backfill', '--file', '-', '--name', 'bf-stdin', '--state-machine-arn', STATE_MACHINE_ARN, '--output', 'json'], io)).toBe(0);
    expect(started('bf-stdin').map((e) => JSON.parse(e.input))).toEqual([{ mode: 'backfill', npns: ['15645555', '19855109'] }]);
    const document = JSON.parse(io.out()) as { executions: Array<{ name: string; executionArn: string; input: unknown; consoleUrl: string }> };
    expect(document.executions).toEqual([
      { name: 'bf-stdin', executionArn: started('bf-stdin')[0]!.executionArn, input: { mode: 'backfill', npns: ['15645555', '19855109'] }, consoleUrl: expect.stringContaining('https://') },
    ]);
    // What text mode prints on stdout goes to stderr in json mode.
    expect(io.err()).toContain('started arn:aws:states:');
  });

  it('backfill refuses a typo instead of silently dropping it, and --all with NPNs, starting nothing', async () => {
    const typo = await backfill(['--npns', '15645555,1564555x', '--name', 'bf-typo', '--state-machine-arn', STATE_MACHINE_ARN]);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('"1564555x"');
    const both = await backfill(['--all', '--npns', '15645555', '--name', 'bf-both', '--state-machine-arn', STATE_MACHINE_ARN]);
    expect(both.code).toBe(2);
    expect([...started('bf-typo'), ...started('bf-both')]).toEqual([]);
  });

  it('rerun starts {"runDate"} exactly as typed in the console, and rejects a bad date without starting anything', async () => {
    expect((await rerun(['--run-date', '2025-07-24', '--name', 'rerun-ok', '--state-machine-arn', STATE_MACHINE_ARN])).code).toBe(0);
    expect(started('rerun-ok').map((e) => JSON.parse(e.input))).toEqual([{ runDate: '2025-07-24' }]);
    for (const bad of ['24/07/2025', '2025-02-30', '2999-01-01']) {
      expect((await rerun(['--run-date', bad, '--name', 'rerun-bad', '--state-machine-arn', STATE_MACHINE_ARN])).code).toBe(2);
    }
    expect(started('rerun-bad')).toEqual([]);
  });

  it('rerun --wait --output json: one JSON document on stdout with the outcome, progress on stderr, no \\r anywhere', async () => {
    const result = await rerun(['--run-date', '2025-07-23', '--name', 'rerun-wait', '--wait', '--output', 'json', '--state-machine-arn', STATE_MACHINE_ARN]);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.out) as Record<string, unknown>;
    expect(document).toMatchObject({ name: 'rerun-wait', input: { runDate: '2025-07-23' }, status: 'SUCCEEDED', executionArn: started('rerun-wait')[0]!.executionArn });
    expect(result.err).toMatch(/^SUCCEEDED after \d+s$/m);
    expect(result.out + result.err).not.toContain('\r');
  });

  it('an execution name already taken (by another input) is a runtime failure: exit 1, one line', async () => {
    const again = await rerun(['--run-date', '2025-07-01', '--name', 'rerun-ok', '--state-machine-arn', STATE_MACHINE_ARN]);
    expect(again).toEqual({ code: 1, out: '', err: 'producersync rerun: an execution named "rerun-ok" already exists; pick another --name or redrive it from the console\n' });
  });
});

describe('runs command', () => {
  it('lists the newest runs from the control table, as a table or a JSON array (--output json, or --json)', async () => {
    const runStore = createDynamoRunStore({ client: new DynamoDBClient({}), tableName: controlTable });
    for (const [i, day] of ['2025-07-20', '2025-07-21', '2025-07-22'].entries()) {
      await runStore.start({ runId: `run-${day}`, mode: 'incremental', runDate: day, startedAt: `2025-07-2${i}T06:00:00.000Z` });
    }
    const json = await cli(['runs', '--control-table', controlTable, '--limit', '2', '--output', 'json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as Array<{ runId: string }>).map((r) => r.runId)).toEqual(['run-2025-07-22', 'run-2025-07-21']);
    expect(await cli(['runs', '--control-table', controlTable, '--limit', '2', '--json'])).toEqual(json);
    const text = await cli(['runs', '--control-table', controlTable]);
    expect(text.out.split('\n')[0]).toMatch(/^run\s+mode\s+runDate\s+status/);
    expect(text.out).toMatch(/run-2025-07-20\s+incremental\s+2025-07-20\s+RUNNING/);
  });

  it('shows what a reconcile corrected, and a skipped run as SKIPPED', async () => {
    const runStore = createDynamoRunStore({ client: new DynamoDBClient({}), tableName: controlTable });
    const counts = { pages: 3, recordsSeen: 90, inserted: 1, modified: 2, unchanged: 84, deleted: 0, stale: 0, quarantined: 0, throttled: 0, marked: 3 };
    await runStore.start({ runId: 'reconcile-2025-07-27', mode: 'reconcile', startedAt: '2025-07-27T06:00:00.000Z' });
    await runStore.finish('reconcile-2025-07-27', {
      status: 'SUCCEEDED',
      finishedAt: '2025-07-27T06:10:00.000Z',
      durationMs: 600_000,
      endpoints: { licenses: { ...counts, corrected: 6 } },
      totals: { ...counts, corrected: 6 },
      failedEndpoints: [],
    });
    await runStore.start({ runId: 'catch-up-2025-07-27T07', mode: 'backfill', startedAt: '2025-07-27T07:00:00.000Z', skipped: 'another initial load (x) is in flight' });
    const text = await cli(['runs', '--control-table', controlTable]);
    expect(text.out.split('\n')[0]).toMatch(/\scorrected$/);
    expect(text.out).toMatch(/reconcile-2025-07-27\s+reconcile\s+SUCCEEDED\s+\S+\s+600\.0s\s+3\s+1\s+2\s+0\s+0\s+6\n/);
    expect(text.out).toMatch(/catch-up-2025-07-27T07\s+backfill\s+SKIPPED/);
  });
});
