import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY, LatencyModel, quantileOf } from '#sim/latency';
import { startSimulator, type RequestLogEntry, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchAllPages, fetchToken } from '#sim/testing';

const started: Simulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

async function start(opts: SimulatorOptions): Promise<Simulator> {
  const sim = await startSimulator({ npns: 40, seed: 5, ...opts });
  started.push(sim);
  return sim;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.floor(values.length * p)]!;
const apiEntries = (sim: Simulator) => sim.requests.filter((r) => r.kind === 'api');

/** Every licenses page at `size`, then the records each page request saw in the log. */
async function pageThroughLicenses(sim: Simulator, size: number): Promise<RequestLogEntry[]> {
  const token = await fetchToken(sim);
  await fetchAllPages(`${sim.url}/v2/licenses?size=${size}`, token, 'licenses');
  return apiEntries(sim);
}

describe('latency model (the distribution)', () => {
  it('hits the documented percentiles of a 1,000-record page and stays within its bounds', () => {
    const model = new LatencyModel({}, 1);
    const draws = Array.from({ length: 20_000 }, () => model.api('GET /v2/licenses?size=1000', 1000, 0).ms);
    expect(percentile(draws, 0.5)).toBeGreaterThan(585);
    expect(percentile(draws, 0.5)).toBeLessThan(615);
    expect(percentile(draws, 0.9)).toBeGreaterThan(960);
    expect(percentile(draws, 0.9)).toBeLessThan(1040);
    expect(percentile(draws, 0.99)).toBeGreaterThan(2800);
    expect(percentile(draws, 0.99)).toBeLessThan(3200);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(360);
    expect(Math.max(...draws)).toBeLessThanOrEqual(6000);
  });

  it('grows the median linearly from the empty-page floor to the 1,000-record median, keeping the tail shape', () => {
    const model = new LatencyModel({ emptyPageMs: 100 }, 1);
    expect(model.apiAt(0.5, 0)).toBe(100);
    expect(model.apiAt(0.5, 500)).toBe(350);
    expect(model.apiAt(0.5, 1000)).toBe(600);
    // The tail scales with the median: p99 / p50 is the same at every size.
    expect(model.apiAt(0.99, 0) / model.apiAt(0.5, 0)).toBeCloseTo(3000 / 600, 9);
    expect(model.apiAt(0.99, 250) / model.apiAt(0.5, 250)).toBeCloseTo(3000 / 600, 9);
    expect(quantileOf(DEFAULT_LATENCY.page1000, 1)).toBe(6000);
  });

  it('scales every latency, API and token alike, and adds a share per request in flight', () => {
    const plain = new LatencyModel({}, 1);
    const compressed = new LatencyModel({ scale: 0.1, inFlightFactor: 0.25 }, 1);
    expect(compressed.apiAt(0.7, 800)).toBeCloseTo(plain.apiAt(0.7, 800) * 0.1, 9);
    expect(compressed.tokenAt(0.7)).toBeCloseTo(plain.tokenAt(0.7) * 0.1, 9);
    expect(compressed.apiAt(0.7, 800, 4)).toBeCloseTo(plain.apiAt(0.7, 800) * 0.1 * 2, 9);
    expect(plain.tokenAt(0.5)).toBe(100);
  });

  it('weighs each served record as recordWeight records: small pages with the latency of full ones, an empty page as fast as ever', () => {
    const weighted = new LatencyModel({ recordWeight: 1000 }, 1);
    const plain = new LatencyModel({}, 1);
    expect(weighted.apiAt(0.5, 1)).toBe(plain.apiAt(0.5, 1000));
    expect(weighted.apiAt(0.9, 3)).toBe(plain.apiAt(0.9, 1000));
    expect(weighted.apiAt(0.5, 0)).toBe(150);
    expect(() => new LatencyModel({ recordWeight: 0 }, 1)).toThrow(/recordWeight/);
  });

  it('rejects parameters that make no distribution', () => {
    expect(() => new LatencyModel({ page1000: { p50: 600, p90: 500, p99: 3000 } }, 1)).toThrow(/p50 <= p90/);
    expect(() => new LatencyModel({ emptyPageMs: 700 }, 1)).toThrow(/emptyPageMs/);
    expect(() => new LatencyModel({ scale: 0 }, 1)).toThrow(/scale/);
  });
});

