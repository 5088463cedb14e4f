import { describe, expect, it } from 'vitest';
import { embeddedKeyForUrl, firstPageUrl, parsePage } from '#producersync/paginator';

const BASE = 'https://api.sandbox.agentsync.io';

describe('firstPageUrl', () => {
  it('builds /v2/<name> with updatedSince, comma-joined npns, size and includeDeleted', () => {
    const url = new URL(firstPageUrl(BASE, 'licenses', { updatedSince: '2025-07-24', npns: ['15645555', '19855109'], size: 1000, includeDeleted: true }));
    expect(url.origin + url.pathname).toBe(`${BASE}/v2/licenses`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ updatedSince: '2025-07-24', npns: '15645555,19855109', size: '1000', includeDeleted: 'true' });
  });

  it('defaults size to 1000, omits absent filters and keeps a base path prefix', () => {
    expect(firstPageUrl(`${BASE}/`, 'entities')).toBe(`${BASE}/v2/entities?size=1000`);
    expect(firstPageUrl('http://127.0.0.1:8080/prefix', 'contactInfos', { npns: [] })).toBe('http://127.0.0.1:8080/prefix/v2/contactInfos?size=1000');
  });
});

describe('parsePage', () => {
  const next = (token: string) => `https://access.agentsync.io/v2/licenses?size=2&continuationToken=${token}`;

  it('reads embedded/links and follows next.href as given, even on another host', () => {
    const page = parsePage(
      { embedded: { licenses: [{ id: 1 }, { id: 2 }] }, links: { self: { href: `${BASE}/v2/licenses?size=2` }, next: { href: next('11862929') } } },
      'licenses',
      BASE,
    );
    expect(page).toEqual({ records: [{ id: 1 }, { id: 2 }], nextUrl: next('11862929'), selfUrl: `${BASE}/v2/licenses?size=2` });
  });

  it('reads the _embedded/_links spelling the same way', () => {
    const page = parsePage({ _embedded: { licenses: [{ id: 3 }] }, _links: { next: { href: next('7') } } }, 'licenses', BASE);
    expect(page.records).toEqual([{ id: 3 }]);
    expect(page.nextUrl).toBe(next('7'));
  });

  it('stops on continuationToken=0, a missing next, a missing or empty collection', () => {
    const records = { licenses: [{ id: 1 }] };
    expect(parsePage({ embedded: records, links: { next: { href: next('0') } } }, 'licenses').nextUrl).toBeNull();
    expect(parsePage({ embedded: records, links: { self: { href: next('5') } } }, 'licenses').nextUrl).toBeNull();
    expect(parsePage({ embedded: records }, 'licenses').nextUrl).toBeNull();
    // The documented last page: no embedded at all, next at token 0.
    expect(parsePage({ links: { self: { href: next('99') }, next: { href: next('0') } } }, 'licenses')).toEqual({ records: [], nextUrl: null, selfUrl: next('99') });
    // Empty collection with a non-zero next token still ends (nothing more to read).
    expect(parsePage({ embedded: { licenses: [] }, links: { next: { href: next('5') } } }, 'licenses').nextUrl).toBeNull();
    expect(parsePage({ embedded: {}, links: { next: { href: next('5') } } }, 'licenses')).toMatchObject({ records: [], nextUrl: null });
    expect(parsePage(null, 'licenses')).toEqual({ records: [], nextUrl: null });
  });

  it('does not mistake continuationToken=05 or =10 for the end', () => {
    expect(parsePage({ embedded: { licenses: [{ id: 1 }] }, links: { next: { href: next('10') } } }, 'licenses').nextUrl).toBe(next('10'));
  });

  it('resolves a relative next href against the API base URL', () => {
    const page = parsePage({ embedded: { licenses: [{ id: 1 }] }, links: { next: { href: '/v2/licenses?continuationToken=42' } } }, 'licenses', BASE);
    expect(page.nextUrl).toBe(`${BASE}/v2/licenses?continuationToken=42`);
  });

  it('uses the only array in embedded when the collection key differs, and passes records through untouched', () => {
    const odd = [{ id: 1 }, 'not an object', null];
    expect(parsePage({ embedded: { licenseList: odd } }, 'licenses').records).toEqual(odd);
    expect(parsePage({ embedded: { a: [1], b: [2] } }, 'licenses').records).toEqual([]);
  });
});

describe('embeddedKeyForUrl', () => {
  it('is the last path segment of a list URL', () => {
    expect(embeddedKeyForUrl(`${BASE}/v2/licenses?continuationToken=5`)).toBe('licenses');
    expect(embeddedKeyForUrl(`${BASE}/v2/entities/15645555/regulatoryActions`)).toBe('regulatoryActions');
  });
});
