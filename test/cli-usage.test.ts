/**
 * The CLI's usage contract, command by command: every wrong usage exits 2 with its message and the
 * command's usage on stderr, before anything is started (every AWS endpoint and the ProducerSync URLs
 * point at a server that counts requests: it must see none); help and version on stdout, exit 0.
 * Most cases run the CLI's `main` in-process with buffered streams; a few run `bin/producersync.mjs`
 * as a user would, to prove the process wiring (exit code, stdout vs stderr).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../scripts/cli.ts';
import { memoryIo } from '../scripts/support/cli-io.ts';
import { runCli, type CliResult } from './support/cli-process.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:ProducerSync-Sync';
const DAY = '2025-07-24';

// Created while the file is collected: the table below names the counter's URL and the files.
let requests = 0;
const counter: Server = createServer((request, response) => {
  requests++;
  request.resume();
  response.writeHead(500).end('this server only counts requests');
});
await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
const counterUrl = `http://127.0.0.1:${(counter.address() as AddressInfo).port}`;
const dir = mkdtempSync(join(tmpdir(), 'cli-usage-'));
const saved: Record<string, string | undefined> = {};
const ENDPOINT_VARS = ['AWS_ENDPOINT_URL_SFN', 'AWS_ENDPOINT_URL_CLOUDFORMATION', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

beforeAll(() => {
  for (const name of ENDPOINT_VARS) saved[name] = process.env[name];
  for (const name of ENDPOINT_VARS.filter((n) => n.startsWith('AWS_ENDPOINT_URL_'))) process.env[name] = counterUrl;
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'usage', AWS_SECRET_ACCESS_KEY: 'usage-test' });
  writeFileSync(join(dir, 'typo.csv'), 'agency,npn\nA,15645555\nB,1564555x\n');
  writeFileSync(join(dir, 'many.txt'), Array.from({ length: 501 }, (_, i) => String(20_000_000 + i)).join('\n'));
  // A data directory held by a live process (this one's parent), as a running `local up` holds it.
  mkdirSync(join(dir, 'busy'));
  writeFileSync(join(dir, 'busy', 'lock'), JSON.stringify({ pid: process.ppid }));
});
afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise((resolve) => counter?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  const io = memoryIo(options);
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

const creds = () => ['--api-base-url', counterUrl, '--token-url', `${counterUrl}/oauth2/token`, '--client-id', 'usage', '--client-secret', 'usage-secret-5b1d'];
const file = (name: string) => join(dir, name);

/** [command line, the message stderr must contain]. Every one exits 2, with the command's usage, and calls nothing. */
const WRONG_USAGE: Array<[string[], string | RegExp]> = [
  // sim
  [['sim', '--bogus'], 'producersync sim: unknown option --bogus'],
  [['sim', '--port', 'abc'], '--port must be an integer from 0 to 65535, got "abc"'],
  [['sim', '--port', '70000'], '--port must be an integer from 0 to 65535, got "70000"'],
  [['sim', '--port'], '--port needs a value (N)'],
  [['sim', '--npns', '-1'], '--npns needs a value (N); to give one starting with "-", write --npns=-1'],
  [['sim', '--npns=-1'], '--npns must be a non-negative integer, got "-1"'],
  [['sim', '--seed', '1.5'], '--seed must be a non-negative integer, got "1.5"'],
  [['sim', '--start-date', '2025-02-30'], '--start-date must be a calendar date YYYY-MM-DD, got "2025-02-30"'],
  [['sim', '--webhook-url', 'http://127.0.0.1:1/hook'], '--webhook-url and --webhook-secret go together'],
  [['sim', '--webhook-url', 'ftp://x', '--webhook-secret', 'whsec_c2VjcmV0'], '--webhook-url must be an absolute http(s) URL, got "ftp://x"'],
  [['sim', '--webhook-url', 'http://127.0.0.1:1/hook', '--webhook-secret', 'not-a-svix-secret'], '--webhook-secret must be a Svix secret whsec_<base64>'],
  [['sim', 'extra'], 'unexpected argument "extra"'],
  [['sim', '--output', 'xml'], '--output must be one of json, text, got "xml"'],
  [['sim', '--region', 'us-east-1'], 'unknown option --region'],
  [['sim', '--wait=1'], 'unknown option --wait'],
  // sync
  [['sync'], 'only local mode exists: pass --local'],
  [['sync', '--local', ...creds()], 'give exactly one of --full and --run-date YYYY-MM-DD'],
  [['sync', '--local', '--full', '--run-date', DAY, ...creds()], 'give exactly one of --full and --run-date'],
  [['sync', '--local', '--run-date', '2025-02-30', ...creds()], '--run-date must be a calendar date YYYY-MM-DD, got "2025-02-30"'],
  [['sync', '--local', '--run-date', '2099-01-01', ...creds()], /--run-date: runDate 2099-01-01 is in the future/],
  [['sync', '--local', '--full'], 'missing --api-base-url, --token-url, --client-id, --client-secret'],
  [['sync', '--local', '--full', '--api-base-url', counterUrl], 'missing --token-url, --client-id, --client-secret'],
  [['sync', '--local', '--full', ...creds().slice(2), '--api-base-url', 'api.example.com'], '--api-base-url must be an absolute http(s) URL'],
  [['sync', '--local', '--full', ...creds(), '--client-secret-file', '-'], 'give --client-secret or --client-secret-file, not both'],
  [['sync', '--local', '--full', ...creds().slice(0, 6), '--client-secret-file', '/nonexistent/secret'], 'cannot read --client-secret-file /nonexistent/secret: no such file'],
  [['sync', '--local', '--full', ...creds(), '--wait'], 'unknown option --wait'],
  [['sync', '--local', '--full', ...creds(), '--profile', 'p'], 'unknown option --profile'],
  [['sync', '--local', '--full', ...creds(), 'now'], 'unexpected argument "now"'],
  // rerun
  [['rerun'], 'missing --run-date YYYY-MM-DD'],
  [['rerun', '--bogus'], 'producersync rerun: unknown option --bogus'],
  [['rerun', '--run-date'], '--run-date needs a value (YYYY-MM-DD)'],
  [['rerun', '--run-date', '--wait'], '--run-date needs a value (YYYY-MM-DD)'],
  [['rerun', '--run-date', '2025-02-30'], '--run-date must be a calendar date YYYY-MM-DD, got "2025-02-30"'],
  [['rerun', '--run-date', '24/07/2025'], '--run-date must be a calendar date YYYY-MM-DD, got "24/07/2025"'],
  [['rerun', '--run-date', '2099-01-01'], /--run-date: runDate 2099-01-01 is in the future/],
  [['rerun', '--run-date', DAY, '--wait=yes'], '--wait takes no value'],
  [['rerun', '--run-date', DAY, '--name', 'not a name!'], '--name must be 1-80 letters, digits, "-" or "_", got "not a name!"'],
  [['rerun', '--run-date', DAY, '--state-machine-arn', 'ProducerSync-Sync'], '--state-machine-arn must be a state machine ARN'],
  [['rerun', '--run-date', DAY, '--stage', 'no_underscores'], '--stage must be 1-24 letters, digits or hyphens starting with a letter, got "no_underscores"'],
  [['rerun', '--run-date', DAY, '--region', 'moon'], '--region must be an AWS region such as us-east-1, got "moon"'],
  [['rerun', '--run-date', DAY, '--profile'], '--profile needs a value (P)'],
  [['rerun', '--run-date', DAY, '--output', 'yaml'], '--output must be one of json, text, got "yaml"'],
  [['rerun', '--run-date', DAY, DAY], `unexpected argument "${DAY}"`],
  // backfill
  [['backfill'], 'give either --all or NPNs (--npns, --file)'],
  [['backfill', '--all', '--npns', '15645555'], 'give either --all or NPNs (--npns, --file)'],
  [['backfill', '--npns', '12a'], '--npns: 1 value(s) are not NPNs (1-10 digits): "12a"'],
  [['backfill', '--npns', '15645555,12345678901'], '"12345678901"'],
  [['backfill', '--file', file('typo.csv')], `--file ${file('typo.csv')}: 1 value(s) are not NPNs (1-10 digits): "1564555x"`],
  [['backfill', '--file', file('missing.csv')], `cannot read --file ${file('missing.csv')}: no such file`],
  [['backfill', '--npns', '15645555', '--limit', '3'], 'unknown option --limit'],
  [['backfill', '--npns', '15645555', '--name', 'x'.repeat(81)], '--name must be 1-80 letters'],
  [['backfill', '--file', file('many.txt'), '--name', 'n'.repeat(75)], '--name is too long for 2 parts'],
  [['backfill', '--all', 'extra'], 'unexpected argument "extra"'],
  // runs
  [['runs', '--limit', '0'], '--limit must be a positive integer, got "0"'],
  [['runs', '--limit', 'ten'], '--limit must be a positive integer, got "ten"'],
  [['runs', '--json=yes'], 'unknown option --json'],
  [['runs', '--stage', 'has space'], '--stage must be 1-24 letters'],
  [['runs', 'latest'], 'unexpected argument "latest"'],
  [['runs', '--control-table', ''], '--control-table must not be empty'],
  // --local on the operator commands
  [['runs', '--local', '--data-dir', file('idle')], `no local deployment is running on ${file('idle')}: start one with "npx producersync local up --data-dir`],
  [['runs', '--local', '--control-table', 't'], '--control-table is for a deployed account, not for --local'],
  [['runs', '--data-dir', file('idle')], '--data-dir goes with --local'],
  [['rerun', '--run-date', DAY, '--local', '--state-machine-arn', ARN], '--state-machine-arn is for a deployed account, not for --local'],
  [['rerun', '--run-date', DAY, '--local', '--data-dir', file('idle')], `no local deployment is running on ${file('idle')}`],
  [['backfill', '--all', '--local', '--stage', 'dev'], '--stage is for a deployed account, not for --local'],
  [['backfill', '--all', '--local', '--profile', 'p', '--region', 'us-east-1'], '--profile, --region are for a deployed account, not for --local'],
  [['backfill', '--local'], 'give either --all or NPNs (--npns, --file)'],
  // reconcile
  [['reconcile', '--bogus'], 'producersync reconcile: unknown option --bogus'],
  [['reconcile', '--local', '--state-machine-arn', ARN], '--state-machine-arn is for a deployed account, not for --local'],
  [['reconcile', '--local', '--data-dir', file('idle')], `no local deployment is running on ${file('idle')}`],
  [['reconcile', '--name', 'not a name!'], '--name must be 1-80 letters, digits, "-" or "_", got "not a name!"'],
  [['reconcile', 'now'], 'unexpected argument "now"'],
  // export
  [['export'], 'missing --out FILE'],
  [['export', '--out'], '--out needs a value (FILE)'],
  [['export', '--out', file('t.jsonl'), '--local', '--data-table', 't'], '--data-table is for a deployed account, not for --local'],
  [['export', '--out', file('t.jsonl'), '--local', '--stage', 'dev'], '--stage is for a deployed account, not for --local'],
  [['export', '--out', file('t.jsonl'), '--local', '--data-dir', file('idle')], `no local deployment is running on ${file('idle')}`],
  [['export', '--out', file('t.jsonl'), '--data-dir', file('idle')], '--data-dir goes with --local'],
  // local up
  [['local', 'up', '--bogus'], 'producersync local up: unknown option --bogus'],
  [['local', 'up', '--port', '0'], '--port must be an integer from 1 to 65535, got "0"'],
  [['local', 'up', '--npns', 'many'], '--npns must be an integer from 1 to 1000000, got "many"'],
  [['local', 'up', '--api-base-url', counterUrl], 'syncing from an API needs --token-url, --client-id, --client-secret'],
  [['local', 'up', '--scope', 'read'], 'syncing from an API needs --api-base-url, --token-url, --client-id, --client-secret'],
  [['local', 'up', ...creds(), '--seed', '3'], '--npns and --seed are for the built-in simulator, not with --api-base-url'],
  [['local', 'up', '--webhook-secret', 'not-a-secret'], '--webhook-secret must be a Svix signing secret: whsec_ followed by base64'],
  [['local', 'up', '--webhook-secret-file', file('missing-secret')], `cannot read --webhook-secret-file ${file('missing-secret')}: no such file`],
  [['local', 'up', '--data-dir', file('busy')], `the data directory ${file('busy')} is in use by another producersync local up (pid ${process.ppid})`],
  [['local', 'up', '--region', 'us-east-1'], 'unknown option --region'],
  [['local', 'up', 'now'], 'unexpected argument "now"'],
  [['local', 'up', '--feed', 'claims:states=Texas'], '--feed claims: states must be two upper-case letters (TX), got "Texas"'],
  [['local', 'up', '--feed', 'claims:recordType=licenses'], '--feed claims: unknown option "recordType" (options: recordTypes, states, npns)'],
  // local send-webhook
  [['local', 'send-webhook'], 'missing --run-date YYYY-MM-DD'],
  [['local', 'send-webhook', '--run-date', '2025-02-30'], '--run-date must be a calendar date YYYY-MM-DD, got "2025-02-30"'],
  [['local', 'send-webhook', '--run-date', DAY, '--data-dir', file('idle')], `no local deployment is running on ${file('idle')}`],
  [['local', 'send-webhook', '--run-date', DAY, '--local'], 'unknown option --local'],
  // producer
  [['producer'], 'missing NPN'],
  [['producer', '12a'], 'NPN: 1 value(s) are not NPNs (1-10 digits): "12a"'],
  [['producer', '15645555', '19855109'], 'unexpected argument "19855109"'],
  [['producer', '15645555', '--state', 'Texas'], '--state must be a two-letter state such as TX, got "Texas"'],
  [['producer', '15645555', '--loa', 'Property'], '--loa needs --state XX'],
  [['producer', '15645555', '--state', 'TX', '--carrier', '98765'], '--carrier needs --state XX and --loa TEXT'],
  [['producer', '15645555', '--state', 'TX', '--loa', 'Life', '--carrier', '9876'], '--carrier must be a five-digit NAIC company code, got "9876"'],
  [['producer', '15645555', '--date', '2025-02-30'], '--date must be a calendar date YYYY-MM-DD, got "2025-02-30"'],
  [['producer', '15645555', '--loa'], '--loa needs a value (TEXT)'],
  [['producer', '15645555', '--data-table', ''], '--data-table must not be empty'],
  [['producer', '15645555', '--region', 'moon'], '--region must be an AWS region such as us-east-1, got "moon"'],
  [['producer', '15645555', '--output', 'csv'], '--output must be one of json, text, got "csv"'],
  [['producer', '15645555', '--local', '--data-table', 't'], '--data-table is for a deployed account, not for --local'],
  [['producer', '15645555', '--local', '--stage', 'dev'], '--stage is for a deployed account, not for --local'],
  [['producer', '15645555', '--data-dir', file('idle')], '--data-dir goes with --local'],
  [['producer', '15645555', '--local', '--data-dir', file('idle')], `no local deployment is running on ${file('idle')}`],
  // subscriptions
  [['subscriptions', 'list', 'extra', ...creds()], 'unexpected argument "extra"'],
  [['subscriptions', 'list'], 'missing credentials: --api-base-url, --token-url, --client-id, --client-secret (or --secret-id)'],
  [['subscriptions', 'list', '--api-base-url', 'notaurl', ...creds().slice(2)], '--api-base-url must be an absolute http(s) URL'],
  [['subscriptions', 'add', ...creds()], 'give NPNs (arguments or --file)'],
  [['subscriptions', 'add', '12a45', ...creds()], 'NPN...: 1 value(s) are not NPNs (1-10 digits): "12a45"'],
  [['subscriptions', 'remove', '--file', file('typo.csv'), ...creds()], '"1564555x"'],
  [['subscriptions', 'replace', '1', '--poll-ms', '0', ...creds()], '--poll-ms must be a positive integer, got "0"'],
  [['subscriptions', 'add', '1', '--file', '-', ...creds().slice(0, 6), '--client-secret-file', '-'], 'only one option can read stdin ("-")'],
  [['subscriptions', 'status', ...creds()], 'missing --job JOBID'],
  [['subscriptions', 'status', '--job', 'j1', '--stage', 'dev', ...creds()], 'unknown option --stage'],
];

