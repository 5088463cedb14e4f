import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { command, simulatorOptions } from '../scripts/commands/sim.ts';
import { main } from '../scripts/cli.ts';
import { memoryIo } from '../scripts/support/cli-io.ts';
import { parseCommand } from '../scripts/support/command.ts';

const BIN = new URL('../bin/producersync.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const token = (tokenUrl: string, secret: string) =>
  fetch(tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cli', client_secret: secret }) });

describe('producersync sim', () => {
  it('maps every flag onto simulator options', async () => {
    const { values } = await parseCommand(command, [
      '--port', '4010', '--npns', '500', '--seed', '9', '--client-id', 'me', '--client-secret', 'shh',
      '--token-lifetime', '120', '--rate-limit', '60', '--start-date', '2025-03-01',
      '--webhook-url', 'http://127.0.0.1:9999/webhooks/psapi', '--webhook-secret', 'whsec_c2VjcmV0',
    ]);
    expect(simulatorOptions(values)).toEqual({
      port: 4010, npns: 500, seed: 9, clientId: 'me', clientSecret: 'shh', tokenLifetimeSeconds: 120, startDate: '2025-03-01',
      rateLimit: { apiPerMinute: 60 }, webhook: { url: 'http://127.0.0.1:9999/webhooks/psapi', secret: 'whsec_c2VjcmV0' },
    });
    expect(simulatorOptions((await parseCommand(command, [])).values)).toEqual({ port: 0 });
  });

  it('serves until SIGINT, printing the URLs but not a given client secret', async () => {
    const io = memoryIo();
    const exit = main(['sim', '--port', '0', '--npns', '5', '--client-id', 'cli', '--client-secret', 'cli-secret-41f0'], io);
    while (!io.out().includes('Press Ctrl-C')) await new Promise((resolve) => setTimeout(resolve, 10));
    const tokenUrl = /Token URL:\s+(\S+)/.exec(io.out())?.[1];
    expect(io.out()).toContain('Client id:     cli');
    expect(io.out()).toContain('Client secret: (as given)');
    expect(io.out()).not.toContain('cli-secret-41f0');
    expect((await token(tokenUrl!, 'cli-secret-41f0')).status).toBe(200);
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(io.err()).toBe('SIGINT: stopping the simulator\n');
    await expect(fetch(tokenUrl!, { method: 'POST' })).rejects.toThrow();
  });

  it('as a process with --output json: one JSON document on stdout once it listens; the secret read from a file', async () => {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'file-secret-93ac\n');
    const child = spawn(process.execPath, [BIN, 'sim', '--output', 'json', '--npns', '3', '--client-id', 'cli', '--client-secret-file', secretFile, '--start-date', '2025-03-01'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The pretty-printed document ends with a closing brace on its own line.
    while (!out.endsWith('}\n')) await new Promise((resolve) => setTimeout(resolve, 20));
    const started = JSON.parse(out) as Record<string, unknown>;
    expect(started).toEqual({
      apiBaseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+/),
      tokenUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/oauth2\/token$/),
      clientId: 'cli',
      today: '2025-03-01',
      subscribedNpns: expect.any(Number),
      webhookUrl: null,
    });
    expect((await token(started.tokenUrl as string, 'file-secret-93ac')).status).toBe(200);
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(JSON.parse(out)).toEqual(started);
    expect(err).toContain('SIGINT: stopping the simulator');
    expect(out + err).not.toContain('file-secret-93ac');
  });
});
