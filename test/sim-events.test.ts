import { Webhook } from 'svix';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATION_PAYLOAD_SHAPES, EXAMPLE_UPDATES_AVAILABLE, type ActivationPayloadShape } from '#sim/events';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchToken, startWebhookReceiver, type WebhookReceiver } from '#sim/testing';

const SECRET = `whsec_${Buffer.from('simulator-events-test-key-0001').toString('base64')}`;

let receiver: WebhookReceiver;
const started: Simulator[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
});
afterAll(() => receiver.close());
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
  receiver.clear();
});

async function start(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ npns: 12, seed: 4, subscriptionJobDelayMs: 5, webhook: { url: receiver.url, secret: SECRET }, ...opts });
  started.push(sim);
  return sim;
}

/** Closes the simulator now: close() waits for every delivery it started, so what was sent has arrived. */
async function settle(sim: Simulator): Promise<void> {
  started.splice(started.indexOf(sim), 1);
  await sim.close();
}

/** PUTs NPNs to the subscription list over HTTP and waits for the job. */
async function subscribe(sim: Simulator, npns: string[]): Promise<void> {
  const headers = { authorization: `Bearer ${await fetchToken(sim)}`, 'content-type': 'application/json' };
  const accepted = (await (await fetch(`${sim.url}/v1/accounts/subscriptions`, { method: 'PUT', headers, body: JSON.stringify(npns) })).json()) as { job_id: string };
  for (;;) {
    const status = (await (await fetch(`${sim.url}/v1/accounts/subscriptions/status/${accepted.job_id}`, { headers })).json()) as { details: { status: string } };
    if (status.details.status === 'COMPLETED') return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('lost webhooks', () => {
  it('never delivers the listed run dates, says so in the day result, and the lost event can be replayed', async () => {
    const sim = await start({ webhookLoss: { runDates: ['2025-07-26'] } });
    const days = [await sim.advanceDay(), await sim.advanceDay(), await sim.advanceDay()];
    expect(days.map((d) => [d.runDate, d.webhookLost, d.webhookStatus])).toEqual([
      ['2025-07-25', false, 204],
      ['2025-07-26', true, undefined],
      ['2025-07-27', false, 204],
    ]);
    expect(receiver.received.map((r) => (r.payload.data as { runDate: string }).runDate)).toEqual(['2025-07-25', '2025-07-27']);
    const lost = days[1]!;
    expect(lost.eventId).toMatch(/^whe_/);
    await sim.sendWebhook('producersync.updates_available', { runDate: lost.runDate }, { eventId: lost.eventId! });
    expect(receiver.received.at(-1)!.payload).toMatchObject({ id: lost.eventId, data: { runDate: '2025-07-26' } });
  });

  it('loses a seeded share of days, the same days for the same seed, with or without a webhook configured', async () => {
    const lostDays = async (webhook: boolean) => {
      const sim = webhook ? await start({ webhookLoss: { fraction: 0.3 } }) : await startSimulator({ npns: 12, seed: 4, webhookLoss: { fraction: 0.3 } });
      if (!webhook) started.push(sim);
      const lost: string[] = [];
      for (let day = 0; day < 40; day++) {
        const result = await sim.advanceDay({ changeFraction: 0 });
        if (result.webhookLost) lost.push(result.runDate);
      }
      return lost;
    };
    const lost = await lostDays(true);
    expect(lost.length).toBeGreaterThan(4);
    expect(lost.length).toBeLessThan(24);
    expect(receiver.received).toHaveLength(40 - lost.length);
    expect(receiver.received.map((r) => (r.payload.data as { runDate: string }).runDate)).not.toContain(lost[0]);
    expect(await lostDays(false)).toEqual(lost);
  });

  it('deliverWebhook: false sends nothing and is not a loss', async () => {
    const sim = await start({ webhookLoss: { fraction: 1 } });
    const day = await sim.advanceDay({ deliverWebhook: false });
    expect(day).toMatchObject({ webhookLost: false });
    expect(day.eventId).toBeUndefined();
    expect(receiver.received).toHaveLength(0);
  });
});

describe('portal test event ("Send Example")', () => {
  it('delivers the documented example verbatim, signed, with a new svix-id on every call', async () => {
    const sim = await start();
    const first = await sim.sendTestEvent();
    const second = await sim.sendTestEvent();
    expect([first.status, second.status]).toEqual([204, 204]);
    expect(receiver.rejected()).toBe(0);
    const [a, b] = receiver.received;
    expect(JSON.parse(a!.body)).toEqual({ id: 'whe_000012345', type: 'producersync.updates_available', timestamp: '2025-07-24T22:51:05.206Z', data: { runDate: '2025-07-24' } });
    expect(b!.body).toBe(a!.body);
    expect(a!.headers['svix-id']).toMatch(/^msg_/);
    expect(a!.headers['svix-id']).not.toBe(b!.headers['svix-id']);
    expect([first.messageId, second.messageId]).toEqual([a!.headers['svix-id'], b!.headers['svix-id']]);
    expect(first.eventId).toBe(EXAMPLE_UPDATES_AVAILABLE.id);
  });
});

describe('activation payload shapes', () => {
  const expected: Record<ActivationPayloadShape, unknown[]> = {
    'npn-or-npns': [{ npns: ['700000001', '700000002', '700000003'] }],
    npn: [{ npn: '700000001' }, { npn: '700000002' }, { npn: '700000003' }],
    npns: [{ npns: ['700000001', '700000002', '700000003'] }],
    'npn-list': [{ npn: ['700000001', '700000002', '700000003'] }],
    list: [['700000001', '700000002', '700000003']],
  };

  for (const shape of ACTIVATION_PAYLOAD_SHAPES) {
    it(`'${shape}' shapes the npn.activated data of a PUT`, async () => {
      const sim = await start({ activationPayload: shape });
      await subscribe(sim, ['700000001', '700000002', '700000003']);
      await settle(sim);
      expect(receiver.received.map((r) => r.payload.type)).toEqual(expected[shape].map(() => 'producersync.npn.activated'));
      expect(receiver.received.map((r) => r.payload.data)).toEqual(expected[shape]);
    });
  }

  it('keeps {npn} for a single NPN by default', async () => {
    const sim = await start();
    await subscribe(sim, ['700000009']);
    await settle(sim);
    expect(receiver.received.map((r) => r.payload.data)).toEqual([{ npn: '700000009' }]);
  });

  it('splits a large change into events of at most maxNpnsPerEvent NPNs', async () => {
    const sim = await start({ activationPayload: 'npns', maxNpnsPerEvent: 2 });
    await subscribe(sim, ['700000001', '700000002', '700000003']);
    await settle(sim);
    expect(receiver.received.map((r) => r.payload.data)).toEqual([{ npns: ['700000001', '700000002'] }, { npns: ['700000003'] }]);
  });
});

describe('npnEvents / notifyNpns', () => {
  const wave = Array.from({ length: 50_000 }, (_, i) => String(800_000_000 + i));

  it('signs the activation events for 50,000 NPNs without subscribing them or holding their data', async () => {
    const sim = await start({ maxNpnsPerEvent: 20_000 });
    const before = sim.subscribedNpns();
    const events = sim.npnEvents('activated', wave);
    expect(events).toHaveLength(3);
    const payloads = events.map((e) => new Webhook(SECRET).verify(e.body, e.headers) as { type: string; data: { npns: string[] } });
    expect(payloads.every((p) => p.type === 'producersync.npn.activated')).toBe(true);
    expect(payloads.flatMap((p) => p.data.npns)).toEqual(wave);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    expect(events.every((e) => e.headers['svix-id'] === e.eventId && e.url === receiver.url)).toBe(true);
    expect(sim.subscribedNpns()).toEqual(before);
    expect(receiver.received).toHaveLength(0);
  });

  it('delivers them one after the other', async () => {
    const sim = await start({ activationPayload: 'npn' });
    const deliveries = await sim.notifyNpns('deactivated', ['15645555', '19855109']);
    expect(deliveries.map((d) => d.status)).toEqual([204, 204]);
    expect(receiver.received.map((r) => [r.payload.type, r.payload.data])).toEqual([
      ['producersync.npn.deactivated', { npn: '15645555' }],
      ['producersync.npn.deactivated', { npn: '19855109' }],
    ]);
  });
});