describe('latency model (over HTTP)', () => {
  const latency = { scale: 0.002 };

  it('is off by default: nothing chosen, nothing logged', async () => {
    const sim = await start({});
    for (const entry of await pageThroughLicenses(sim, 50)) expect(entry.latencyMs).toBeUndefined();
  });

  it('logs records and the latency chosen for every request, each exactly the model at its quantile', async () => {
    const sim = await start({ latency });
    const model = new LatencyModel(latency, 5);
    const entries = await pageThroughLicenses(sim, 50);
    expect(entries.length).toBeGreaterThan(3);
    const served = entries.map((e) => e.records!);
    expect(served.slice(0, -2).every((n) => n === 50)).toBe(true);
    expect(served.at(-1)).toBe(0);
    expect(served.reduce((a, b) => a + b, 0)).toBe(sim.groundTruth('licenses').length);
    for (const entry of entries) {
      expect(entry.latencyQuantile).toBeGreaterThanOrEqual(0);
      expect(entry.latencyQuantile).toBeLessThan(1);
      // Sequential requests: none other in flight.
      expect(entry.latencyMs).toBeCloseTo(model.apiAt(entry.latencyQuantile!, entry.records!, 0), 9);
      expect(entry.latencyMs).toBeGreaterThanOrEqual(model.apiAt(0, entry.records!));
      expect(entry.latencyMs).toBeLessThanOrEqual(model.apiAt(1, entry.records!));
    }
    const tokenEntry = sim.requests.find((r) => r.kind === 'token')!;
    expect(tokenEntry.latencyMs).toBeCloseTo(model.tokenAt(tokenEntry.latencyQuantile!), 9);
  });

  it('holds the response for the chosen time', async () => {
    const sim = await start({ latency: { scale: 0.5, emptyPageMs: 300, page1000: { p50: 300, p90: 300, p99: 300 } } });
    const token = await fetchToken(sim);
    const begin = performance.now();
    await (await fetch(`${sim.url}/v2/entities?size=1`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    const chosen = apiEntries(sim)[0]!.latencyMs!;
    expect(chosen).toBe(150);
    // A lower bound only: a busy machine can make it slower, never faster.
    expect(performance.now() - begin).toBeGreaterThanOrEqual(chosen - 2);
  });

  it('is reproducible per seed, whatever the order of the requests', async () => {
    const run = async (seed: number, reverse: boolean) => {
      const sim = await start({ seed: 5, latency: { ...latency, seed } });
      const token = await fetchToken(sim);
      const paths = ['/v2/licenses?size=10', '/v2/addresses?size=20', '/v2/appointments?size=30', '/v2/entities?size=40'];
      for (const path of reverse ? paths.reverse() : paths) await (await fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
      return Object.fromEntries(apiEntries(sim).map((e) => [e.path, e.latencyMs]));
    };
    const first = await run(11, false);
    expect(await run(11, true)).toEqual(first);
    expect(await run(12, false)).not.toEqual(first);
  });

  it('adds the in-flight share for requests that overlap', async () => {
    const options = { scale: 0.05, inFlightFactor: 1 };
    const sim = await start({ latency: options });
    const model = new LatencyModel(options, 5);
    const token = await fetchToken(sim);
    await Promise.all(
      [1, 2, 3, 4, 5].map(async (n) => (await fetch(`${sim.url}/v2/licenses?size=1000&n=${n}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer()),
    );
    const loads = apiEntries(sim).map((e) => e.latencyMs! / model.apiAt(e.latencyQuantile!, e.records!, 0) - 1);
    for (const load of loads) expect(Math.abs(load - Math.round(load))).toBeLessThan(1e-9);
    expect(Math.max(...loads)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...loads)).toBeLessThanOrEqual(4);
    // Once they are answered, nothing counts as in flight any more.
    await (await fetch(`${sim.url}/v2/licenses?size=1000&n=6`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    const after = apiEntries(sim).at(-1)!;
    expect(after.latencyMs).toBeCloseTo(model.apiAt(after.latencyQuantile!, after.records!, 0), 9);
  });
});
