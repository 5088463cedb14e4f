import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { main } from '../scripts/cli.ts';
import { parseNpnList } from '../scripts/support/npn-list.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:ProducerSync-Sync';
let sfn: SfnApi;
let dir: string;

beforeAll(async () => {
  // No handlers: executions are only recorded, which is all these commands are responsible for.
  sfn = await startSfnApi({ stateMachines: { [STATE_MACHINE_ARN]: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } } } });
  applyEnv(localAwsEnv({ sfn: sfn.endpoint }));
  dir = mkdtempSync(join(tmpdir(), 'cli-operator-'));
});
afterAll(async () => {
  await sfn?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const backfill = (args: string[]) => main(['backfill', ...args]);
const rerun = (args: string[]) => main(['rerun', ...args]);

/** Runs a command with its console output captured. */
async function quietly(command: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
  try {
    return { code: await command(), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

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
    const result = await quietly(() => backfill(['--file', file, '--npns', '99,10000000', '--name', 'bf-split', '--state-machine-arn', STATE_MACHINE_ARN]));
    expect(result.code).toBe(0);
    const executions = started('bf-split');
    expect(executions.map((e) => e.name)).toEqual(['bf-split-part-1', 'bf-split-part-2', 'bf-split-part-3']);
    const inputs = executions.map((e) => JSON.parse(e.input) as { mode: string; npns: string[] });
    expect(inputs.every((i) => i.mode === 'backfill' && i.npns.length <= MAX_BACKFILL_NPNS)).toBe(true);
    // Every NPN exactly once, command-line NPNs first.
    expect(inputs.flatMap((i) => i.npns)).toEqual(['99', ...many]);
    expect(result.out).toContain('console https://');
  });

  it('backfill refuses a typo instead of silently dropping it, and --all with NPNs', async () => {
    const typo = await quietly(() => backfill(['--npns', '15645555,1564555x', '--state-machine-arn', STATE_MACHINE_ARN]));
    expect(typo.code).toBe(1);
    expect(typo.err).toContain('"1564555x"');
    const both = await quietly(() => backfill(['--all', '--npns', '15645555', '--state-machine-arn', STATE_MACHINE_ARN]));
    expect(both.code).toBe(2);
    expect(sfn.executions().filter((e) => e.input.includes('15645555'))).toEqual([]);
  });

  it('rerun starts {"runDate"} exactly as typed in the console, and rejects a bad date without starting anything', async () => {
    expect((await quietly(() => rerun(['--run-date', '2025-07-24', '--name', 'rerun-ok', '--state-machine-arn', STATE_MACHINE_ARN]))).code).toBe(0);
    expect(started('rerun-ok').map((e) => JSON.parse(e.input))).toEqual([{ runDate: '2025-07-24' }]);
    expect((await quietly(() => rerun(['--run-date', '24/07/2025', '--name', 'rerun-bad', '--state-machine-arn', STATE_MACHINE_ARN]))).code).toBe(2);
    expect(started('rerun-bad')).toEqual([]);
  });
});
