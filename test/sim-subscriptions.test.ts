import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_NAMES } from '#producersync/endpoints';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchAllPages, fetchToken, startWebhookReceiver, type WebhookReceiver } from '#sim/testing';

const SECRET = `whsec_${Buffer.from('simulator-subscriptions-key-01').toString('base64')}`;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
});
afterAll(() => receiver.close());

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  receiver.clear();
});

const withWebhook = (): SimulatorOptions => ({ webhook: { url: receiver.url, secret: SECRET } });

interface JobStatus {
  id: string;
  createdAt: string;
  updatedAt: string;
  details: { status: string; total: number; succeeded: number; failed: number };
  links: { self: { href: string }; details: { href: string } };
}

async function start(opts: SimulatorOptions = {}) {
  sim = await startSimulator({ npns: 10, subscriptionJobDelayMs: 10, ...opts });
  const s = sim;
  const token = await fetchToken(s);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = (method: string, path: string, body?: unknown) =>
    fetch(path.startsWith('http') ? path : `${s.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const submit = async (method: 'PUT' | 'POST' | 'DELETE', npns: unknown) => {
    const response = await call(method, '/v1/accounts/subscriptions', npns);
    return { status: response.status, body: (await response.json()) as { success: boolean; message: string; job_id: string; links: { self: { href: string } } } };
  };
  const waitForJob = async (jobId: string): Promise<JobStatus> => {
    for (;;) {
      const status = (await (await call('GET', `/v1/accounts/subscriptions/status/${jobId}`)).json()) as JobStatus;
      if (status.details.status === 'COMPLETED') return status;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const listed = async () => ((await (await call('GET', '/v1/accounts/subscriptions')).json()) as { embedded: { npns: string[] } }).embedded.npns;
  return { sim: s, token, call, submit, waitForJob, listed };
}

describe('subscription jobs', () => {
  it('appends NPNs through an asynchronous job and reports per-NPN results', async () => {
    const { sim, call, submit, waitForJob, listed } = await start();
    const accepted = await submit('PUT', ['123456789', 'not-an-npn', '15645555', '12345678901']);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ success: true, message: 'Job is in progress' });
    expect(accepted.body.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(accepted.body.links.self.href).toBe(`${sim.url}/v1/accounts/subscriptions/status/${accepted.body.job_id}`);

    const done = await waitForJob(accepted.body.job_id);
    expect(done).toMatchObject({ id: accepted.body.job_id, createdAt: '2025-07-24', details: { status: 'COMPLETED', total: 4, succeeded: 2, failed: 2 } });
    const details = (await (await call('GET', done.links.details.href)).json()) as { embedded: { results: { npn: string; status: string }[] } };
    expect(details.embedded.results).toEqual([
      { npn: '123456789', status: 'SUCCESS' },
      { npn: 'not-an-npn', status: 'INVALID_NPN' },
      { npn: '15645555', status: 'SUCCESS' },
      { npn: '12345678901', status: 'INVALID_NPN' },
    ]);
    expect(await listed()).toContain('123456789');
    expect(await listed()).toHaveLength(11);
    expect(sim.subscribedNpns()).toEqual(await listed());
  });

  it('makes a new NPN\'s data available only on the next day', async () => {
    const { sim, token, submit, waitForJob } = await start();
    await waitForJob((await submit('PUT', ['123456789'])).body.job_id);
    const today = await fetchAllPages(`${sim.url}/v2/licenses?npns=123456789`, token, 'licenses');
    expect(today.records).toEqual([]);
    expect(sim.groundTruth('licenses', { npns: ['123456789'] })).toEqual([]);

    const day = await sim.advanceDay({ changeFraction: 0 });
    const tomorrow = await fetchAllPages(`${sim.url}/v2/licenses?npns=123456789`, token, 'licenses');
    expect(tomorrow.records.length).toBeGreaterThan(0);
    expect(tomorrow.records).toEqual(sim.groundTruth('licenses', { npns: ['123456789'] }));
    expect(tomorrow.records.every((r) => r.updatedAt === day.runDate && r.createdAt === day.runDate)).toBe(true);
    expect(day.added).toBeGreaterThan(0);
    expect(day.changed).toBe(0);
  });

  it('replaces the list with POST and removes with DELETE (202); data of removed NPNs disappears', async () => {
    const { sim, token, submit, waitForJob, listed } = await start();
    const keep = sim.subscribedNpns().slice(0, 3);
    const replaced = await submit('POST', keep);
    expect(replaced.status).toBe(200);
    await waitForJob(replaced.body.job_id);
    expect((await listed()).sort()).toEqual([...keep].sort());
    const { records } = await fetchAllPages(`${sim.url}/v2/entities`, token, 'entities');
    expect(records.map((r) => r.npn).sort()).toEqual([...keep].sort());

    const removed = await submit('DELETE', [keep[0], '999999999']);
    expect(removed.status).toBe(202);
    expect(removed.body).toMatchObject({ success: true, message: 'Job is in progress' });
    const status = await waitForJob(removed.body.job_id);
    expect(status.details).toMatchObject({ total: 2, succeeded: 1, failed: 1 });
    expect(await listed()).toEqual(keep.slice(1));
    expect(sim.groundTruth('entities').map((r) => r.npn)).toEqual(expect.not.arrayContaining([keep[0]]));
  });

  it('shows IN_PROGRESS with PENDING results until the job runs', async () => {
    const { call, submit } = await start({ subscriptionJobDelayMs: 600_000 });
    const accepted = await submit('PUT', ['123456789']);
    const status = (await (await call('GET', `/v1/accounts/subscriptions/status/${accepted.body.job_id}`)).json()) as JobStatus;
    expect(status.details).toEqual({ status: 'IN_PROGRESS', total: 1, succeeded: 0, failed: 0 });
    const details = (await (await call('GET', status.links.details.href)).json()) as { embedded: { results: unknown[] } };
    expect(details.embedded.results).toEqual([{ npn: '123456789', status: 'PENDING' }]);
  });

  it('rejects a body that is not a JSON array and 404s an unknown job', async () => {
    const { call, submit } = await start();
    expect((await submit('PUT', { npns: ['1'] })).status).toBe(400);
    const unknown = await call('GET', '/v1/accounts/subscriptions/status/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ status: 404, error: 'Not Found' });
  });

  it('auto-subscribes an NPN read through a per-NPN endpoint', async () => {
    const { sim, call } = await start();
    const response = await call('GET', '/v2/entities/87654321/licenses');
    expect(response.status).toBe(200);
    expect(sim.subscribedNpns()).toContain('87654321');
  });
});

describe('data of new subscriptions appears a cycle later (AgentSync: fetched on the next daily update)', () => {
  /** Every record of the NPNs, per endpoint, read over HTTP from the "for subscribed NPNs" lists. */
  async function listed(s: Simulator, token: string, npns: string[], updatedSince?: string) {
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const name of ENDPOINT_NAMES) {
      const since = updatedSince ? `&updatedSince=${updatedSince}` : '';
      out[name] = (await fetchAllPages(`${s.url}/v2/${name}?npns=${npns.join(',')}&size=1000${since}`, token, name)).records;
    }
    return out;
  }
  const count = (byEndpoint: Record<string, unknown[]>) => Object.values(byEndpoint).reduce((sum, records) => sum + records.length, 0);
  const truthOf = (s: Simulator, npns: string[]) => Object.fromEntries(ENDPOINT_NAMES.map((name) => [name, s.groundTruth(name, { npns })]));

  it('holds for PUT and POST: nothing until advanceDay, then everything stamped with that day, seen by an incremental read', async () => {
    const { sim, token, submit, waitForJob } = await start();
    const existing = sim.subscribedNpns();
    await waitForJob((await submit('PUT', ['300000001'])).body.job_id);
    await waitForJob((await submit('POST', [...existing, '300000001', '300000002'])).body.job_id);
    const fresh = ['300000001', '300000002'];
    expect(sim.subscribedNpns()).toEqual(expect.arrayContaining(fresh));
    expect(count(await listed(sim, token, fresh))).toBe(0);
    expect(count(truthOf(sim, fresh))).toBe(0);

    const day = await sim.advanceDay({ changeFraction: 0 });
    expect(day.npnsLoaded).toBe(2);
    const all = await listed(sim, token, fresh);
    expect(all).toEqual(truthOf(sim, fresh));
    expect(all.entities).toHaveLength(2);
    expect(day.added).toBe(count(all));
    expect(await listed(sim, token, fresh, day.runDate)).toEqual(all);
  });

  it('holds for auto-subscription through a per-NPN read', async () => {
    const { sim, token, call } = await start();
    const first = (await (await call('GET', '/v2/entities/87654321/licenses')).json()) as { embedded?: unknown };
    expect(first.embedded).toBeUndefined();
    expect(sim.subscribedNpns()).toContain('87654321');
    expect(count(truthOf(sim, ['87654321']))).toBe(0);
    const day = await sim.advanceDay({ changeFraction: 0 });
    expect(day.npnsLoaded).toBe(1);
    const since = await listed(sim, token, ['87654321'], day.runDate);
    expect(since.licenses!.length).toBeGreaterThan(0);
    expect(since).toEqual(truthOf(sim, ['87654321']));
  });

  it('removes a DELETEd NPN\'s records at once and fires npn.deactivated; re-subscribed, they return next day with that day\'s updatedAt', async () => {
    const { sim, token, submit, waitForJob } = await start(withWebhook());
    const npn = sim.subscribedNpns()[3]!;
    const before = await listed(sim, token, [npn]);
    expect(before.licenses!.length).toBeGreaterThan(0);

    await waitForJob((await submit('DELETE', [npn])).body.job_id);
    expect(count(await listed(sim, token, [npn]))).toBe(0);
    expect(count(truthOf(sim, [npn]))).toBe(0);
    await receiver.waitFor(1);
    expect(receiver.received[0]!.payload).toMatchObject({ type: 'producersync.npn.deactivated', data: { npn } });

    await waitForJob((await submit('PUT', [npn])).body.job_id);
    expect(count(await listed(sim, token, [npn]))).toBe(0);
    const day = await sim.advanceDay({ changeFraction: 0, deliverWebhook: false });
    expect(day).toMatchObject({ npnsLoaded: 1, added: count(before) });
    const back = await listed(sim, token, [npn], day.runDate);
    expect(count(back)).toBe(count(before));
    expect(back).toEqual(truthOf(sim, [npn]));
  });

  it('gives new NPNs a few records (newNpnData: minimal) or none at all (none)', async () => {
    const minimal = await start({ newNpnData: 'minimal' });
    await minimal.waitForJob((await minimal.submit('PUT', ['300000003'])).body.job_id);
    const day = await minimal.sim.advanceDay({ changeFraction: 0 });
    const records = truthOf(minimal.sim, ['300000003']);
    expect(Object.fromEntries(Object.entries(records).map(([name, list]) => [name, list.length]))).toMatchObject({
      entities: 1, licenses: 1, licenseLoas: 1, addresses: 1, appointments: 0, contactInfos: 0,
    });
    expect(day.added).toBe(4);
    await minimal.sim.close();

    const none = await start({ newNpnData: 'none' });
    await none.waitForJob((await none.submit('PUT', ['300000004'])).body.job_id);
    expect(await none.sim.advanceDay({ changeFraction: 0.05 })).toMatchObject({ npnsLoaded: 1 });
    expect(count(truthOf(none.sim, ['300000004']))).toBe(0);
    expect(none.sim.subscribedNpns()).toContain('300000004');
  });

  it('takes a PUT of 50,000 NPNs in one job: listed, one activation event, loaded on the next day', async () => {
    const { sim, submit, waitForJob, listed: list } = await start({ ...withWebhook(), newNpnData: 'none' });
    const wave = Array.from({ length: 50_000 }, (_, i) => String(400_000_000 + i));
    const done = await waitForJob((await submit('PUT', wave)).body.job_id);
    expect(done.details).toMatchObject({ status: 'COMPLETED', total: 50_000, succeeded: 50_000 });
    expect(await list()).toHaveLength(50_010);
    await receiver.waitFor(1);
    expect(receiver.received[0]!.payload).toMatchObject({ type: 'producersync.npn.activated' });
    expect((receiver.received[0]!.payload.data as { npns: string[] }).npns).toEqual(wave);
    expect(await sim.advanceDay({ deliverWebhook: false })).toMatchObject({ npnsLoaded: 50_000 });
  });
});