const GROUP_USAGE: Array<[string[], string, string]> = [
  [['subscriptions'], 'producersync subscriptions: give a subcommand', 'usage: producersync subscriptions <list|add|remove|replace|status> [options]'],
  [['subscriptions', 'frobnicate'], 'producersync subscriptions: unknown subcommand "frobnicate"', 'usage: producersync subscriptions <list|add|remove|replace|status> [options]'],
  [['subscriptions', '--wait', 'add'], 'producersync subscriptions: give the subcommand before --wait', 'usage: producersync subscriptions <list|add|remove|replace|status> [options]'],
  [['local'], 'producersync local: give a subcommand', 'usage: producersync local <up|send-webhook> [options]'],
  [['local', 'down'], 'producersync local: unknown subcommand "down"', 'usage: producersync local <up|send-webhook> [options]'],
];

/** Commands with subcommands: their usage is the subcommand's. */
const GROUPS = ['subscriptions', 'local'];
const COMMANDS = ['sim', 'sync', 'rerun', 'backfill', 'runs', 'reconcile', 'export', 'producer'];
const SUBCOMMANDS = [...['list', 'add', 'remove', 'replace', 'status'].map((s) => `subscriptions ${s}`), 'local up', 'local send-webhook'];

describe('producersync usage errors', () => {
  /** The command line as a title, the credentials shortened. */
  const title = (argv: string[]): string => argv.join(' ').replace(creds().join(' '), '<credentials>').replaceAll(counterUrl, '<url>').replaceAll(dir, '<dir>').replaceAll('usage-secret-5b1d', '<secret>');
  for (const [argv, message] of WRONG_USAGE) it(`${title(argv)}: exit 2, the message and the usage, nothing called`, async () => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    if (typeof message === 'string') expect(err).toContain(message);
    else expect(err).toMatch(message);
    const path = GROUPS.includes(argv[0]!) ? argv.slice(0, 2) : argv.slice(0, 1);
    expect(err).toContain(`\n\nusage: producersync ${path.join(' ')} `);
    expect(err).not.toContain('usage-secret-5b1d');
    expect(requests).toBe(0);
  });

  it.each(GROUP_USAGE)('%j exits 2 with the subcommands', async (argv, message, usage) => {
    const { code, out, err } = await cli(argv);
    expect([code, out]).toEqual([2, '']);
    expect(err).toContain(message);
    expect(err).toContain(usage);
  });

  it('a bad usage of local up leaves no data directory behind', async () => {
    for (const argv of [['--bogus'], ['--webhook-secret', 'not-a-secret'], ['--api-base-url', counterUrl]]) {
      expect((await cli(['local', 'up', '--data-dir', file('never'), ...argv])).code).toBe(2);
    }
    expect(existsSync(file('never'))).toBe(false);
  });

  it('no command, an unknown one or an unknown top-level flag: exit 2 with the top-level usage on stderr', async () => {
    for (const argv of [[], ['frobnicate'], ['--bogus'], ['help', 'nope']]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, out]).toEqual([argv, 2, '']);
      expect(err).toContain('usage: producersync <command> [options]');
    }
    expect((await cli(['frobnicate'])).err).toContain('producersync: unknown command "frobnicate"');
    const extra = await cli(['help', 'rerun', 'extra']);
    expect([extra.code, extra.out]).toEqual([2, '']);
    expect(extra.err).toMatch(/^producersync help: rerun has no subcommands\n\nusage: producersync rerun /);
  });

  it('never prints a secret given on the command line, whatever the error', async () => {
    const { code, err } = await cli(['subscriptions', 'list', '--client-secret', 'hunter2-secret']);
    expect(code).toBe(2);
    expect(err).toContain('missing credentials: --api-base-url, --token-url, --client-id (or --secret-id)');
    expect(err).not.toContain('hunter2-secret');
  });
});

