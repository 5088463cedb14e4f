import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTokenCache,
  requestToken,
  resetSharedTokenCaches,
  sharedTokenCache,
  TokenRequestError,
  type TokenGrant,
  type TokenRequest,
} from '@producersync/token-cache';
import { startSimulator, type Simulator } from '#sim/server';

const CREDENTIALS = { tokenUrl: 'http://127.0.0.1:9/oauth2/token', clientId: 'client-a', clientSecret: 'super-secret-value' };

/** A fake issuer: counts calls, hands out numbered tokens, optionally slow or failing. */
function fakeIssuer(options: { lifetimeSeconds?: number; delayMs?: number } = {}) {
  const calls: TokenRequest[] = [];
  let fail: Error | undefined;
  return {
    calls,
    failNext(error: Error) {
      fail = error;
    },
    fetchToken: async (request: TokenRequest): Promise<TokenGrant> => {
      calls.push(request);
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (fail) {
        const error = fail;
        fail = undefined;
        throw error;
      }
      return { accessToken: `token-${calls.length}`, expiresInSeconds: options.lifetimeSeconds ?? 3600 };
    },
  };
}

describe('createTokenCache (injected issuer and clock)', () => {
  it('reuses one token until the refresh margin, then fetches exactly one more', async () => {
    let now = 1_000_000;
    const issuer = fakeIssuer();
    const cache = createTokenCache({ ...CREDENTIALS, fetchToken: issuer.fetchToken, now: () => now, refreshMarginSeconds: 300 });

    for (let i = 0; i < 500; i++) expect(await cache.getToken()).toBe('token-1');
    expect(cache.stats()).toEqual({ requests: 1, cached: true, expiresAt: 1_000_000 + 3_600_000 });

    now += 3_299_000; // 1 s before the margin
    expect(await cache.getToken()).toBe('token-1');
    now += 1_000; // inside the margin
    expect(await cache.getToken()).toBe('token-2');
    expect(await cache.getToken()).toBe('token-2');
    expect(issuer.calls).toHaveLength(2);
  });

  it('keeps reusing short-lived tokens (margin capped at half the lifetime)', async () => {
    let now = 0;
    const issuer = fakeIssuer({ lifetimeSeconds: 60 });
    const cache = createTokenCache({ ...CREDENTIALS, fetchToken: issuer.fetchToken, now: () => now, refreshMarginSeconds: 300 });
    await cache.getToken();
    now += 29_000;
    await cache.getToken();
    expect(issuer.calls).toHaveLength(1);
    now += 1_000;
    await cache.getToken();
    expect(issuer.calls).toHaveLength(2);
  });

  it('shares one request among concurrent first callers (single flight)', async () => {
    const issuer = fakeIssuer({ delayMs: 30 });
    const cache = createTokenCache({ ...CREDENTIALS, fetchToken: issuer.fetchToken });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => cache.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(issuer.calls).toHaveLength(1);
  });

  it('invalidate(token) drops the cache only while it still holds that token', async () => {
    const issuer = fakeIssuer();
    const reasons: string[] = [];
    const cache = createTokenCache({ ...CREDENTIALS, fetchToken: issuer.fetchToken, onTokenRequest: (e) => reasons.push(e.reason) });
    const first = await cache.getToken();
    // Ten callers got a 401 with the same stale token: one refresh, not ten.
    for (let i = 0; i < 10; i++) cache.invalidate(first);
    const refreshed = await Promise.all(Array.from({ length: 10 }, () => cache.getToken()));
    expect(new Set(refreshed)).toEqual(new Set(['token-2']));
    cache.invalidate(first); // a late 401 for the old token
    expect(await cache.getToken()).toBe('token-2');
    expect(issuer.calls).toHaveLength(2);
    expect(reasons).toEqual(['initial', 'invalidated']);
  });

  it('waits for beforeTokenRequest before every token request', async () => {
    const issuer = fakeIssuer();
    const order: string[] = [];
    const cache = createTokenCache({
      ...CREDENTIALS,
      fetchToken: async (request) => {
        order.push('fetch');
        return issuer.fetchToken(request);
      },
      beforeTokenRequest: async () => {
        order.push('budget');
      },
    });
    cache.invalidate(await cache.getToken());
    await cache.getToken();
    expect(order).toEqual(['budget', 'fetch', 'budget', 'fetch']);
  });

  it('serves the still-valid token when a refresh inside the margin fails, and fails when none is valid', async () => {
    let now = 0;
    const issuer = fakeIssuer();
    const cache = createTokenCache({ ...CREDENTIALS, fetchToken: issuer.fetchToken, now: () => now });
    await cache.getToken();
    now = 3_400_000; // inside the 300 s margin, not expired
    issuer.failNext(new TokenRequestError(503, undefined));
    expect(await cache.getToken()).toBe('token-1');
    // The issuer numbers its calls, the failed one included.
    expect(await cache.getToken()).toBe('token-3');

    cache.invalidate('token-3');
    issuer.failNext(new TokenRequestError(401, 'invalid_client'));
    await expect(cache.getToken()).rejects.toMatchObject({ status: 401, oauthError: 'invalid_client' });
  });

  it('sharedTokenCache returns one cache per token URL and client id, and a new one when the secret rotates', () => {
    resetSharedTokenCaches();
    const a = sharedTokenCache(CREDENTIALS);
    expect(sharedTokenCache({ ...CREDENTIALS })).toBe(a);
    expect(sharedTokenCache({ ...CREDENTIALS, clientId: 'client-b' })).not.toBe(a);
    expect(sharedTokenCache({ ...CREDENTIALS, tokenUrl: 'http://127.0.0.1:10/oauth2/token' })).not.toBe(a);
    const rotated = sharedTokenCache({ ...CREDENTIALS, clientSecret: 'rotated' });
    expect(rotated).not.toBe(a);
    expect(sharedTokenCache({ ...CREDENTIALS, clientSecret: 'rotated' })).toBe(rotated);
    resetSharedTokenCaches();
  });
});

