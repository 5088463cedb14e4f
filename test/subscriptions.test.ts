import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '#commons/logger';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { startSecretsManager } from '#local/secrets-manager';
import { startSimulator, type Simulator } from '#sim/server';
import { main } from '../scripts/cli.ts';
import { memoryIo } from '../scripts/support/cli-io.ts';

logger.setLogLevel('SILENT');

let sim: Simulator;
let secrets: LocalService;
let stateDir: string;
let out: string[];
let err: string[];

/** `producersync subscriptions <args>` in this process; its stdout and stderr lines land in `out` and `err`. */
async function run(args: string[], options: Parameters<typeof memoryIo>[0] = {}): Promise<number> {
  const io = memoryIo(options);
  const code = await main(['subscriptions', ...args], io);
  const lines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  out.push(...lines(io.out()));
  err.push(...lines(io.err()));
  return code;
}

beforeAll(async () => {
  [sim, secrets] = await Promise.all([startSimulator({ npns: 20, subscriptionJobDelayMs: 20 }), startSecretsManager()]);
  applyEnv(localAwsEnv({ secrets: secrets.endpoint }));
});
afterAll(async () => {
  await Promise.all([sim?.close(), secrets?.stop()]);
});
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'ps-subs-'));
  out = [];
  err = [];
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const creds = () => ['--api-base-url', sim.apiBaseUrl, '--token-url', sim.tokenUrl, '--client-id', 'local', '--client-secret', 'local'];
const cli = (...args: string[]) => run([...args, ...creds(), ...(args[0] === 'list' ? [] : ['--poll-ms', '10']), ...(['add', 'remove', 'replace'].includes(args[0]!) ? ['--state-dir', stateDir] : [])]);

