/**
 * The paginator of the v2 list endpoints: the first page's URL, and reading a page body with the
 * documented stop rule (producersync-api.md §3.2), tolerant of every variant the API is known to send.
 */
import { ENDPOINTS, type EndpointName } from '#producersync/endpoints';

/**
 * One page of a v2 list endpoint. `records` are passed through exactly as received (not
 * validated: the sync engine checks and quarantines bad ones). `nextUrl` is null on the last page.
 */
export interface Page {
  records: Record<string, unknown>[];
  nextUrl: string | null;
  selfUrl?: string;
}

/** The query of a first page. */
export interface FirstPageOptions {
  /** `yyyy-MM-dd`; records with `updatedAt` on or after it. */
  updatedSince?: string;
  npns?: readonly string[];
  /** 1..1000; default 1000 (the API's own default is 250). */
  size?: number;
  /** The API defaults to true; sent only when given. */
  includeDeleted?: boolean;
}

/** Records per page unless asked otherwise (the API's own default is 250). */
export const DEFAULT_PAGE_SIZE = 1000;

/** `<apiBaseUrl>/v2/<name>?updatedSince=..&npns=a,b&size=1000[&includeDeleted=..]`. */
export function firstPageUrl(apiBaseUrl: string, endpoint: EndpointName, options: FirstPageOptions = {}): string {
  // Concatenated, not resolved, so a base URL with a path prefix keeps it.
  const url = new URL(`${apiBaseUrl.replace(/\/+$/, '')}${ENDPOINTS[endpoint].path}`);
  const query = new URLSearchParams();
  if (options.updatedSince) query.set('updatedSince', options.updatedSince);
  if (options.npns && options.npns.length > 0) query.set('npns', options.npns.join(','));
  query.set('size', String(options.size ?? DEFAULT_PAGE_SIZE));
  if (options.includeDeleted !== undefined) query.set('includeDeleted', String(options.includeDeleted));
  url.search = query.toString();
  return url.toString();
}

/**
 * Reads a page body, tolerant of `embedded`/`_embedded`, `links`/`_links`, a missing collection
 * key and missing links. Stop rule (producersync-api.md §3.2): no next page when the collection
 * is absent or empty, when `next.href` carries `continuationToken=0`, or when there is no `next`.
 * `next.href` is followed as given (absolute, on whatever host); a relative href is resolved
 * against `apiBaseUrl`.
 */
export function parsePage(body: unknown, embeddedKey: string, apiBaseUrl?: string): Page {
  const envelope = isObject(body) ? body : {};
  const records = collection(envelope.embedded ?? envelope._embedded, embeddedKey);
  const links = isObject(envelope.links) ? envelope.links : isObject(envelope._links) ? envelope._links : {};
  const nextHref = hrefOf(links.next);
  const selfHref = hrefOf(links.self);
  const next = nextHref === undefined ? undefined : resolveHref(nextHref, apiBaseUrl);
  const nextUrl = records.length === 0 || next === undefined || isEndToken(next) ? null : next;
  const page: Page = { records, nextUrl };
  if (selfHref !== undefined) page.selfUrl = resolveHref(selfHref, apiBaseUrl);
  return page;
}

/**
 * The collection key for a page URL: the last path segment of a v2 list path
 * (`/v2/licenses`, `/v2/entities/{npn}/licenses` → `licenses`).
 */
export function embeddedKeyForUrl(url: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  return pathname.split('/').filter(Boolean).at(-1);
}

function collection(embedded: unknown, key: string): Record<string, unknown>[] {
  if (!isObject(embedded)) return [];
  const named = embedded[key];
  if (Array.isArray(named)) return named as Record<string, unknown>[];
  // A differently named collection (e.g. a renamed key): use it when it is the only array.
  const arrays = Object.values(embedded).filter(Array.isArray);
  return arrays.length === 1 ? (arrays[0] as Record<string, unknown>[]) : [];
}

function hrefOf(link: unknown): string | undefined {
  if (typeof link === 'string') return link || undefined;
  if (isObject(link) && typeof link.href === 'string' && link.href !== '') return link.href;
  return undefined;
}

function resolveHref(href: string, apiBaseUrl: string | undefined): string {
  if (/^https?:\/\//i.test(href)) return href;
  if (!apiBaseUrl) throw new Error(`relative link ${href} needs the API base URL to be resolved`);
  return new URL(href, withTrailingSlash(apiBaseUrl)).toString();
}

function isEndToken(url: string): boolean {
  try {
    return new URL(url).searchParams.get('continuationToken') === '0';
  } catch {
    return /[?&]continuationToken=0(&|$)/.test(url);
  }
}

function withTrailingSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
