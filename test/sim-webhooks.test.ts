import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENDPOINT_NAMES } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { fetchAllPages, fetchToken, startWebhookReceiver, type WebhookReceiver } from '#sim/testing';

const SECRET = `whsec_${Buffer.from('simulator-test-signing-key-0001').toString('base64')}`;

/** A receiving server that verifies every delivery with svix, the way the webhook Lambda does. */
let receiver: WebhookReceiver;
let sim: Simulator;

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  sim = await startSimulator({ npns: 80, seed: 3, webhook: { url: receiver.url, secret: SECRET }, subscriptionJobDelayMs: 10 });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
beforeEach(() => receiver.clear());

describe('advanceDay', () => {
  it('moves today forward, stamps every change with the new date and delivers a signed updates_available', async () => {
    const before = Object.fromEntries(ENDPOINT_NAMES.map((name) => [name, sim.groundTruth(name)]));
    const result = await sim.advanceDay({ changeFraction: 0.05 });
    expect(result.runDate).toBe('2025-07-25');
    expect(sim.today).toBe('2025-07-25');
    expect(result.changed + result.added + result.deleted).toBeGreaterThan(0);
    expect(result.webhookStatus).toBe(204);
    expect(receiver.rejected()).toBe(0);
    expect(receiver.received).toHaveLength(1);
    const event = receiver.received[0]!;
    expect(event.payload).toMatchObject({ id: result.eventId, type: 'producersync.updates_available', data: { runDate: '2025-07-25' } });
    expect(event.payload.id).toMatch(/^whe_/);
    expect(event.headers['svix-id']).toBe(result.eventId);

    let changedOrAdded = 0;
    let newlyDeleted = 0;
    for (const name of ENDPOINT_NAMES) {
      const previous = new Map(before[name]!.map((r) => [r.id, JSON.stringify(r)]));
      const after = sim.groundTruth(name);
      for (const record of after) {
        const old = previous.get(record.id);
        if (old === JSON.stringify(record)) continue;
        // Anything that differs from yesterday carries today's date, so updatedSince=runDate finds it.
        expect(record.updatedAt, `${name} ${record.id}`).toBe(result.runDate);
        changedOrAdded++;
        if (record.niprDeleted === true && old !== undefined && !old.includes('"niprDeleted":true')) newlyDeleted++;
      }
      const since = sim.groundTruth(name, { updatedSince: result.runDate });
      expect(since.every((r) => r.updatedAt === result.runDate)).toBe(true);
    }
    expect(newlyDeleted).toBe(result.deleted);
    expect(changedOrAdded).toBe(result.changed + result.added + result.deleted);
  });

  it('serves the day\'s changes through updatedSince=runDate, matching groundTruth', async () => {
    const result = await sim.advanceDay({ deliverWebhook: false });
    expect(receiver.received).toHaveLength(0);
    expect(result.webhookStatus).toBeUndefined();
    const token = await fetchToken(sim);
    const { records } = await fetchAllPages(`${sim.url}/v2/licenses?updatedSince=${result.runDate}&size=100`, token, 'licenses');
    expect(records).toEqual(sim.groundTruth('licenses', { updatedSince: result.runDate }));
    expect(records.length).toBeGreaterThan(0);
  });
});

describe('sendWebhook', () => {
  it('signs arbitrary events and re-sends the same message id on a retry', async () => {
    const first = await sim.sendWebhook('producersync.updates_available', { runDate: '2025-07-24' });
    const retry = await sim.sendWebhook('producersync.updates_available', { runDate: '2025-07-24' }, { eventId: first.eventId });
    expect([first.status, retry.status]).toEqual([204, 204]);
    expect(receiver.received.map((r) => r.headers['svix-id'])).toEqual([first.eventId, first.eventId]);
  });

  it('produces a stale signature when given an old timestamp (the receiver rejects it)', async () => {
    const old = await sim.sendWebhook('producersync.updates_available', { runDate: '2025-07-24' }, { timestamp: new Date(Date.now() - 3_600_000) });
    expect(old.status).toBe(401);
    expect(receiver.rejected()).toBe(1);
  });

  it('reports status 0 when nobody listens', async () => {
    const lonely = await startSimulator({ npns: 3, webhook: { url: 'http://127.0.0.1:9/none', secret: SECRET } });
    try {
      expect((await lonely.sendWebhook('producersync.updates_available', { runDate: '2025-07-24' })).status).toBe(0);
    } finally {
      await lonely.close();
    }
  });
});

describe('npn.activated / npn.deactivated', () => {
  async function submit(method: 'PUT' | 'POST' | 'DELETE', npns: string[]): Promise<void> {
    const token = await fetchToken(sim);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const response = await fetch(`${sim.url}/v1/accounts/subscriptions`, { method, headers, body: JSON.stringify(npns) });
    const { job_id } = (await response.json()) as { job_id: string };
    for (;;) {
      const status = (await (await fetch(`${sim.url}/v1/accounts/subscriptions/status/${job_id}`, { headers })).json()) as { details: { status: string } };
      if (status.details.status === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('fires {npn} for one NPN and {npns} for several when the list changes', async () => {
    await submit('PUT', ['555000111']);
    await receiver.waitFor(1);
    expect(receiver.received[0]!.payload).toMatchObject({ type: 'producersync.npn.activated', data: { npn: '555000111' } });

    await submit('DELETE', ['555000111', '15645555']);
    await receiver.waitFor(2);
    expect(receiver.received[1]!.payload).toMatchObject({ type: 'producersync.npn.deactivated', data: { npns: ['555000111', '15645555'] } });
    expect(receiver.rejected()).toBe(0);
  });
});
