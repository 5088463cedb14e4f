/**
 * `GET /v1/accounts/subscriptions`: the account's active NPNs. Its response shape is not
 * documented (producersync-api.md §2.2, §8.3), so each plausible shape is an option:
 * - `embedded` (default): `{embedded: {npns: [...]}, links: {self}}`, the whole list at once;
 * - `array`: a plain JSON array of NPN strings;
 * - `npns`: `{npns: [...]}`;
 * - `paged`: the `embedded` envelope served in pages of `size` (default 250, 1..1,000) with
 *   `links.next.href` and the v2 end rules: the request past the last page has no `embedded`
 *   and next token 0; a list without NPNs has self and next at 0.
 * The `embedded` and `paged` shapes follow the envelope option (`_embedded`/`_links`).
 */
import type { SimDataset } from './data.ts';
import { HAL_JSON, JSON_TYPE, springError, type Reply } from './http.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './query.ts';

export type SubscriptionListShape = 'embedded' | 'array' | 'npns' | 'paged';
export const SUBSCRIPTION_LIST_SHAPES: readonly SubscriptionListShape[] = ['embedded', 'array', 'npns', 'paged'];

export interface SubscriptionListContext {
  readonly url: string;
  readonly dataset: SimDataset;
  readonly embeddedKey: 'embedded' | '_embedded';
  readonly linksKey: 'links' | '_links';
  readonly subscriptionList: SubscriptionListShape;
}

export function subscriptionListReply(ctx: SubscriptionListContext, path: string, params: URLSearchParams): Reply {
  const self = `${ctx.url}${path}`;
  switch (ctx.subscriptionList) {
    case 'array':
      return { status: 200, contentType: JSON_TYPE, body: ctx.dataset.subscribedNpns() };
    case 'npns':
      return { status: 200, contentType: JSON_TYPE, body: { npns: ctx.dataset.subscribedNpns() } };
    case 'embedded':
      return { status: 200, contentType: HAL_JSON, body: { [ctx.embeddedKey]: { npns: ctx.dataset.subscribedNpns() }, [ctx.linksKey]: { self: { href: self } } } };
    case 'paged':
      return pagedList(ctx, path, params);
  }
}

/** Keyset pages over the list in subscription order; the token is the position after the page's last NPN (never 0). */
function pagedList(ctx: SubscriptionListContext, path: string, params: URLSearchParams): Reply {
  const sizeRaw = params.get('size');
  const size = sizeRaw === null ? DEFAULT_PAGE_SIZE : Number(sizeRaw);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) return springError(400, `size must be between 1 and ${MAX_PAGE_SIZE}, got [${sizeRaw}]`, path);
  const tokenRaw = params.get('continuationToken');
  const after = tokenRaw === null || tokenRaw === '' ? 0 : Number(tokenRaw);
  if (!Number.isSafeInteger(after) || after < 0) return springError(400, `Invalid continuationToken [${tokenRaw}]`, path);
  const href = (token: number) => {
    const query = new URLSearchParams(params);
    query.set('continuationToken', String(token));
    return { href: `${ctx.url}${path}?${query.toString()}` };
  };
  const page = ctx.dataset.subscribedNpnsAfter(after, size);
  const links = { self: href(after), next: href(page.npns.length === 0 ? 0 : page.last) };
  const body = page.npns.length === 0 ? { [ctx.linksKey]: links } : { [ctx.embeddedKey]: { npns: page.npns }, [ctx.linksKey]: links };
  return { status: 200, contentType: HAL_JSON, body };
}