describe('requestToken over HTTP', () => {
  let server: Server;
  let url = '';
  const seen: { contentType: string | undefined; form: URLSearchParams }[] = [];
  let reply: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: '{}' };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        seen.push({ contentType: req.headers['content-type'], form: new URLSearchParams(raw) });
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    seen.length = 0;
  });

  it('posts the client-credentials form and reads access_token / expires_in', async () => {
    reply = { status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: 1800, access_token: 'xyz123', scope: 's' }) };
    const grant = await requestToken({ tokenUrl: url, clientId: 'id-1', clientSecret: 'secret-1', scope: 'https://api.agentsync.io/a_valid_scope' });
    expect(grant).toEqual({ accessToken: 'xyz123', expiresInSeconds: 1800 });
    expect(seen[0]?.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(seen[0]!.form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'id-1',
      client_secret: 'secret-1',
      scope: 'https://api.agentsync.io/a_valid_scope',
    });
  });

  it('omits scope when there is none and defaults a missing expires_in to 3600', async () => {
    reply = { status: 200, body: JSON.stringify({ access_token: 'abc' }) };
    expect(await requestToken({ tokenUrl: url, clientId: 'id-1', clientSecret: 'secret-1' })).toEqual({ accessToken: 'abc', expiresInSeconds: 3600 });
    expect(seen[0]?.form.has('scope')).toBe(false);
  });

  it('reports status, OAuth error code and Retry-After, never the secret or the description', async () => {
    reply = { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'bad secret super-secret-value' }) };
    const error = await requestToken({ tokenUrl: url, clientId: 'id-1', clientSecret: 'super-secret-value' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ status: 401, oauthError: 'invalid_client' });
    expect(String((error as Error).message)).not.toContain('super-secret-value');

    reply = { status: 429, body: JSON.stringify({ error: 'rate_limit_exceeded', retry_after: 7 }), headers: { 'retry-after': '7' } };
    await expect(requestToken({ tokenUrl: url, clientId: 'id-1', clientSecret: 'x' })).rejects.toMatchObject({ status: 429, retryAfterSeconds: 7 });

    reply = { status: 200, body: '<html>oops</html>' };
    await expect(requestToken({ tokenUrl: url, clientId: 'id-1', clientSecret: 'x' })).rejects.toMatchObject({ oauthError: 'missing_access_token' });
  });
});

describe('token cache against the simulator', () => {
  let sim: Simulator;
  let now = Date.now();
  beforeAll(async () => {
    sim = await startSimulator({ npns: 5, clock: () => now, tokenLifetimeSeconds: 600 });
  });
  afterAll(() => sim.close());

  it('fetches once for hundreds of calls and once more after the clock passes the refresh point', async () => {
    const cache = createTokenCache({ tokenUrl: sim.tokenUrl, clientId: 'local', clientSecret: 'local', now: () => now, refreshMarginSeconds: 60 });
    const tokens = new Set<string>();
    for (let i = 0; i < 300; i++) tokens.add(await cache.getToken());
    expect(tokens.size).toBe(1);
    expect(sim.tokensIssued()).toBe(1);
    now += 541_000; // past 600 s - 60 s margin
    tokens.add(await cache.getToken());
    expect(tokens.size).toBe(2);
    expect(sim.tokensIssued()).toBe(2);
    expect(sim.requests.filter((r) => r.kind === 'token').map((r) => r.status)).toEqual([200, 200]);
  });

  it('wrong credentials fail with the OAuth error and no secret in the message', async () => {
    const cache = createTokenCache({ tokenUrl: sim.tokenUrl, clientId: 'local', clientSecret: 'wrong-secret-123' });
    const error = (await cache.getToken().catch((e: unknown) => e)) as TokenRequestError;
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error.status).toBe(401);
    expect(error.oauthError).toBe('invalid_client');
    expect(error.message).not.toContain('wrong-secret-123');
  });
});
