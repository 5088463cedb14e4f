import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenCache, type TokenCache } from '@producersync/token-cache';
import { createProducerSyncClient, type ProducerSyncClientOptions } from '#producersync/client';
import type { EndpointName } from '#producersync/endpoints';
import { ProducerSyncHttpError, RateLimitedError } from '#producersync/errors';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';

/** Client tests against the ProducerSync simulator over real HTTP. */

let sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  // The simulator's own limit is raised too: the client paces itself to the server's rate-limit headers.
  const sim = await startSimulator({ npns: 60, seed: 7, rateLimit: { apiPerMinute: 100_000 }, ...options });
  sims.push(sim);
  return sim;
}

function clientFor(sim: Simulator, options: Partial<ProducerSyncClientOptions> = {}) {
  return createProducerSyncClient({
    credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
    // A high budget keeps these tests fast; pacing itself is tested in rate-budget.test.ts.
    rateBudget: createLocalRateBudget({ perMinute: 600_000 }),
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    ...options,
  });
}

const apiRequests = (sim: Simulator) => sim.requests.filter((r) => r.kind === 'api');

async function collect(client: ReturnType<typeof clientFor>, endpoint: EndpointName, size = 7) {
  const records: unknown[] = [];
  let pages = 0;
  for await (const page of client.paginate(endpoint, { size })) {
    records.push(...page.records);
    pages++;
  }
  return { records, pages };
}

describe('pagination against the simulator', () => {
  for (const envelope of ['embedded', '_embedded'] as const) {
    it(`pages of 7 reproduce groundTruth exactly (${envelope} envelope), with one token`, async () => {
      const sim = await simulator({ envelope });
      const client = clientFor(sim);
      const truth = sim.groundTruth('licenses');
      expect(truth.length).toBeGreaterThan(150);

      const { records, pages } = await collect(client, 'licenses');
      expect(records).toEqual(truth);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(truth.length / 7));
      expect(apiRequests(sim)).toHaveLength(pages);
      expect(apiRequests(sim).every((r) => r.status === 200 && r.query.size === '7')).toBe(true);
      expect(sim.tokensIssued()).toBe(1);
      expect(client.stats()).toEqual({ requests: pages, throttled: 0, retries: 0, tokenRefreshes: 1 });
    });
  }

  it('filters by updatedSince and npns through the first page URL and keeps them on later pages', async () => {
    const sim = await simulator();
    const npns = sim.subscribedNpns().slice(0, 20);
    const client = clientFor(sim);
    const records: unknown[] = [];
    for await (const page of client.paginate('appointments', { size: 5, npns, updatedSince: '2024-01-01' })) records.push(...page.records);
    expect(records).toEqual(sim.groundTruth('appointments', { npns, updatedSince: '2024-01-01' }));
    expect(apiRequests(sim)[0]?.query).toMatchObject({ npns: npns.join(','), updatedSince: '2024-01-01', size: '5' });
  });

  it('fetchPage(url) without options infers the collection from the URL (the sync engine call)', async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const first = await client.fetchPage('contactInfos', { size: 3 });
    expect(first.records).toEqual(sim.groundTruth('contactInfos').slice(0, 3));
    const second = await client.fetchPage(first.nextUrl!);
    expect(second.records).toEqual(sim.groundTruth('contactInfos').slice(3, 6));
  });
});

