import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_NAMES } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { fetchAllPages, fetchToken, type PageBody } from '#sim/testing';

let sim: Simulator;
let token: string;

const get = (path: string, bearer = token) => fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
const tokenOf = (href: string) => new URL(href).searchParams.get('continuationToken');

beforeAll(async () => {
  sim = await startSimulator({ npns: 60, seed: 7 });
  token = await fetchToken(sim);
});
afterAll(() => sim.close());

describe('token endpoint', () => {
  it('issues a bearer token for form credentials, echoing the scope', async () => {
    const response = await fetch(sim.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'local', client_secret: 'local', scope: 'https://api.agentsync.io/a_valid_scope' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'https://api.agentsync.io/a_valid_scope' });
    expect((await get('/v2/entities/15645555', body.access_token as string)).status).toBe(200);
  });

  it('accepts HTTP Basic credentials and the /oauth/token path', async () => {
    const response = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('local:local').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(response.status).toBe(200);
  });

  it('rejects wrong credentials with an OAuth error body and counts no token', async () => {
    const before = sim.tokensIssued();
    const response = await fetch(sim.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'local', client_secret: 'nope' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    expect(sim.tokensIssued()).toBe(before);
    const wrongGrant = await fetch(sim.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'local', client_secret: 'local' }) });
    expect(wrongGrant.status).toBe(400);
  });

  it('answers API calls without a valid token with a Spring 401', async () => {
    for (const bearer of ['', 'made-up']) {
      const response = await get('/v2/licenses', bearer);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ status: 401, error: 'Unauthorized', path: '/v2/licenses' });
    }
    const last = sim.requests.at(-1);
    expect(last).toMatchObject({ kind: 'api', status: 401, authorized: false, path: '/v2/licenses' });
  });

  it('expires tokens after their lifetime', async () => {
    let now = Date.now();
    const clocked = await startSimulator({ npns: 3, tokenLifetimeSeconds: 60, clock: () => now });
    try {
      const short = await fetchToken(clocked);
      const read = () => fetch(`${clocked.url}/v2/entities/15645555`, { headers: { authorization: `Bearer ${short}` } });
      expect((await read()).status).toBe(200);
      now += 61_000;
      const expired = await read();
      expect(expired.status).toBe(401);
      expect(await expired.json()).toMatchObject({ message: 'Access token expired' });
    } finally {
      await clocked.close();
    }
  });
});

