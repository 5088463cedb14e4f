/**
 * `producersync producer` against DynamoDB Local holding what the real sync wrote from the simulator (a backfill
 * through the synthesized state machine), compared with the simulator's ground truth; a deactivation arrives
 * through the signed webhook and the dispatcher like in AWS.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ProducerView, SellingAnswer } from '#read/index';
import { newWebhookSecret, startHarness, type LocalHarness } from '#local/harness';
import { startSimulator, type Simulator } from '#sim/server';
import { main } from '../scripts/cli.ts';
import { runExecution } from '../scripts/local-deployment/outcome.ts';
import { memoryIo } from '../scripts/support/cli-io.ts';

type Truth = Record<string, unknown> & { npn: string; id: number; forState?: string; niprDeleted?: boolean };
type Loa = { loa: string; loaCode: string; status: string; niprDeleted: boolean };

let harness: LocalHarness;
let sim: Simulator;

beforeAll(async () => {
  harness = await startHarness({ dynamoEndpoint: inject('dynamoEndpoint') });
  const secret = newWebhookSecret();
  await harness.setWebhookSecret(secret);
  const { webhookUrl } = await harness.startIngest();
  sim = await startSimulator({ npns: 40, seed: 21, webhook: { url: webhookUrl, secret } });
  harness.onStop(() => sim.close());
  await harness.useProducerSyncApi({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl });
  expect((await runExecution(harness, 'producer-backfill', { mode: 'backfill' })).status).toBe('SUCCEEDED');
}, 180_000);
afterAll(async () => {
  await harness?.stop();
});

async function producer(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await main(['producer', ...args, '--data-table', harness.resources.dataTable], io);
  return { code, out: io.out(), err: io.err() };
}
async function producerJson(args: string[]): Promise<{ producer: ProducerView; answer?: SellingAnswer }> {
  const { code, out, err } = await producer([...args, '--output', 'json']);
  expect(code, err).toBe(0);
  return JSON.parse(out) as { producer: ProducerView; answer?: SellingAnswer };
}

const truthOf = (endpoint: 'entities' | 'licenses' | 'appointments' | 'addresses' | 'regulatoryActions', npn: string) =>
  sim.groundTruth(endpoint, { npns: [npn] }) as Truth[];

/** A producer with an active, unexpired license (with an expiration date) that holds an Active LOA, and one of its LOAs. */
function activeLicense(): { npn: string; license: Truth; loa: Loa } {
  for (const npn of sim.subscribedNpns()) {
    for (const license of truthOf('licenses', npn)) {
      const expires = license.expirationDate as string | null;
      const loa = (license.licenseLoas as Loa[]).find((l) => l.status === 'Active' && !l.niprDeleted);
      if (license.active === true && !license.niprDeleted && expires !== null && expires >= sim.today && loa) return { npn, license, loa };
    }
  }
  throw new Error('the simulated population has no active license with an active LOA');
}