describe('producersync subscriptions', () => {
  it('lists the subscribed NPNs', async () => {
    expect(await cli('list')).toBe(0);
    expect(out).toEqual(sim.subscribedNpns());
    expect(err).toEqual([`${sim.subscribedNpns().length} subscribed NPN(s)`]);
  });

  it('adds NPNs from arguments and a CSV file, waits, and reports per-NPN failures', async () => {
    const file = join(stateDir, 'npns.csv');
    await writeFile(file, 'npn,name\n90000001,Ann\n"90000002",Bob\n90000001,Ann again\n');
    expect(await cli('add', '90000003', '--file', file, '--wait')).toBe(0);
    for (const npn of ['90000001', '90000002', '90000003']) expect(sim.subscribedNpns()).toContain(npn);
    expect(out.join('\n')).toMatch(/job [0-9a-f-]{36} accepted for 3 NPN\(s\)/);
    expect(out.join('\n')).toContain('3 succeeded, 0 failed');

    // Removing one that is not subscribed completes with a per-NPN failure and exit code 1.
    out.length = 0;
    expect(await cli('remove', '90000003', '90000999', '--wait')).toBe(1);
    expect(sim.subscribedNpns()).not.toContain('90000003');
    expect(out.join('\n')).toContain('1 succeeded, 1 failed');
    expect(out.join('\n')).toContain('90000999: NOT_SUBSCRIBED');
  });

  it('warns before re-subscribing an NPN removed in the same billing period', async () => {
    expect(await cli('remove', '90000010', '--wait')).toBe(1); // never subscribed: the removal is still remembered
    const ledger = JSON.parse(await readFile(join(stateDir, 'removed.json'), 'utf8'));
    expect(Object.keys(ledger.removed)).toEqual(['90000010']);
    err.length = 0;
    // --wait: the job must be done before the next test reads the list (a job applies when it completes).
    expect(await cli('add', '90000010', '90000011', '--wait')).toBe(0);
    expect(err.join('\n')).toMatch(/warning: 1 NPN\(s\) were removed earlier in this billing period .*: 90000010$/);
  });

  it('replace makes the list exactly the given NPNs and records what it dropped', async () => {
    const before = sim.subscribedNpns();
    expect(before.length).toBeGreaterThan(1);
    const keep = [before[0]!, '90000020'];
    expect(await cli('replace', ...keep, '--wait')).toBe(0);
    expect(sim.subscribedNpns().sort()).toEqual([...keep].sort());
    expect(err.join('\n')).toContain(`replace unsubscribes ${before.length - 1} NPN(s)`);
    const ledger = JSON.parse(await readFile(join(stateDir, 'removed.json'), 'utf8'));
    expect(Object.keys(ledger.removed).sort()).toEqual(before.slice(1).sort());
  });

  it('shows a job status by id, and reads credentials from Secrets Manager with --secret-id', async () => {
    await new SecretsManagerClient({}).send(
      new CreateSecretCommand({
        Name: 'producersync-cli',
        SecretString: JSON.stringify({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl }),
      }),
    );
    const viaSecret = (...args: string[]) => run([...args, '--secret-id', 'producersync-cli', '--poll-ms', '10', ...(args[0] === 'add' ? ['--state-dir', stateDir] : [])]);
    expect(await viaSecret('add', '90000030')).toBe(0);
    const jobId = /job ([0-9a-f-]{36}) accepted/.exec(out.join('\n'))?.[1];
    expect(jobId).toBeDefined();
    out.length = 0;
    expect(await viaSecret('status', '--job', jobId!, '--wait')).toBe(0);
    expect(out.join('\n')).toContain(`job ${jobId}: COMPLETED`);
    expect(out.join('\n')).toContain('1 succeeded, 0 failed');
    expect(sim.subscribedNpns()).toContain('90000030');
  });

  it('reads the credentials from PRODUCERSYNC_* variables and the secret from stdin, and --output json prints one document', async () => {
    const env = { PRODUCERSYNC_API_BASE_URL: sim.apiBaseUrl, PRODUCERSYNC_TOKEN_URL: sim.tokenUrl, PRODUCERSYNC_CLIENT_ID: 'local' };
    expect(await run(['list', '--client-secret-file', '-', '--output', 'json'], { env, stdin: 'local\n' })).toBe(0);
    expect(JSON.parse(out.join('\n'))).toEqual({ npns: sim.subscribedNpns() });
    out.length = 0;
    expect(await run(['add', '90000040', '--wait', '--poll-ms', '10', '--state-dir', stateDir, '--output', 'json'], { env: { ...env, PRODUCERSYNC_CLIENT_SECRET: 'local' } })).toBe(0);
    const document = JSON.parse(out.join('\n')) as { jobs: Array<{ jobId: string; npnCount: number; outcome: { succeeded: number; failed: unknown[] } }> };
    expect(document.jobs).toHaveLength(1);
    expect(document.jobs[0]).toMatchObject({ npnCount: 1, outcome: { succeeded: 1, failed: [] } });
    // The "accepted" line that text mode prints on stdout went to stderr.
    expect(err.join('\n')).toContain(`job ${document.jobs[0]!.jobId} accepted for 1 NPN(s)`);
  });

  it('--secret-id with a secret holding only the client (no URLs) takes the URLs from the flags', async () => {
    await new SecretsManagerClient({}).send(new CreateSecretCommand({ Name: 'producersync-client-only', SecretString: JSON.stringify({ clientId: 'local', clientSecret: 'local' }) }));
    expect(await run(['list', '--secret-id', 'producersync-client-only', '--api-base-url', sim.apiBaseUrl, '--token-url', sim.tokenUrl])).toBe(0);
    expect(out).toEqual(sim.subscribedNpns());
    out.length = 0;
    expect(await run(['list', '--secret-id', 'producersync-client-only'])).toBe(1);
    expect(err.at(-1)).toMatch(/^producersync subscriptions list: .*(tokenUrl|TOKEN_URL)/);
  });

  it('rejects bad input with exit code 2 and never prints the client secret', async () => {
    expect(await cli('add', '12a45')).toBe(2);
    expect(err.join('\n')).toContain('1 value(s) are not NPNs');
    expect(await cli('add')).toBe(2);
    expect(await cli('frobnicate')).toBe(2);
    expect(await cli('status')).toBe(2);
    expect(await run(['list', '--client-secret', 'hunter2-secret'])).toBe(2);
    expect(err.join('\n')).toContain('missing credentials: --api-base-url, --token-url, --client-id (or --secret-id)');
    expect(err.join('\n')).not.toContain('hunter2-secret');
    err.length = 0;
    // A secret the token endpoint rejects: a runtime failure, one line, without the secret.
    expect(await run(['list', ...creds().slice(0, -1), 'wrong-secret'])).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^producersync subscriptions list: /);
    expect(err[0]).not.toContain('wrong-secret');
  });
});