describe('tokens against the simulator', () => {
  it('fetches the token once for hundreds of calls, and once more after expiry', async () => {
    let now = Date.now();
    const sim = await simulator({ clock: () => now, tokenLifetimeSeconds: 900 });
    const tokenCache = createTokenCache({ tokenUrl: sim.tokenUrl, clientId: 'local', clientSecret: 'local', now: () => now, refreshMarginSeconds: 300 });
    const client = clientFor(sim, { tokenCache });
    for (let i = 0; i < 300; i++) await client.getJson('/v2/entities', { size: 1 });
    expect(sim.tokensIssued()).toBe(1);
    now += 601_000; // past 900 s - 300 s
    await client.getJson('/v2/entities', { size: 1 });
    expect(sim.tokensIssued()).toBe(2);
    expect(apiRequests(sim).every((r) => r.status === 200)).toBe(true);
    expect(client.stats().tokenRefreshes).toBe(2);
  });

  it('concurrent first calls share one token request', async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const pages = await Promise.all(Array.from({ length: 25 }, () => client.fetchPage('entities', { size: 2 })));
    expect(pages.every((p) => p.records.length === 2)).toBe(true);
    expect(sim.tokensIssued()).toBe(1);
  });

  it('a 401 mid-run (tokens revoked) recovers with exactly one extra token request', async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    sim.setFaults({ expireTokensAfterRequests: 5 });
    const { records } = await collect(client, 'licenses');
    expect(records).toEqual(sim.groundTruth('licenses'));
    expect(sim.tokensIssued()).toBe(2);
    expect(apiRequests(sim).filter((r) => r.status === 401)).toHaveLength(1);
    expect(client.stats().retries).toBe(0);
  });

  it('concurrent callers hitting 401 with the same stale token trigger one refresh, not one each', async () => {
    const sim = await simulator();
    const real = createTokenCache({ tokenUrl: sim.tokenUrl, clientId: 'local', clientSecret: 'local' });
    // Hold the first 12 callers until all of them have the (soon stale) token, so all 12 requests carry it.
    const callers = 12;
    let arrived = 0;
    let release!: () => void;
    const everyoneHasToken = new Promise<void>((resolve) => (release = resolve));
    const gated: TokenCache = {
      getToken: async () => {
        const token = await real.getToken();
        if (arrived < callers && ++arrived === callers) release();
        if (arrived <= callers) await everyoneHasToken;
        return token;
      },
      invalidate: (token) => real.invalidate(token),
      stats: () => real.stats(),
    };
    const client = clientFor(sim, { tokenCache: gated });
    await real.getToken();
    sim.setFaults({ expireTokensAfterRequests: 0 });
    const results = await Promise.all(Array.from({ length: callers }, () => client.getJson('/v2/entities', { size: 1 })));
    expect(results).toHaveLength(callers);
    expect(apiRequests(sim).filter((r) => r.status === 401)).toHaveLength(callers);
    expect(apiRequests(sim).filter((r) => r.status === 200)).toHaveLength(callers);
    expect(sim.tokensIssued()).toBe(2);
  });

  it('paces token requests through tokenRateBudget (default shared cache) and retries a failing token endpoint', async () => {
    const sim = await simulator();
    let takes = 0;
    const tokenRateBudget = { take: async () => void takes++, observe: () => undefined, penalize: () => undefined };
    sim.setFaults({ status5xx: { count: 1, status: 503, on: 'token' } });
    const client = clientFor(sim, { tokenRateBudget });
    const page = await client.fetchPage('entities', { size: 3 });
    expect(page.records).toEqual(sim.groundTruth('entities').slice(0, 3));
    const tokenCalls = sim.requests.filter((r) => r.kind === 'token').map((r) => r.status);
    expect(tokenCalls).toEqual([503, 200]);
    expect(takes).toBe(2);
    expect(client.stats()).toMatchObject({ requests: 1, retries: 1, tokenRefreshes: 2 });
  });

  it('a second 401 after the refresh fails with ProducerSyncHttpError 401 (no loop)', async () => {
    const sim = await simulator();
    // A cache that always hands out a token the simulator never issued.
    const bogus: TokenCache = { getToken: async () => 'not-a-real-token', invalidate: () => undefined, stats: () => ({ requests: 0, cached: true, expiresAt: null }) };
    const client = clientFor(sim, { tokenCache: bogus });
    const error = await client.getJson('/v2/entities').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProducerSyncHttpError);
    expect(error).toMatchObject({ status: 401 });
    expect((error as Error).message).not.toContain('not-a-real-token');
    expect(apiRequests(sim).map((r) => r.status)).toEqual([401, 401]);
  });
});

