import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchAllPages, fetchToken, type PageBody } from '#sim/testing';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(opts: SimulatorOptions = {}): Promise<{ sim: Simulator; token: string; get: (path: string) => Promise<Response> }> {
  sim = await startSimulator({ npns: 20, ...opts });
  const token = await fetchToken(sim);
  const s = sim;
  return { sim: s, token, get: (path) => fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${token}` } }) };
}

describe('rate limiting', () => {
  it('sends ratelimit-* headers and 429s with Retry-After once the per-minute budget is spent', async () => {
    let now = 1_750_000_000_000;
    const { get } = await start({ rateLimit: { apiPerMinute: 3 }, clock: () => now });
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await get('/v2/entities?size=1');
      statuses.push(response.status);
      remaining.push(response.headers.get('ratelimit-remaining'));
      expect(response.headers.get('ratelimit-limit')).toBe('3');
      expect(response.headers.get('x-ratelimit-limit')).toBeNull();
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toBe('60');
        expect(await response.json()).toMatchObject({ status: 429, error: 'Too Many Requests' });
      } else await response.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(remaining).toEqual(['2', '1', '0', '0']);
    // The window slides: once the first request is a minute old, one request fits again.
    now += 60_001;
    expect((await get('/v2/entities?size=1')).status).toBe(200);
  });

  it('limits the token endpoint separately and can send X-RateLimit-* headers', async () => {
    const { sim } = await start({ rateLimit: { tokenPerMinute: 2, headers: 'both' } });
    const response = await fetch(sim.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'local', client_secret: 'local' }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe('0');
    expect(response.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(response.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    const third = await fetch(sim.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'local', client_secret: 'local' }) });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    expect(sim.tokensIssued()).toBe(2);
  });
});

describe('fault injection', () => {
  it('burst429 answers the chosen requests with 429 and the given Retry-After', async () => {
    const { sim, get } = await start();
    sim.setFaults({ burst429: { count: 2, retryAfterSeconds: 7, afterRequests: 1 } });
    const responses = [await get('/v2/entities'), await get('/v2/entities'), await get('/v2/entities'), await get('/v2/entities')];
    expect(responses.map((r) => r.status)).toEqual([200, 429, 429, 200]);
    expect(responses[1]!.headers.get('retry-after')).toBe('7');
    sim.setFaults({ burst429: { count: 1, retryAfterSeconds: null } });
    const withoutHeader = await get('/v2/entities');
    expect(withoutHeader.status).toBe(429);
    expect(withoutHeader.headers.get('retry-after')).toBeNull();
  });

  it('status5xx returns the chosen status with a Spring body', async () => {
    const { sim, get } = await start();
    sim.setFaults({ status5xx: { count: 1, status: 502 } });
    const failed = await get('/v2/licenses');
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ status: 502, error: 'Bad Gateway', path: '/v2/licenses' });
    expect((await get('/v2/licenses')).status).toBe(200);
    expect(sim.requests.slice(-2).map((r) => r.status)).toEqual([502, 200]);
  });

  it('dropConnection destroys the socket without a response', async () => {
    const { sim, get } = await start();
    sim.setFaults({ dropConnection: { count: 1 } });
    await expect(get('/v2/licenses')).rejects.toThrow();
    expect(sim.requests.at(-1)).toMatchObject({ path: '/v2/licenses', status: 0 });
    expect((await get('/v2/licenses')).status).toBe(200);
  });

  it('slowMs delays only the chosen responses', async () => {
    const { sim, get } = await start();
    sim.setFaults({ slowMs: { count: 1, delayMs: 300 } });
    const started = performance.now();
    expect((await get('/v2/entities?size=1')).status).toBe(200);
    // A lower bound only: a delay can be longer on a busy machine, never shorter.
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('malformedBody truncates a 200 JSON body', async () => {
    const { sim, get } = await start();
    sim.setFaults({ malformedBody: { count: 1 } });
    const response = await get('/v2/licenses');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.startsWith('{')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(await (await get('/v2/licenses')).json()).toHaveProperty('embedded');
  });

  it('expireTokensAfterRequests revokes issued tokens once; a new token works', async () => {
    const { sim, get } = await start();
    sim.setFaults({ expireTokensAfterRequests: 2 });
    expect([(await get('/v2/entities')).status, (await get('/v2/entities')).status, (await get('/v2/entities')).status]).toEqual([200, 200, 401]);
    const fresh = await fetchToken(sim);
    expect((await fetch(`${sim.url}/v2/entities`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
  });

  it('applies to the token endpoint when asked', async () => {
    const { sim } = await start();
    sim.setFaults({ status5xx: { count: 1, status: 503, on: 'token' } });
    await expect(fetchToken(sim)).rejects.toThrow(/503/);
    await expect(fetchToken(sim)).resolves.toMatch(/^sim\./);
  });

  it('badRecord injects invalid records into the next pages, outside groundTruth', async () => {
    const { sim, token } = await start();
    sim.setFaults({ badRecord: { endpoint: 'addresses', count: 2 } });
    const { records, pages } = await fetchAllPages(`${sim.url}/v2/addresses?size=10`, token, 'addresses');
    const truth = sim.groundTruth('addresses');
    expect(records).toHaveLength(truth.length + 2);
    const bad = records.filter((r) => !truth.some((t) => t.id === r.id && t.npn === r.npn));
    expect(bad).toHaveLength(2);
    expect((pages[0] as PageBody).embedded?.addresses).toHaveLength(11);
    expect((pages[2] as PageBody).embedded?.addresses).toHaveLength(10);
    for (const record of bad) expect(typeof record.id !== 'number' || typeof record.npn !== 'string').toBe(true);
  });

  describe('cursorCycle', () => {
    /** Follows links.next.href naively (no cycle detection) for `steps` pages; returns the token each request carried. */
    async function follow(get: (path: string) => Promise<Response>, first: string, steps: number): Promise<string[]> {
      const tokens: string[] = [];
      let path = first;
      for (let i = 0; i < steps; i++) {
        const url = new URL(path, 'http://x');
        tokens.push(url.searchParams.get('continuationToken') ?? '-');
        const body = (await (await get(url.pathname + url.search)).json()) as PageBody;
        if (!body.embedded) break;
        path = body.links.next.href;
      }
      return tokens;
    }

    it('bends next.href back A→B→A and keeps the loop every time the page is served', async () => {
      const { sim, get } = await start();
      sim.setFaults({ cursorCycle: { endpoint: 'licenses' } });
      const tokens = await follow(get, '/v2/licenses?size=5', 9);
      const [, a, b] = tokens;
      expect(tokens).toEqual(['-', a, b, a, b, a, b, a, b]);
      expect(new Set([a, b]).size).toBe(2);
      // Other endpoints, and other passes over the same one, page normally.
      expect(new Set(await follow(get, '/v2/addresses?size=5', 8)).size).toBe(8);
      expect(new Set(await follow(get, '/v2/licenses?size=6', 8)).size).toBe(8);
      sim.setFaults({});
      expect(new Set(await follow(get, '/v2/licenses?size=5', 8)).size).toBe(8);
    });

    it('makes loops of any length, after a chosen number of pages', async () => {
      const { sim, get } = await start();
      sim.setFaults({ cursorCycle: { endpoint: 'appointments', length: 1 } });
      const self = await follow(get, '/v2/appointments?size=5', 5);
      expect(self.slice(2)).toEqual([self[1], self[1], self[1]]);
      sim.setFaults({ cursorCycle: { endpoint: 'appointments', length: 3 } });
      const [, a, b, c, ...rest] = await follow(get, '/v2/appointments?size=5', 8);
      expect(rest).toEqual([a, b, c, a]);
      expect(new Set([a, b, c]).size).toBe(3);
      sim.setFaults({ cursorCycle: { endpoint: 'appointments', afterPages: 5 } });
      const late = await follow(get, '/v2/appointments?size=5', 9);
      expect(new Set(late.slice(0, 6)).size).toBe(6);
      expect(late.slice(6)).toEqual([late[4], late[5], late[4]]);
      expect(() => sim.setFaults({ cursorCycle: { endpoint: 'appointments', length: 0 } })).toThrow(/length/);
    });
  });

  it('latencyMs delays every API response', async () => {
    const { get } = await start({ latencyMs: 150 });
    const started = performance.now();
    await (await get('/v2/entities?size=1')).arrayBuffer();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});
