import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerSyncClient, type ProducerSyncClient } from '#producersync/client';
import { createLocalRateBudget } from '#producersync/rate-budget';
import {
  addSubscriptions,
  getJobDetails,
  getJobStatus,
  listSubscriptions,
  removeSubscriptions,
  replaceSubscriptions,
  SUBSCRIPTION_BATCH_SIZE,
  waitForJob,
} from '#producersync/subscriptions';
import { startSimulator, type Simulator } from '#sim/server';

for (const envelope of ['embedded', '_embedded'] as const) {
  describe(`subscriptions against the simulator (${envelope})`, () => {
    let sim: Simulator;
    let client: ProducerSyncClient;
    beforeAll(async () => {
      sim = await startSimulator({ npns: 12, envelope, subscriptionJobDelayMs: 30, rateLimit: { apiPerMinute: 100_000 } });
      client = createProducerSyncClient({
        credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
        rateBudget: createLocalRateBudget({ perMinute: 600_000 }),
      });
    });
    afterAll(() => sim.close());

    it('lists the subscribed NPNs', async () => {
      expect((await listSubscriptions(client)).sort()).toEqual(sim.subscribedNpns().sort());
    });

    it('adds (PUT), waits for the job, reads its details, removes (DELETE) and replaces (POST)', async () => {
      const before = await listSubscriptions(client);
      const [job] = await addSubscriptions(client, ['11112222', '33334444']);
      expect(job).toMatchObject({ success: true, npnCount: 2 });
      expect(job?.jobId).toMatch(/^[0-9a-f-]{36}$/);
      const status = await waitForJob(client, job!.jobId!, { pollMs: 20, timeoutMs: 5_000 });
      expect(status).toMatchObject({ id: job!.jobId, done: true, status: 'COMPLETED' });
      expect(status.details).toMatchObject({ total: 2 });
      const details = await getJobDetails(client, job!.jobId!);
      expect(details.results.map((r) => r.npn).sort()).toEqual(['11112222', '33334444']);
      expect(await listSubscriptions(client)).toEqual(expect.arrayContaining(['11112222', '33334444', ...before]));

      const [removal] = await removeSubscriptions(client, ['11112222']);
      await waitForJob(client, removal!.jobId!, { pollMs: 20, timeoutMs: 5_000 });
      expect(await listSubscriptions(client)).not.toContain('11112222');

      const [replacement] = await replaceSubscriptions(client, ['15645555', '19855109']);
      await waitForJob(client, replacement!.jobId!, { pollMs: 20, timeoutMs: 5_000 });
      expect((await listSubscriptions(client)).sort()).toEqual(['15645555', '19855109']);
      expect(sim.subscribedNpns().sort()).toEqual(['15645555', '19855109']);
    });

    it('reports an in-progress job as not done and times out waiting for it', async () => {
      // A job that stays in progress for the whole test.
      const slow = await startSimulator({ npns: 3, envelope, subscriptionJobDelayMs: 600_000 });
      try {
        const slowClient = createProducerSyncClient({
          credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: slow.tokenUrl, apiBaseUrl: slow.apiBaseUrl },
          rateBudget: createLocalRateBudget({ perMinute: 600_000 }),
        });
        const [job] = await addSubscriptions(slowClient, ['55556666']);
        expect(await getJobStatus(slowClient, job!.jobId!)).toMatchObject({ done: false, status: 'IN_PROGRESS' });
        let now = 0;
        await expect(
          waitForJob(slowClient, job!.jobId!, { pollMs: 1_000, timeoutMs: 1_500, now: () => now, sleep: async (ms) => void (now += ms) }),
        ).rejects.toThrow(/still IN_PROGRESS/);
      } finally {
        await slow.close();
      }
    });
  });
}

describe('batching', () => {
  it('splits large lists into batches of 10,000; a replace is one POST then PUTs', async () => {
    const sent: { method: string; count: number }[] = [];
    const fake = {
      sendJson: async (method: string, _path: string, body: unknown) => {
        sent.push({ method, count: (body as string[]).length });
        return { status: 200, body: { success: true, message: 'Job is in progress', jobId: `job-${sent.length}` } };
      },
    } as unknown as ProducerSyncClient;
    const npns = Array.from({ length: 2 * SUBSCRIPTION_BATCH_SIZE + 5 }, (_, i) => String(10_000_000 + i));

    const added = await addSubscriptions(fake, npns);
    expect(sent).toEqual([
      { method: 'PUT', count: 10_000 },
      { method: 'PUT', count: 10_000 },
      { method: 'PUT', count: 5 },
    ]);
    expect(added.map((j) => j.jobId)).toEqual(['job-1', 'job-2', 'job-3']);

    sent.length = 0;
    await replaceSubscriptions(fake, npns);
    expect(sent.map((s) => s.method)).toEqual(['POST', 'PUT', 'PUT']);

    sent.length = 0;
    await removeSubscriptions(fake, npns.slice(0, 3));
    expect(sent).toEqual([{ method: 'DELETE', count: 3 }]);
  });
});