describe('producersync help and version', () => {
  it('--help, -h and help print the top-level usage on stdout', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const { code, out, err } = await cli(argv);
      expect([code, err]).toEqual([0, '']);
      expect(out).toContain('usage: producersync <command> [options]');
      for (const name of [...COMMANDS, ...GROUPS]) expect(out).toContain(`\n  ${name} `);
    }
  });

  it.each([...COMMANDS, ...SUBCOMMANDS])('%s: --help, -h and help print its usage on stdout; --version the version', async (name) => {
    const path = name.split(' ');
    for (const argv of [[...path, '--help'], [...path, '-h'], ['help', ...path], [...path, '--bogus', '--help']]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, err]).toEqual([argv, 0, '']);
      expect(out.startsWith(`usage: producersync ${name} `)).toBe(true);
      expect(out).toContain('--output json|text');
      expect(out).toContain('-h, --help');
    }
    expect(await cli([...path, '--version'])).toEqual({ code: 0, out: `producersync-aws ${VERSION}\n`, err: '' });
  });

  it('the deployment commands document --stage, --profile and --region; the local ones do not take them', async () => {
    for (const name of ['rerun', 'backfill', 'runs', 'reconcile', 'export', 'producer']) {
      const { out } = await cli([name, '--help']);
      expect(out).toMatch(/--stage S[\s\S]*--profile P[\s\S]*--region R/);
      expect(out).toMatch(/--local {2,}[\s\S]*--data-dir DIR {2,}with --local/);
    }
    expect((await cli(['subscriptions', 'list', '--help'])).out).toMatch(/--profile P[\s\S]*--region R/);
    for (const name of ['sim', 'sync', 'local up', 'local send-webhook']) expect((await cli([...name.split(' '), '--help'])).out).not.toContain('--profile');
    expect((await cli(['runs', '--help'])).out).toContain('--json                same as --output json');
  });

  it('--version at the top level, and "help subscriptions" and "help local" list the subcommands', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, out: `producersync-aws ${VERSION}\n`, err: '' });
    const group = await cli(['help', 'subscriptions']);
    expect(group.code).toBe(0);
    for (const sub of ['list', 'add', 'remove', 'replace', 'status']) expect(group.out).toContain(`\n  ${sub} `);
    expect((await cli(['subscriptions', '--help'])).out).toBe(group.out);
    const local = await cli(['help', 'local']);
    expect(local.code).toBe(0);
    for (const sub of ['up', 'send-webhook']) expect(local.out).toContain(`\n  ${sub} `);
  });
});