describe('producersync producer', () => {
  it('shows the producer as the sync stored it: entity, licenses by state with LOAs, appointments by carrier, addresses, actions', async () => {
    const { npn } = activeLicense();
    const { producer: view } = await producerJson([npn, '--date', sim.today]);
    const [entity] = truthOf('entities', npn);
    expect(view.npn).toBe(npn);
    expect(view.entity).toMatchObject({ id: entity!.id, type: entity!.type });
    const licenses = truthOf('licenses', npn);
    expect(view.licensesByState.map((g) => g.state)).toEqual([...new Set(licenses.map((l) => l.forState!))].sort());
    expect(view.licensesByState.flatMap((g) => g.licenses.map((l) => l.id)).sort()).toEqual(licenses.map((l) => l.id).sort());
    for (const group of view.licensesByState) {
      for (const license of group.licenses) {
        const source = licenses.find((l) => l.id === license.id)!;
        expect(license.loas.map((l) => l.name).sort()).toEqual((source.licenseLoas as Loa[]).map((l) => l.loa).sort());
        expect(license.standing).toBe(source.niprDeleted ? 'soft-deleted' : 'current');
      }
    }
    const appointments = truthOf('appointments', npn);
    expect(view.appointmentsByCarrier.map((c) => c.coCode)).toEqual([...new Set(appointments.map((a) => String(a.coCode)))].sort());
    expect(view.appointmentsByCarrier.flatMap((c) => c.appointments).length).toBe(appointments.length);
    expect(view.addresses.length).toBe(truthOf('addresses', npn).length);
    expect(view.regulatoryActions.length).toBe(truthOf('regulatoryActions', npn).length);
    expect(view.subscription.status).toBe('unknown');

    const text = await producer([npn]);
    expect(text.code).toBe(0);
    for (const heading of ['Licenses by state', 'Appointments by carrier', 'Addresses', 'Regulatory actions']) expect(text.out).toContain(`\n${heading}\n`);
    expect(text.out).toMatch(new RegExp(`^NPN ${npn} `));
  });

  it('answers yes for an active license with the line, and no, with the reason, for another state or after expiry', async () => {
    const { npn, license, loa } = activeLicense();
    const state = license.forState!;
    const yes = await producerJson([npn, '--state', state, '--loa', loa.loa, '--date', sim.today]);
    expect(yes.answer).toMatchObject({ allowed: true, question: { state, line: loa.loa, today: sim.today } });
    expect(yes.producer.licensesByState.map((g) => g.state)).toEqual([state]);
    expect((await producerJson([npn, '--state', state, '--loa', loa.loaCode, '--date', sim.today])).answer?.allowed).toBe(true);

    const held = new Set(truthOf('licenses', npn).map((l) => l.forState));
    const elsewhere = ['AK', 'WY', 'VT', 'HI', 'ND', 'SD', 'DE', 'RI'].find((s) => !held.has(s))!;
    const no = await producerJson([npn, '--state', elsewhere, '--loa', loa.loa]);
    expect(no.answer).toMatchObject({ allowed: false, reason: `NPN ${npn} holds no license for ${elsewhere}` });

    // Every dated license of that state has expired by then: the copy answers no, naming the expired license.
    const later = `${Number((license.expirationDate as string).slice(0, 4)) + 50}-01-01`;
    const expired = await producerJson([npn, '--state', state, '--loa', loa.loa, '--date', later]);
    expect(truthOf('licenses', npn).some((l) => l.forState === state && l.expirationDate === null), 'no perpetual license in that state').toBe(false);
    expect(expired.answer?.allowed).toBe(false);
    expect(expired.answer?.reason).toMatch(new RegExp(`no active license for ${state}: .*license \\S+ expired ${license.expirationDate as string}`));
    const text = await producer([npn, '--state', state, '--loa', loa.loa, '--date', sim.today]);
    expect(text.out).toContain(`May NPN ${npn} sell ${loa.loa} in ${state} on ${sim.today}?\n  YES: `);
  });

  it('shows a deactivated NPN as such and says no; exits 1 for an NPN the copy does not hold', async () => {
    const { npn, license, loa } = activeLicense();
    const [delivery] = await sim.notifyNpns('deactivated', [npn]);
    expect(delivery?.status).toBe(202);
    await harness.settle(60_000);
    const { producer: view, answer } = await producerJson([npn, '--state', license.forState!, '--loa', loa.loa, '--date', sim.today]);
    expect(view.subscription.status).toBe('DEACTIVATED');
    expect(answer).toMatchObject({ allowed: false, checks: [{ check: 'producer', passed: false }] });
    expect(answer?.reason).toMatch(/was deactivated on \d{4}-\d{2}-\d{2}: the copy no longer receives its updates/);
    expect((await producer([npn])).out).toContain('subscription: DEACTIVATED since');

    const missing = await producer(['9999999999']);
    expect(missing).toMatchObject({ code: 1, out: '' });
    expect(missing.err).toBe(`producersync producer: the copy has nothing for NPN 9999999999 (table ${harness.resources.dataTable})\n`);
  });
});
