/**
 * The ProducerSync API client: every request goes through the rate budget, carries the cached
 * token (one refresh after a 401), retries 429/5xx/transport failures with backoff, and hands a wait
 * longer than the caller allows back as `RateLimitedError`. Pages are read by the paginator.
 */
import { sharedTokenCache, type TokenCache } from '@producersync/token-cache';
import { numberEnv } from '#commons/env';
import { logger } from '#commons/logger';
import type { ProducerSyncCredentials } from '#producersync/credentials';
import { API_LIMITS, isEndpointName, type EndpointName } from '#producersync/endpoints';
import { MalformedResponseError, ProducerSyncHttpError, RateLimitedError, safePath } from '#producersync/errors';
import { request, type HttpResponse } from '#producersync/http';
import { embeddedKeyForUrl, firstPageUrl, parsePage, type FirstPageOptions, type Page } from '#producersync/paginator';
import { createLocalRateBudget, readServerRateState, type RateBudget } from '#producersync/rate-budget';
import { DEFAULT_RETRY, isRetryable, retryAfterOf, withRetry, type RetryOptions } from '#producersync/retry';

/** Options of `createProducerSyncClient`. */
export interface ProducerSyncClientOptions {
  credentials: ProducerSyncCredentials;
  /** API request budget; default: an in-process budget of API_REQUESTS_PER_MINUTE (300). */
  rateBudget?: RateBudget;
  /** Token endpoint budget; default: an in-process budget of TOKEN_REQUESTS_PER_MINUTE (200). Ignored when `tokenCache` is given. */
  tokenRateBudget?: RateBudget;
  /** Default: the container-wide `sharedTokenCache` for these credentials. */
  tokenCache?: TokenCache;
  retry?: Partial<RetryOptions>;
  /** Per-request headers and body timeout (default 30 s). */
  timeoutMs?: number;
  /**
   * Longest wait (a 429's Retry-After, or the rate budget's next slot) spent sleeping inside
   * the client; longer ones throw `RateLimitedError` so the caller can wait elsewhere
   * (the sync engine hands it to a Step Functions Wait). Default 30.
   */
  maxInlineWaitSeconds?: number;
}

/** A query parameter value (lists are joined with commas; undefined is left out). */
export type QueryValue = string | number | boolean | readonly string[] | undefined;

/** Options of one `fetchPage`. */
export interface FetchPageOptions extends FirstPageOptions {
  /** Collection key inside `embedded`; default: the endpoint name, or the last path segment of the URL. */
  embeddedKey?: string;
}

/** Options of `paginate`: those of the first page. */
export type PaginateOptions = FirstPageOptions;

/** What a client has sent so far. */
export interface ClientStats {
  /** HTTP requests sent to the API (token requests not included). */
  requests: number;
  /** 429 answers received. */
  throttled: number;
  /** Retries after a retryable failure (401 token refreshes not included). */
  retries: number;
  /** Token requests made through this client's token cache since the client was created. */
  tokenRefreshes: number;
}

/** The client. */
export interface ProducerSyncClient {
  getJson<T = unknown>(pathOrAbsoluteUrl: string, query?: Readonly<Record<string, QueryValue>>): Promise<{ body: T; headers: Record<string, string> }>;
  /** A JSON write (subscriptions). The body of the answer is parsed when there is one, else null. */
  sendJson<T = unknown>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown): Promise<{ status: number; body: T | null }>;
  /** One page: the first page of an endpoint (built from `options`) or a page URL (a `links.next.href`). */
  fetchPage(target: EndpointName | string, options?: FetchPageOptions): Promise<Page>;
  /** Every page of an endpoint, following `next` until the stop rule says the end. */
  paginate(endpoint: EndpointName, options?: PaginateOptions): AsyncGenerator<Page>;
  stats(): ClientStats;
  /** Token requests since the previous call (the TokenRefreshes metric). */
  takeTokenRefreshes(): number;
}

/** Per-request headers and body timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Longest wait spent sleeping inside the client. */
export const DEFAULT_MAX_INLINE_WAIT_SECONDS = 30;

