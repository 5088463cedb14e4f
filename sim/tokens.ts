import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { JSON_TYPE, oauthError, type Reply } from './http.ts';

interface IssuedToken {
  clientId: string;
  expiresAtMs: number;
}

export interface TokenCheck {
  valid: boolean;
  /** Known client even when the token expired, so its requests still count against that client's rate limit. */
  clientId?: string;
  reason?: 'missing' | 'unknown' | 'expired';
}

export interface TokenRequest {
  grantType?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
}

/**
 * Every access token any simulator in this process has issued: tests scan captured logs for them
 * (a token is a credential and must never be logged).
 */
const issuedInProcess: string[] = [];
export const tokensIssuedInProcess = (): readonly string[] => issuedInProcess;

const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/**
 * The OAuth2 client-credentials token endpoint and the store of issued bearer tokens.
 * Credentials come from the form body, the query string (an older AgentSync guide's curl) or HTTP Basic.
 */
export class TokenService {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly issuedTokens: string[] = [];

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly lifetimeSeconds: number,
    private readonly now: () => number,
  ) {}

  static parseRequest(headers: IncomingHttpHeaders, query: URLSearchParams, rawBody: string): TokenRequest {
    const form = new URLSearchParams(query);
    const contentType = headers['content-type'] ?? '';
    if (contentType.includes('application/json')) {
      try {
        for (const [k, v] of Object.entries(JSON.parse(rawBody) as Record<string, unknown>)) if (typeof v === 'string') form.set(k, v);
      } catch {
        // A body that is not JSON simply carries no parameters.
      }
    } else for (const [k, v] of new URLSearchParams(rawBody)) form.set(k, v);
    const request: TokenRequest = {};
    const set = (key: keyof TokenRequest, value: string | null | undefined) => {
      if (value !== null && value !== undefined) request[key] = value;
    };
    set('grantType', form.get('grant_type'));
    set('clientId', form.get('client_id'));
    set('clientSecret', form.get('client_secret'));
    set('scope', form.get('scope'));
    const basic = /^Basic\s+(.+)$/i.exec(headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        set('clientId', decodeURIComponent(decoded.slice(0, colon)));
        set('clientSecret', decodeURIComponent(decoded.slice(colon + 1)));
      }
    }
    return request;
  }

  credentialsValid(request: TokenRequest): boolean {
    return request.clientId !== undefined && request.clientSecret !== undefined && sameText(request.clientId, this.clientId) && sameText(request.clientSecret, this.clientSecret);
  }

  handle(request: TokenRequest): Reply {
    if (request.grantType === undefined) return oauthError(400, 'invalid_request', 'Missing grant_type');
    if (request.grantType !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', `Unsupported grant_type ${request.grantType}`);
    if (!this.credentialsValid(request)) return oauthError(401, 'invalid_client', 'Client authentication failed', { 'www-authenticate': 'Basic realm="agentsync"' });
    const accessToken = `sim.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, { clientId: this.clientId, expiresAtMs: this.now() + this.lifetimeSeconds * 1000 });
    this.issuedTokens.push(accessToken);
    issuedInProcess.push(accessToken);
    return {
      status: 200,
      contentType: JSON_TYPE,
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
      body: {
        token_type: 'Bearer',
        expires_in: this.lifetimeSeconds,
        access_token: accessToken,
        ...(request.scope ? { scope: request.scope } : {}),
      },
    };
  }

  check(authorization: string | undefined): TokenCheck {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!bearer?.[1]) return { valid: false, reason: 'missing' };
    const token = this.tokens.get(bearer[1]);
    if (!token) return { valid: false, reason: 'unknown' };
    if (this.now() >= token.expiresAtMs) return { valid: false, clientId: token.clientId, reason: 'expired' };
    return { valid: true, clientId: token.clientId };
  }

  /** Revokes every token issued so far (the fault "tokens expired early"); the client keeps its identity for rate limiting. */
  invalidateAll(): void {
    for (const token of this.tokens.values()) token.expiresAtMs = 0;
  }

  issuedCount(): number {
    return this.issuedTokens.length;
  }

  issued(): string[] {
    return [...this.issuedTokens];
  }
}