/** `node bin/producersync.mjs ...` as a user runs it (the Node running the tests, so Node 24). */
function run(argv: string[]): Promise<CliResult> {
  return runCli(argv, { PATH: process.env.PATH ?? '', HOME: dir });
}

describe('bin/producersync.mjs', () => {
  it('exits with the usage codes and keeps usage errors off stdout', async () => {
    const [none, bogus, help, version] = await Promise.all([run([]), run(['rerun', '--bogus']), run(['runs', '-h']), run(['--version'])]);
    expect([none.code, none.out]).toEqual([2, '']);
    expect(none.err).toContain('usage: producersync <command> [options]');
    expect([bogus.code, bogus.out]).toEqual([2, '']);
    expect(bogus.err).toMatch(/^producersync rerun: unknown option --bogus\n\nusage: producersync rerun /);
    expect([help.code, help.err]).toEqual([0, '']);
    expect(help.out).toMatch(/^usage: producersync runs /);
    expect(version).toEqual({ code: 0, out: `producersync-aws ${VERSION}\n`, err: '' });
  });

  it('a runtime failure exits 1 with one line on stderr: no region anywhere', async () => {
    const failed = await run(['rerun', '--run-date', DAY, '--state-machine-arn', ARN]);
    expect(failed.code).toBe(1);
    expect(failed.out).toBe('');
    expect(failed.err).toBe('producersync rerun: no AWS region: pass --region, set AWS_REGION, or give the profile a region in ~/.aws/config\n');
  });
});