describe('pagination', () => {
  it('pages licenses by keyset with the documented end rules and equals groundTruth', async () => {
    const { records, pages } = await fetchAllPages(`${sim.url}/v2/licenses?size=50`, token, 'licenses');
    expect(records).toEqual(sim.groundTruth('licenses'));
    expect(pages.length).toBeGreaterThan(2);
    const first = pages[0]!;
    expect(tokenOf(first.links.self.href)).toBe('0');
    for (const page of pages.slice(0, -1)) {
      expect(page.embedded?.licenses?.length).toBeGreaterThan(0);
      expect(tokenOf(page.links.next.href)).not.toBe('0');
    }
    const final = pages.at(-1)!;
    expect(final.embedded).toBeUndefined();
    expect(tokenOf(final.links.next.href)).toBe('0');
    expect(tokenOf(final.links.self.href)).toBe(tokenOf(pages.at(-2)!.links.next.href));
    const ids = records.map((r) => r.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('groundTruth equals what paging returns for every endpoint', async () => {
    for (const name of ENDPOINT_NAMES) {
      const { records } = await fetchAllPages(`${sim.url}/v2/${name}?size=1000`, token, name);
      expect(records.length, name).toBe(sim.groundTruth(name).length);
      expect(records, name).toEqual(sim.groundTruth(name));
    }
  });

  it('keeps the original filters in self and next hrefs (absolute URLs)', async () => {
    const response = await get('/v2/licenses?states=CA,%20TX&size=3&includeDeleted=false');
    const body = (await response.json()) as PageBody;
    for (const link of [body.links.self.href, body.links.next.href]) {
      const url = new URL(link);
      expect(url.origin).toBe(sim.url);
      expect(url.searchParams.get('states')).toBe('CA, TX');
      expect(url.searchParams.get('size')).toBe('3');
      expect(url.searchParams.get('includeDeleted')).toBe('false');
    }
    const next = (await (await get(new URL(body.links.next.href).pathname + new URL(body.links.next.href).search)).json()) as PageBody;
    for (const record of [...(body.embedded?.licenses ?? []), ...(next.embedded?.licenses ?? [])] as Record<string, unknown>[]) {
      expect(['CA', 'TX']).toContain(record.forState);
      expect(record.niprDeleted).toBe(false);
    }
  });

  it('answers a query without results with links only, self and next at token 0', async () => {
    const response = await get('/v2/licenses?updatedSince=2099-01-01');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/hal+json');
    const body = (await response.json()) as PageBody;
    expect(body.embedded).toBeUndefined();
    expect(tokenOf(body.links.self.href)).toBe('0');
    expect(tokenOf(body.links.next.href)).toBe('0');
  });

  it('validates size, updatedSince and other parameters with a Spring 400', async () => {
    for (const query of ['size=0', 'size=1001', 'size=abc', 'updatedSince=2025-7-1', 'updatedSince=2025-02-30', 'includeDeleted=maybe', 'states=CAL', 'status=ACTIVE', 'continuationToken=-5']) {
      const path = query.startsWith('status') ? '/v2/appointments' : '/v2/licenses';
      const response = await get(`${path}?${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.json()).toMatchObject({ status: 400, error: 'Bad Request', path });
    }
    expect((await get('/v2/licenses?size=1000')).status).toBe(200);
    expect((await get('/v2/licenses?size=1')).status).toBe(200);
  });

  it('treats updatedSince as inclusive on updatedAt', async () => {
    const all = sim.groundTruth('addresses');
    const pivot = [...all.map((r) => r.updatedAt as string)].sort()[Math.floor(all.length / 2)]!;
    const { records } = await fetchAllPages(`${sim.url}/v2/addresses?updatedSince=${pivot}&size=1000`, token, 'addresses');
    expect(records).toEqual(all.filter((r) => (r.updatedAt as string) >= pivot));
    expect(records.some((r) => r.updatedAt === pivot)).toBe(true);
  });

  it('filters by npns (comma list with spaces), licenses active/loaCodes and appointments coCodes/status', async () => {
    const [a, b] = sim.subscribedNpns();
    const { records } = await fetchAllPages(`${sim.url}/v2/licenses?npns=${a},%20${b}&size=1000`, token, 'licenses');
    expect(records).toEqual(sim.groundTruth('licenses', { npns: [a!, b!] }));
    expect(new Set(records.map((r) => r.npn))).toEqual(new Set([a, b]));

    const active = await fetchAllPages(`${sim.url}/v2/licenses?active=false&loaCodes=12,13&size=1000`, token, 'licenses');
    expect(active.records.length).toBeGreaterThan(0);
    for (const license of active.records) {
      expect(license.active).toBe(false);
      expect((license.licenseLoas as { loaCode: string }[]).some((loa) => ['12', '13'].includes(loa.loaCode))).toBe(true);
    }

    const terminated = await fetchAllPages(`${sim.url}/v2/appointments?status=TERMINATED&coCodes=24740,70408,98765&size=1000`, token, 'appointments');
    expect(terminated.records.length).toBeGreaterThan(0);
    for (const appointment of terminated.records) {
      expect(appointment.status).toBe('Terminated');
      expect(['24740', '70408', '98765']).toContain(appointment.coCode);
    }
  });

  it('excludes deleted records only when includeDeleted=false', async () => {
    const all = sim.groundTruth('appointments');
    expect(all.some((r) => r.niprDeleted === true)).toBe(true);
    const { records } = await fetchAllPages(`${sim.url}/v2/appointments?includeDeleted=false&size=1000`, token, 'appointments');
    expect(records).toEqual(all.filter((r) => r.niprDeleted === false));
  });

  it('gzips when asked', async () => {
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      const req = request(`${sim.url}/v2/entities?size=5`, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw.encoding).toBe('gzip');
    const body = JSON.parse(gunzipSync(raw.body).toString()) as PageBody;
    expect(body.embedded?.entities).toHaveLength(5);
  });
});

describe('single-record and per-NPN routes', () => {
  it('returns the sandbox entity directly and 404s an unknown NPN', async () => {
    const entity = (await (await get('/v2/entities/15645555')).json()) as Record<string, unknown>;
    expect(entity).toMatchObject({ id: 158583, npn: '15645555', type: 'INDIVIDUAL', firstName: 'Joe', middleName: 'A', lastName: 'Producer' });
    const missing = await get('/v2/entities/999');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: 404, error: 'Not Found', path: '/v2/entities/999' });
  });

  it('serves per-NPN lists, LOAs of a license, regulatory action values and v1 by-id reads', async () => {
    const npn = '19855109';
    const { records } = await fetchAllPages(`${sim.url}/v2/entities/${npn}/licenses`, token, 'licenses');
    expect(records).toEqual(sim.groundTruth('licenses', { npns: [npn] }));
    const license = records[0]!;
    const loas = (await (await get(`/v2/licenses/${license.id}/licenseLoas`)).json()) as PageBody;
    expect(loas.embedded?.licenseLoas).toEqual(license.licenseLoas);
    expect(await (await get(`/v1/licenses/${license.id}`)).json()).toEqual(license);
    const loa = (license.licenseLoas as Record<string, unknown>[])[0]!;
    expect(loa).toMatchObject({ licenseId: license.id, npn });
    expect(await (await get(`/v1/licenseLoas/${loa.id}`)).json()).toEqual(loa);

    const action = sim.groundTruth('regulatoryActions')[0];
    expect(action).toBeDefined();
    const values = (await (await get(`/v2/regulatoryActions/${action!.id}/regulatoryActionValues`)).json()) as PageBody;
    const expected = (action!.regulatoryActionValues as { regulatoryActionValues: Record<string, unknown>[] }).regulatoryActionValues;
    expect(values.embedded?.regulatoryActionValues).toEqual(expected);
    expect(expected.map((v) => v.type).sort()).toEqual(['DISPOSITION', 'ORIGIN', 'REASON']);
    expect(await (await get(`/v1/regulatoryActionValues/${expected[0]!.id}`)).json()).toEqual(expected[0]);
    expect((await get('/v1/licenses/1')).status).toBe(404);
  });

  it('404s unknown routes with a Spring body', async () => {
    const response = await get('/v2/exams');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ status: 404, path: '/v2/exams' });
  });
});

describe('data generation', () => {
  it('is deterministic per seed and always includes the sandbox NPNs', async () => {
    const again = await startSimulator({ npns: 60, seed: 7 });
    const other = await startSimulator({ npns: 60, seed: 8 });
    try {
      const strip = (records: Record<string, unknown>[]) => JSON.stringify(records).replaceAll(/127\.0\.0\.1:\d+/g, 'host');
      expect(strip(again.groundTruth('licenses'))).toBe(strip(sim.groundTruth('licenses')));
      expect(strip(other.groundTruth('licenses'))).not.toBe(strip(sim.groundTruth('licenses')));
      expect(other.subscribedNpns()).toEqual(expect.arrayContaining(['15645555', '19855109']));
      expect(other.subscribedNpns()).toHaveLength(60);
    } finally {
      await Promise.all([again.close(), other.close()]);
    }
  });

  it('gives every record an id, npn, transactionId, dates on or before today and niprDeleted', () => {
    for (const name of ENDPOINT_NAMES) {
      const records = sim.groundTruth(name);
      expect(records.length, name).toBeGreaterThan(0);
      expect(new Set(records.map((r) => r.id)).size, name).toBe(records.length);
      for (const r of records) {
        expect(typeof r.id).toBe('number');
        expect(r.npn).toMatch(/^\d{8,9}$/);
        expect(r.transactionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect((r.createdAt as string) <= (r.updatedAt as string) && (r.updatedAt as string) <= sim.today).toBe(true);
        expect(typeof r.niprDeleted).toBe('boolean');
      }
    }
  });
});

describe('documented variants', () => {
  it('speaks _embedded/_links and upper-case appointment statuses when asked', async () => {
    const variant = await startSimulator({ npns: 20, envelope: '_embedded', appointmentStatus: 'upper' });
    try {
      const bearer = await fetchToken(variant);
      const response = await fetch(`${variant.url}/v2/appointments?size=1000&status=terminated`, { headers: { authorization: `Bearer ${bearer}` } });
      const body = (await response.json()) as { _embedded?: { appointments: Record<string, unknown>[] }; _links: { next: { href: string } }; embedded?: unknown };
      expect(body.embedded).toBeUndefined();
      expect(body._links.next.href).toContain('continuationToken=');
      const appointments = body._embedded?.appointments ?? [];
      expect(appointments.length).toBeGreaterThan(0);
      for (const appointment of appointments) {
        expect(appointment.status).toBe('TERMINATED');
        expect(appointment).toHaveProperty('_links.self.href');
      }
      expect(appointments).toEqual(variant.groundTruth('appointments').filter((a) => a.status === 'TERMINATED'));
    } finally {
      await variant.close();
    }
  });
});
