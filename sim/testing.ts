import type { Simulator } from './server.ts';

/**
 * Minimal raw-HTTP helpers for tests that exercise the simulator itself (the product's real
 * client lives in lambdas/producersync). They follow the API's documented rules literally.
 */
export async function fetchToken(sim: Simulator, credentials = { clientId: 'local', clientSecret: 'local' }): Promise<string> {
  const response = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret }),
  });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export interface PageBody {
  embedded?: Record<string, unknown[]>;
  links: { self: { href: string }; next: { href: string } };
}

/** Follows links.next.href until a response without `embedded` or a next token of 0; returns every record and page body. */
export async function fetchAllPages(firstUrl: string, token: string, key: string): Promise<{ records: Record<string, unknown>[]; pages: PageBody[] }> {
  const records: Record<string, unknown>[] = [];
  const pages: PageBody[] = [];
  let url = firstUrl;
  for (let guard = 0; guard < 100_000; guard++) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`GET ${url} → ${response.status} ${await response.text()}`);
    const body = (await response.json()) as PageBody;
    pages.push(body);
    const items = body.embedded?.[key];
    if (!items || items.length === 0) return { records, pages };
    records.push(...(items as Record<string, unknown>[]));
    if (new URL(body.links.next.href).searchParams.get('continuationToken') === '0') return { records, pages };
    url = body.links.next.href;
  }
  throw new Error('pagination did not end');
}