describe('failures against the simulator', () => {
  it('honours Retry-After on a 429: the next request waits at least that long', async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    sim.setFaults({ burst429: { count: 1, retryAfterSeconds: 1, afterRequests: 2 } });
    const { records } = await collect(client, 'entities', 20);
    expect(records).toEqual(sim.groundTruth('entities'));
    const log = apiRequests(sim);
    const throttledAt = log.findIndex((r) => r.status === 429);
    expect(throttledAt).toBe(2);
    expect(log[throttledAt + 1]!.at - log[throttledAt]!.at).toBeGreaterThanOrEqual(1000);
    expect(client.stats()).toMatchObject({ throttled: 1, retries: 1 });
  });

  it('hands a Retry-After longer than maxInlineWaitSeconds back as RateLimitedError without sleeping', async () => {
    const sim = await simulator();
    const client = clientFor(sim, { maxInlineWaitSeconds: 30 });
    sim.setFaults({ burst429: { count: 1, retryAfterSeconds: 120 } });
    const error = await client.fetchPage('licenses').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterSeconds: 120, source: 'server', status: 429 });
    expect(apiRequests(sim)).toHaveLength(1);
  });

  it('a 429 without Retry-After falls back to the rate-limit headers', async () => {
    const sim = await simulator();
    const client = clientFor(sim, { maxInlineWaitSeconds: 0.5 });
    sim.setFaults({ burst429: { count: 1, retryAfterSeconds: null } });
    const error = (await client.fetchPage('licenses').catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
  });

  const transientFaults = {
    '503s': { status5xx: { count: 2, status: 503 as const, afterRequests: 1 } },
    '500 and 502': { status5xx: { count: 1, status: 500 as const, afterRequests: 2 } },
    'dropped connections': { dropConnection: { count: 2, afterRequests: 1 } },
    'a malformed (truncated) 200 body': { malformedBody: { count: 2, afterRequests: 1 } },
    'a response slower than the timeout': { slowMs: { count: 1, delayMs: 2_500, afterRequests: 1 } },
  };
  for (const [name, faults] of Object.entries(transientFaults)) {
    it(`retries ${name} and still returns exactly the ground truth`, async () => {
      const sim = await simulator();
      // Only the slow case needs a short timeout; a generous one keeps a loaded machine from adding retries.
      const client = clientFor(sim, { timeoutMs: 'slowMs' in faults ? 1_000 : 30_000 });
      sim.setFaults(faults);
      const { records, pages } = await collect(client, 'addresses', 25);
      expect(records).toEqual(sim.groundTruth('addresses'));
      const retries = client.stats().retries;
      expect(retries).toBeGreaterThanOrEqual(1);
      expect(apiRequests(sim)).toHaveLength(pages + retries);
    });
  }

  it('fails fast on a 400 with the API message and status', async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const error = (await client.getJson('/v2/licenses', { updatedSince: '24-07-2025' }).catch((e: unknown) => e)) as ProducerSyncHttpError;
    expect(error).toBeInstanceOf(ProducerSyncHttpError);
    expect(error.status).toBe(400);
    expect(error.apiMessage).toBeTruthy();
    expect(error.message).toContain(error.apiMessage!);
    expect(error.path).toBe('/v2/licenses?updatedSince=24-07-2025');
    expect(apiRequests(sim)).toHaveLength(1);
  });

  it('gives up after maxAttempts on persistent 503s and reports the status', async () => {
    const sim = await simulator();
    const client = clientFor(sim, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    sim.setFaults({ status5xx: { count: 10, status: 503 } });
    await expect(client.fetchPage('entities')).rejects.toMatchObject({ name: 'ProducerSyncHttpError', status: 503 });
    expect(apiRequests(sim)).toHaveLength(3);
  });
});

describe('secrets in logs and errors', () => {
  it('never writes the client secret or a bearer token while refreshing, retrying and failing', async () => {
    const clientSecret = 'sim-client-secret-7f3a9c';
    const sim = await simulator({ clientSecret });
    const credentials = { clientId: 'local', clientSecret, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl };
    const real = createTokenCache(credentials);
    const issued = new Set<string>();
    const recording: TokenCache = {
      getToken: async () => {
        const token = await real.getToken();
        issued.add(token);
        return token;
      },
      invalidate: (token) => real.invalidate(token),
      stats: () => real.stats(),
    };
    const written: string[] = [];
    const capture = (chunk: unknown) => void written.push(String(chunk));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (capture(chunk), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (capture(chunk), true));
    try {
      const client = clientFor(sim, { credentials, tokenCache: recording });
      sim.setFaults({ expireTokensAfterRequests: 2, status5xx: { count: 2, afterRequests: 3 }, dropConnection: { count: 1, afterRequests: 6 } });
      await collect(client, 'entities', 10);
      const failure = (await client.getJson('/v2/licenses', { updatedSince: 'bad' }).catch((e: unknown) => e)) as Error;
      written.push(failure.message, String(failure.stack));
      const badCredentials = createTokenCache({ ...credentials, clientSecret: `${clientSecret}-wrong` });
      const tokenFailure = (await badCredentials.getToken().catch((e: unknown) => e)) as Error;
      written.push(tokenFailure.message);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(issued.size).toBe(2);
    expect(written.some((line) => line.includes('retrying'))).toBe(true);
    const everything = written.join('\n');
    expect(everything).not.toContain(clientSecret);
    for (const token of issued) expect(everything).not.toContain(token);
  });
});
