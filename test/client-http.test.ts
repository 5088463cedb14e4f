import { gzipSync } from 'node:zlib';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenCache } from '@producersync/token-cache';
import { createProducerSyncClient, type ProducerSyncClientOptions } from '#producersync/client';
import { ProducerSyncHttpError, RateLimitedError } from '#producersync/errors';
import { request } from '#producersync/http';
import { createLocalRateBudget } from '#producersync/rate-budget';

/** Narrow edge cases the simulator does not produce, each against a tiny real HTTP server. */

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void;

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now() });
      if (req.url?.startsWith('/oauth2/token')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: `tok-${seen.filter((s) => s.url.startsWith('/oauth2')).length}`, expires_in: 3600 }));
        return;
      }
      handler(req, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/hal+json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function clientFor(base: string, options: Partial<ProducerSyncClientOptions> = {}) {
  const credentials = { clientId: 'edge', clientSecret: 'edge-secret', tokenUrl: `${base}/oauth2/token`, apiBaseUrl: base };
  return createProducerSyncClient({
    credentials,
    tokenCache: createTokenCache(credentials),
    rateBudget: createLocalRateBudget({ perMinute: 600_000 }),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

const apiOnly = (seen: Seen[]) => seen.filter((s) => !s.url.startsWith('/oauth2'));

describe('http.request', () => {
  it('asks for gzip and HAL JSON and decompresses a gzip body', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/hal+json', 'content-encoding': 'gzip', 'X-Custom': 'a' });
      res.end(gzipSync(JSON.stringify({ embedded: { licenses: [{ id: 1 }] } })));
    });
    const response = await request(`${url}/v2/licenses`);
    expect(JSON.parse(response.bodyText)).toEqual({ embedded: { licenses: [{ id: 1 }] } });
    expect(response.headers['x-custom']).toBe('a');
    expect(seen[0]?.headers['accept-encoding']).toBe('gzip');
    expect(seen[0]?.headers.accept).toBe('application/hal+json, application/json');
  });

  it('turns a corrupt gzip body into a MalformedResponseError', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync('{"a":1}').subarray(0, 8));
    });
    await expect(request(`${url}/v2/licenses`)).rejects.toMatchObject({ name: 'MalformedResponseError' });
  });
});

describe('client edge cases', () => {
  it('follows an absolute next href on another host as given, and a relative one against the base', async () => {
    const other = await serve((_req, res) =>
      json(res, 200, { embedded: { licenses: [{ id: 3 }] }, links: { next: { href: '/v2/licenses?continuationToken=77' } } }),
    );
    const api = await serve((req, res) => {
      if (req.url?.includes('continuationToken=77')) return json(res, 200, { embedded: { licenses: [{ id: 4 }] }, links: { next: { href: `${api.url}/v2/licenses?continuationToken=0` } } });
      json(res, 200, { embedded: { licenses: [{ id: 1 }, { id: 2 }] }, links: { next: { href: `${other.url}/v2/licenses?size=2&continuationToken=11862929` } } });
    });
    const client = clientFor(api.url);
    const ids: unknown[] = [];
    for await (const page of client.paginate('licenses', { size: 2 })) ids.push(...page.records.map((r) => r.id));
    expect(ids).toEqual([1, 2, 3, 4]);
    // The second page went to the other host, with the bearer token; the relative link came back to the API host.
    expect(apiOnly(other.seen).map((s) => s.url)).toEqual(['/v2/licenses?size=2&continuationToken=11862929']);
    expect(apiOnly(other.seen)[0]?.headers.authorization).toBe('Bearer tok-1');
    expect(apiOnly(api.seen).map((s) => s.url)).toEqual(['/v2/licenses?size=2', '/v2/licenses?continuationToken=77']);
  });

  it('stops when a next link repeats the current page instead of looping', async () => {
    const api = await serve((req, res) => json(res, 200, { embedded: { licenses: [{ id: 1 }] }, links: { next: { href: `${api.url}${req.url}` } } }));
    const client = clientFor(api.url);
    const pages = client.paginate('licenses');
    expect((await pages.next()).value?.records).toEqual([{ id: 1 }]);
    await expect(pages.next()).rejects.toMatchObject({ name: 'MalformedResponseError' });
  });

  it('reads Retry-After given as an HTTP date', async () => {
    const api = await serve((_req, res, seen) => {
      if (apiOnly(seen).length === 1) return json(res, 429, { status: 429 }, { 'retry-after': new Date(Date.now() + 90_000).toUTCString() });
      json(res, 200, { embedded: { licenses: [] } });
    });
    const error = (await clientFor(api.url, { maxInlineWaitSeconds: 30 }).fetchPage('licenses').catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterSeconds).toBeGreaterThan(80);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(90);
  });

  it('waits out a short 429 and reports the 429 count', async () => {
    const api = await serve((_req, res, seen) => {
      if (apiOnly(seen).length === 1) return json(res, 429, { error: 'rate_limit_exceeded', retry_after: 1 });
      json(res, 200, { embedded: { licenses: [{ id: 1 }] } });
    });
    const client = clientFor(api.url);
    const page = await client.fetchPage('licenses');
    expect(page.records).toEqual([{ id: 1 }]);
    const [first, second] = apiOnly(api.seen);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(client.stats()).toMatchObject({ requests: 2, throttled: 1, retries: 1 });
  });

  it('fails fast on 403/404 with the Spring message and no token or secret in it', async () => {
    const api = await serve((req, res) =>
      json(res, req.url?.startsWith('/v2/licenseLoas') ? 404 : 403, { timestamp: 1, status: 0, error: 'x', message: 'No static resource found', path: req.url }),
    );
    const client = clientFor(api.url);
    const error = (await client.fetchPage('licenseLoas').catch((e: unknown) => e)) as ProducerSyncHttpError;
    expect(error).toBeInstanceOf(ProducerSyncHttpError);
    expect(error).toMatchObject({ status: 404, apiMessage: 'No static resource found' });
    expect(error.message).not.toMatch(/tok-1|edge-secret/);
    await expect(client.getJson('/v1/accounts/subscriptions')).rejects.toMatchObject({ status: 403 });
    expect(apiOnly(api.seen)).toHaveLength(2);
  });

  it('sendJson sends a JSON body and returns null for an empty 202', async () => {
    const api = await serve((_req, res) => {
      res.writeHead(202);
      res.end();
    });
    const result = await clientFor(api.url).sendJson('DELETE', '/v1/accounts/subscriptions', ['123']);
    expect(result).toEqual({ status: 202, body: null });
    const [seen] = apiOnly(api.seen);
    expect(seen).toMatchObject({ method: 'DELETE', body: '["123"]' });
    expect(seen?.headers['content-type']).toBe('application/json');
  });

  it('a page body that is not an object is malformed and retried', async () => {
    const api = await serve((_req, res, seen) => {
      if (apiOnly(seen).length === 1) return json(res, 200, ['unexpected']);
      json(res, 200, { embedded: { licenses: [{ id: 9 }] } });
    });
    const client = clientFor(api.url);
    expect((await client.fetchPage('licenses')).records).toEqual([{ id: 9 }]);
    expect(client.stats().retries).toBe(1);
  });
});
