import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchAllPages, fetchToken } from '#sim/testing';

const started: Simulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

async function start(opts: SimulatorOptions): Promise<{ sim: Simulator; token: string }> {
  const sim = await startSimulator({ npns: 80, seed: 9, ...opts });
  started.push(sim);
  return { sim, token: await fetchToken(sim) };
}

const tokenOf = (href: string) => Number(new URL(href).searchParams.get('continuationToken'));

describe('short pages', () => {
  it('pageSizeCap serves at most the cap whatever size asked; tokens stay the last id served', async () => {
    const { sim, token } = await start({ pageSizeCap: 70 });
    const { records, pages } = await fetchAllPages(`${sim.url}/v2/appointments?size=1000`, token, 'appointments');
    expect(records).toEqual(sim.groundTruth('appointments'));
    const sizes = pages.map((p) => p.embedded?.appointments?.length ?? 0);
    expect(sizes.length).toBeGreaterThan(3);
    expect(sizes.slice(0, -2).every((n) => n === 70)).toBe(true);
    for (const page of pages.slice(0, -1)) expect(tokenOf(page.links.next.href)).toBe((page.embedded!.appointments!.at(-1) as { id: number }).id);
    // A smaller size than the cap is served as asked.
    const small = await fetchAllPages(`${sim.url}/v2/appointments?size=30`, token, 'appointments');
    expect(small.pages[0]!.embedded?.appointments).toHaveLength(30);
  });

  it('shortPageFraction serves a share of pages below the asked size, never empty before the end, losing nothing', async () => {
    const { sim, token } = await start({ shortPageFraction: 0.5 });
    const { records, pages } = await fetchAllPages(`${sim.url}/v2/licenses?size=25`, token, 'licenses');
    expect(records).toEqual(sim.groundTruth('licenses'));
    const sizes = pages.slice(0, -2).map((p) => p.embedded!.licenses!.length);
    const short = sizes.filter((n) => n < 25);
    expect(short.length).toBeGreaterThan(sizes.length * 0.25);
    expect(short.length).toBeLessThan(sizes.length * 0.75);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
    const logged = sim.requests.filter((r) => r.kind === 'api').map((r) => r.records);
    expect(logged).toEqual(pages.map((p) => p.embedded?.licenses?.length ?? 0));
  });

  it('serves the same page for the same URL, and the same page sizes for the same seed', async () => {
    const sizesOf = async () => {
      const { sim, token } = await start({ shortPageFraction: 0.5 });
      const { pages } = await fetchAllPages(`${sim.url}/v2/addresses?size=40`, token, 'addresses');
      const retry = await fetch(pages[1]!.links.self.href, { headers: { authorization: `Bearer ${token}` } });
      expect(await retry.json()).toEqual(pages[1]);
      return pages.map((p) => p.embedded?.addresses?.length ?? 0);
    };
    const first = await sizesOf();
    expect(first.some((n, i) => n < 40 && i < first.length - 2)).toBe(true);
    expect(await sizesOf()).toEqual(first);
  });

  it('serves full pages by default', async () => {
    const { sim, token } = await start({});
    const { pages } = await fetchAllPages(`${sim.url}/v2/licenses?size=25`, token, 'licenses');
    expect(pages.slice(0, -2).every((p) => p.embedded!.licenses!.length === 25)).toBe(true);
  });

  it('rejects a cap or fraction outside their range', async () => {
    await expect(startSimulator({ pageSizeCap: 0 })).rejects.toThrow(/pageSizeCap/);
    await expect(startSimulator({ shortPageFraction: 2 })).rejects.toThrow(/shortPageFraction/);
  });
});
