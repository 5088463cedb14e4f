/**
 * @producersync/token-cache: the ProducerSync OAuth2 access token, fetched once and reused by
 * every caller in a Lambda container until shortly before it expires (AgentSync asks clients
 * to reuse tokens; the token endpoint allows 200 requests per minute).
 *
 * Shipped as a Lambda layer and bundled on its own, so it imports nothing from the repo.
 */

/** What a client-credentials token request sends. */
export interface TokenRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

/** An access token and how long it lives. */
export interface TokenGrant {
  accessToken: string;
  expiresInSeconds: number;
}

/** Why a token was requested: none yet, the current one expiring, or a 401 invalidated it. */
export type TokenRequestReason = 'initial' | 'expiring' | 'invalidated';

/** Options of `createTokenCache`. */
export interface TokenCacheOptions extends TokenRequest {
  /** Replaces the HTTP token call (tests, other grant flows). */
  fetchToken?: (request: TokenRequest) => Promise<TokenGrant>;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
  /** Refresh this long before expiry (capped at half the token lifetime, so short-lived tokens are still reused). */
  refreshMarginSeconds?: number;
  /** Called once per token request actually sent (metrics). */
  onTokenRequest?: (event: { reason: TokenRequestReason }) => void;
  /** Awaited before each token request, e.g. the token endpoint's rate budget. */
  beforeTokenRequest?: () => Promise<void>;
  /** Timeout of one token HTTP request. */
  timeoutMs?: number;
}

/** What a cache has done so far. */
export interface TokenCacheStats {
  /** Token requests sent so far (failed ones included). */
  requests: number;
  /** A token is held and not yet due for refresh. */
  cached: boolean;
  /** Epoch ms at which the held token expires, null when none is held. */
  expiresAt: number | null;
}

/** One cached token, shared by its callers. */
export interface TokenCache {
  getToken(): Promise<string>;
  /** Drops the cached token if it is still `token` (the one a 401 came back for). */
  invalidate(token: string): void;
  stats(): TokenCacheStats;
}

/** The token endpoint refused or failed. Carries the HTTP status and OAuth error code, never the credentials. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';

  constructor(
    readonly status: number,
    readonly oauthError: string | undefined,
    readonly retryAfterSeconds?: number,
  ) {
    super(`Token request failed with HTTP ${status}${oauthError ? ` (${oauthError})` : ''}`);
  }
}

/** Refresh this long before expiry by default (AgentSync: "under 5 minutes remain"). */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 300;
const DEFAULT_LIFETIME_SECONDS = 3600;
const DEFAULT_TIMEOUT_MS = 15_000;

interface HeldToken {
  value: string;
  expiresAt: number;
  refreshAt: number;
}

/** A token cache: concurrent callers share one request; a token is refreshed shortly before it expires or after a 401. */
export function createTokenCache(options: TokenCacheOptions): TokenCache {
  const now = options.now ?? Date.now;
  const marginMs = (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;
  const fetchToken = options.fetchToken ?? ((request: TokenRequest) => requestToken(request, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  const request: TokenRequest = {
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.scope ? { scope: options.scope } : {}),
  };

  let held: HeldToken | undefined;
  let inflight: Promise<string> | undefined;
  let requests = 0;
  let invalidatedSinceLastFetch = false;

  async function refresh(): Promise<string> {
    const reason: TokenRequestReason = invalidatedSinceLastFetch ? 'invalidated' : held ? 'expiring' : 'initial';
    await options.beforeTokenRequest?.();
    requests++;
    options.onTokenRequest?.({ reason });
    try {
      const grant = await fetchToken(request);
      const fetchedAt = now();
      const lifetimeMs = grant.expiresInSeconds * 1000;
      held = { value: grant.accessToken, expiresAt: fetchedAt + lifetimeMs, refreshAt: fetchedAt + lifetimeMs - Math.min(marginMs, lifetimeMs / 2) };
      invalidatedSinceLastFetch = false;
      return held.value;
    } catch (error) {
      // Still valid (only inside the refresh margin): keep serving it; the next call tries again.
      if (held && now() < held.expiresAt) return held.value;
      throw error;
    }
  }

  return {
    getToken(): Promise<string> {
      if (held && now() < held.refreshAt) return Promise.resolve(held.value);
      // Single flight: every concurrent caller waits for the same token request.
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate(token: string): void {
      if (held?.value !== token) return;
      held = undefined;
      invalidatedSinceLastFetch = true;
    },
    stats(): TokenCacheStats {
      return { requests, cached: held !== undefined && now() < held.refreshAt, expiresAt: held?.expiresAt ?? null };
    },
  };
}

/** OAuth2 client-credentials grant, credentials in the form body (AgentSync's documented form). */
export async function requestToken(request: TokenRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TokenGrant> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: request.clientId, client_secret: request.clientSecret });
  if (request.scope) form.set('scope', request.scope);
  const response = await fetch(request.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form.toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Non-JSON error pages are reported by status alone.
  }
  if (!response.ok) {
    const oauthError = typeof body.error === 'string' ? body.error.slice(0, 100) : undefined;
    throw new TokenRequestError(response.status, oauthError, retryAfterSeconds(response.headers.get('retry-after')));
  }
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') throw new TokenRequestError(response.status, 'missing_access_token');
  const expiresIn = Number(body.expires_in);
  return { accessToken, expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_SECONDS };
}

function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

interface SharedEntry {
  clientSecret: string;
  scope: string | undefined;
  cache: TokenCache;
}

const shared = new Map<string, SharedEntry>();

/**
 * One cache per token URL and client id for the whole container, so every module (and every
 * client instance) shares one token. A changed secret or scope (rotation) starts a fresh cache.
 */
export function sharedTokenCache(options: TokenCacheOptions): TokenCache {
  const key = `${options.tokenUrl}\n${options.clientId}`;
  const entry = shared.get(key);
  if (entry && entry.clientSecret === options.clientSecret && entry.scope === options.scope) return entry.cache;
  const cache = createTokenCache(options);
  shared.set(key, { clientSecret: options.clientSecret, scope: options.scope, cache });
  return cache;
}

/** Forget all shared caches (tests). */
export function resetSharedTokenCaches(): void {
  shared.clear();
}
