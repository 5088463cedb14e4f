import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSimArgs, run } from '../scripts/commands/sim.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('producersync sim', () => {
  it('maps every flag onto simulator options', () => {
    const { options } = parseSimArgs([
      '--port', '4010', '--npns', '500', '--seed', '9', '--client-id', 'me', '--client-secret', 'shh',
      '--token-lifetime', '120', '--rate-limit', '60', '--webhook-url', 'http://127.0.0.1:9999/webhooks/psapi', '--webhook-secret', 'whsec_c2VjcmV0',
    ]);
    expect(options).toEqual({
      port: 4010, npns: 500, seed: 9, clientId: 'me', clientSecret: 'shh', tokenLifetimeSeconds: 120,
      rateLimit: { apiPerMinute: 60 }, webhook: { url: 'http://127.0.0.1:9999/webhooks/psapi', secret: 'whsec_c2VjcmV0' },
    });
  });

  it('rejects inconsistent or malformed flags', () => {
    expect(() => parseSimArgs(['--webhook-url', 'http://x'])).toThrow(/go together/);
    expect(() => parseSimArgs(['--npns', 'many'])).toThrow(/--npns/);
    expect(() => parseSimArgs(['--bogus'])).toThrow();
  });

  it('serves until SIGINT, printing the URLs and credentials', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const exit = run(['--port', '0', '--npns', '5', '--client-id', 'cli', '--client-secret', 'cli-secret']);
    while (!lines.some((l) => l.includes('Token URL'))) await new Promise((resolve) => setTimeout(resolve, 10));
    const tokenUrl = /Token URL:\s+(\S+)/.exec(lines.join('\n'))?.[1];
    expect(lines.join('\n')).toContain('Client secret: cli-secret');
    const response = await fetch(tokenUrl!, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cli', client_secret: 'cli-secret' }) });
    expect(response.status).toBe(200);
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    await expect(fetch(tokenUrl!, { method: 'POST' })).rejects.toThrow();
  });
});