/** A client for one set of credentials. */
export function createProducerSyncClient(options: ProducerSyncClientOptions): ProducerSyncClient {
  const { credentials } = options;
  const apiBaseUrl = credentials.apiBaseUrl.replace(/\/+$/, '');
  const maxInlineWaitSeconds = options.maxInlineWaitSeconds ?? DEFAULT_MAX_INLINE_WAIT_SECONDS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const rateBudget = options.rateBudget ?? createLocalRateBudget({ perMinute: numberEnv('API_REQUESTS_PER_MINUTE', API_LIMITS.apiRequestsPerMinute) });
  const tokenCache = options.tokenCache ?? defaultTokenCache(credentials, options.tokenRateBudget);
  const counters = { requests: 0, throttled: 0, retries: 0 };
  const retryOptions: RetryOptions = {
    ...DEFAULT_RETRY,
    ...options.retry,
    // A Retry-After (429, 503, token endpoint) longer than we may sleep here goes back to the caller at once.
    retryable: (error) => (options.retry?.retryable ?? isRetryable)(error) && !((retryAfterOf(error) ?? 0) > maxInlineWaitSeconds),
    onRetry: (info) => {
      counters.retries++;
      logger.warn('ProducerSync request failed, retrying', { attempt: info.attempt, delayMs: info.delayMs, error: describe(info.error) });
      options.retry?.onRetry?.(info);
    },
  };

  const tokenRequestsAtStart = tokenCache.stats().requests;
  let tokenRequestsTaken = tokenRequestsAtStart;

  /**
   * One logical call: budget → token → request → observe; a 401 refreshes the token and
   * tries once more; 429/5xx/transport/malformed failures go through `withRetry`.
   * `interpret` runs inside the attempt, so a malformed 200 is retried like a 5xx.
   */
  async function exchange<T>(method: string, url: string, body: string | undefined, interpret: (response: HttpResponse) => T): Promise<T> {
    const path = safePath(url);
    let refreshedAfter401 = false;
    return withRetry(async () => {
      for (;;) {
        await rateBudget.take({ maxWaitSeconds: maxInlineWaitSeconds });
        const token = await tokenCache.getToken();
        counters.requests++;
        const response = await request(url, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body,
          timeoutMs,
        });
        // On a 429 the Retry-After is the authority (its window headers may say "0 left for a minute").
        if (response.status !== 429) rateBudget.observe(response.headers);
        if (response.status === 401 && !refreshedAfter401) {
          // Expired or revoked: one fresh token, one more try. Other callers holding the same
          // token share the refresh (invalidate only drops it if it is still this token).
          refreshedAfter401 = true;
          tokenCache.invalidate(token);
          logger.info('ProducerSync answered 401, refreshing the token once', { path });
          continue;
        }
        if (response.status === 429) {
          counters.throttled++;
          const waitSeconds = retryAfterSeconds(response) ?? 1;
          rateBudget.penalize(waitSeconds);
          throw new RateLimitedError(waitSeconds, path, 'server');
        }
        if (response.status < 200 || response.status > 299) {
          throw new ProducerSyncHttpError(response.status, path, apiErrorMessage(response.bodyText), retryAfterSeconds(response));
        }
        return interpret(response);
      }
    }, retryOptions);
  }

  function resolveUrl(pathOrAbsoluteUrl: string, query?: Readonly<Record<string, QueryValue>>): string {
    const url = new URL(/^https?:\/\//i.test(pathOrAbsoluteUrl) ? pathOrAbsoluteUrl : `${apiBaseUrl}${pathOrAbsoluteUrl.startsWith('/') ? '' : '/'}${pathOrAbsoluteUrl}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      url.searchParams.set(name, Array.isArray(value) ? value.join(',') : String(value));
    }
    return url.toString();
  }

  async function fetchPage(target: EndpointName | string, pageOptions: FetchPageOptions = {}): Promise<Page> {
    const url = isEndpointName(target) ? firstPageUrl(apiBaseUrl, target, pageOptions) : resolveUrl(target);
    const embeddedKey = pageOptions.embeddedKey ?? (isEndpointName(target) ? target : embeddedKeyForUrl(url)) ?? '';
    return exchange('GET', url, undefined, (response) => {
      const body = parseJson(response, url);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MalformedResponseError(safePath(url), 'page body is not a JSON object');
      return parsePage(body, embeddedKey, apiBaseUrl);
    });
  }

  return {
    getJson<T>(pathOrAbsoluteUrl: string, query?: Readonly<Record<string, QueryValue>>) {
      const url = resolveUrl(pathOrAbsoluteUrl, query);
      return exchange('GET', url, undefined, (response) => ({ body: parseJson(response, url) as T, headers: response.headers }));
    },
    sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown) {
      const url = resolveUrl(path);
      return exchange(method, url, JSON.stringify(body), (response) => ({
        status: response.status,
        body: response.bodyText.trim() === '' ? null : (parseJson(response, url) as T),
      }));
    },
    fetchPage,
    async *paginate(endpoint: EndpointName, paginateOptions: PaginateOptions = {}): AsyncGenerator<Page> {
      let url: string | null = firstPageUrl(apiBaseUrl, endpoint, paginateOptions);
      while (url !== null) {
        const page: Page = await fetchPage(url, { embeddedKey: endpoint });
        yield page;
        // A cursor that does not move would page forever.
        if (page.nextUrl === url) throw new MalformedResponseError(safePath(url), 'next page link repeats the current page');
        url = page.nextUrl;
      }
    },
    stats(): ClientStats {
      return { ...counters, tokenRefreshes: tokenCache.stats().requests - tokenRequestsAtStart };
    },
    takeTokenRefreshes(): number {
      const total = tokenCache.stats().requests;
      const since = total - tokenRequestsTaken;
      tokenRequestsTaken = total;
      return since;
    },
  };
}

