import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '#sim/server';
import { fetchToken } from '#sim/testing';

const started: Simulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

async function start(opts: SimulatorOptions): Promise<{ sim: Simulator; get: (url: string) => Promise<{ status: number; type: string | null; body: unknown }> }> {
  const sim = await startSimulator({ npns: 30, seed: 2, subscriptionJobDelayMs: 5, ...opts });
  started.push(sim);
  const token = await fetchToken(sim);
  return {
    sim,
    async get(url) {
      const response = await fetch(url.startsWith('http') ? url : `${sim.url}${url}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
    },
  };
}

const tokenOf = (href: string) => new URL(href).searchParams.get('continuationToken');
const PATH = '/v1/accounts/subscriptions';

describe('GET /v1/accounts/subscriptions shapes', () => {
  it("answers {embedded: {npns}} with a self link by default (today's shape), in the envelope's spelling", async () => {
    const { sim, get } = await start({});
    const { body, type } = await get(PATH);
    expect(type).toContain('application/hal+json');
    expect(body).toEqual({ embedded: { npns: sim.subscribedNpns() }, links: { self: { href: `${sim.url}${PATH}` } } });
    const underscored = await start({ envelope: '_embedded' });
    expect((await underscored.get(PATH)).body).toEqual({ _embedded: { npns: underscored.sim.subscribedNpns() }, _links: { self: { href: `${underscored.sim.url}${PATH}` } } });
  });

  it("'array' answers a plain JSON array and 'npns' an {npns} object", async () => {
    const array = await start({ subscriptionList: 'array' });
    expect((await array.get(PATH)).body).toEqual(array.sim.subscribedNpns());
    const npns = await start({ subscriptionList: 'npns' });
    expect((await npns.get(PATH)).body).toEqual({ npns: npns.sim.subscribedNpns() });
  });

  it("'paged' pages the list by size with links.next and the v2 end rules", async () => {
    const { sim, get } = await start({ subscriptionList: 'paged' });
    type Page = { embedded?: { npns: string[] }; links: { self: { href: string }; next: { href: string } } };
    const pages: Page[] = [];
    let url = `${PATH}?size=7`;
    for (let guard = 0; guard < 20; guard++) {
      const page = (await get(url)).body as Page;
      pages.push(page);
      if (!page.embedded || tokenOf(page.links.next.href) === '0') break;
      url = page.links.next.href;
    }
    expect(pages.flatMap((p) => p.embedded?.npns ?? [])).toEqual(sim.subscribedNpns());
    expect(pages.map((p) => p.embedded?.npns.length ?? 0)).toEqual([7, 7, 7, 7, 2, 0]);
    expect(tokenOf(pages[0]!.links.self.href)).toBe('0');
    expect(new URL(pages[0]!.links.next.href).searchParams.get('size')).toBe('7');
    const end = pages.at(-1)!;
    expect(tokenOf(end.links.next.href)).toBe('0');
    expect(tokenOf(end.links.self.href)).toBe(tokenOf(pages.at(-2)!.links.next.href));
    // Without a size, pages hold 250 like the v2 lists; a bad size is a Spring 400.
    expect(((await get(PATH)).body as Page).embedded?.npns).toHaveLength(30);
    expect((await get(`${PATH}?size=0`)).status).toBe(400);
  });

  it("'paged' answers an empty list with links only, self and next at 0", async () => {
    const { sim, get } = await start({ subscriptionList: 'paged' });
    const token = await fetchToken(sim);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await fetch(`${sim.url}${PATH}`, { method: 'POST', headers, body: '[]' });
    while (sim.subscribedNpns().length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const { body } = await get(PATH);
    expect(body).toEqual({ links: { self: { href: `${sim.url}${PATH}?continuationToken=0` }, next: { href: `${sim.url}${PATH}?continuationToken=0` } } });
  });
});
