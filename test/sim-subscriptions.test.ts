import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchAllPages, fetchToken } from '#sim/testing';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

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