function defaultTokenCache(credentials: ProducerSyncCredentials, tokenRateBudget: RateBudget | undefined): TokenCache {
  const budget = tokenRateBudget ?? createLocalRateBudget({ perMinute: numberEnv('TOKEN_REQUESTS_PER_MINUTE', API_LIMITS.tokenRequestsPerMinute) });
  return sharedTokenCache({
    tokenUrl: credentials.tokenUrl,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    ...(credentials.scope ? { scope: credentials.scope } : {}),
    refreshMarginSeconds: API_LIMITS.tokenRefreshMarginSeconds,
    beforeTokenRequest: () => budget.take(),
  });
}

function parseJson(response: HttpResponse, url: string): unknown {
  try {
    return JSON.parse(response.bodyText) as unknown;
  } catch {
    throw new MalformedResponseError(safePath(url), `HTTP ${response.status} body is not valid JSON (${response.bodyText.length} bytes)`);
  }
}

/**
 * Seconds to wait from a 429/503: `Retry-After` (seconds or HTTP date), else the body's
 * `retry_after`, else the rate-limit reset headers.
 */
export function retryAfterSeconds(response: HttpResponse, nowMs = Date.now()): number | undefined {
  const header = response.headers['retry-after'];
  if (header !== undefined && header.trim() !== '') {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, (at - nowMs) / 1000);
  }
  try {
    const body = JSON.parse(response.bodyText) as { retry_after?: unknown } | null;
    if (typeof body?.retry_after === 'number' && body.retry_after >= 0) return body.retry_after;
  } catch {
    // Not JSON: fall through to the headers.
  }
  if (response.status !== 429) return undefined;
  const state = readServerRateState(response.headers, nowMs);
  return state ? Math.max(0, (state.resetAtMs - nowMs) / 1000) : undefined;
}

/** The API's explanation from a Spring-style (`message`) or OAuth-style (`error_description`, `error`) body, capped. */
function apiErrorMessage(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown> | null;
    const message = body?.message ?? body?.error_description ?? body?.error;
    return typeof message === 'string' && message !== '' ? message.slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
