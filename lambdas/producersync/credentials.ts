/**
 * The ProducerSync client credentials and API URLs of a sync Lambda (docs/ARCHITECTURE.md, CONTRACTS §1).
 * The secret (PRODUCERSYNC_SECRET_ARN) holds `{"clientId","clientSecret","scope"?}`; the URLs are
 * configuration, from PRODUCERSYNC_API_BASE_URL and PRODUCERSYNC_TOKEN_URL. Only where a variable is
 * absent does the secret's own `apiBaseUrl` / `tokenUrl` count (deployments made before the URLs
 * moved out of the secret, and the local tools).
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { optionalEnv } from '#commons/env';
import { secretsClient } from '#commons/secrets-client';

/** What the client needs to authenticate and where to send requests. */
export interface ProducerSyncCredentials {
  clientId: string;
  clientSecret: string;
  scope?: string;
  tokenUrl: string;
  apiBaseUrl: string;
}

/** The API URLs from configuration; a missing one falls back to the secret's field. */
export interface ProducerSyncUrls {
  apiBaseUrl?: string;
  tokenUrl?: string;
}

/** The environment variable that configures each URL. */
export const URL_VARIABLES = { apiBaseUrl: 'PRODUCERSYNC_API_BASE_URL', tokenUrl: 'PRODUCERSYNC_TOKEN_URL' } as const;

/** Options of `loadCredentials`. */
export interface LoadCredentialsOptions {
  /** Re-read the secret (after a rotation, or when the token endpoint rejects the client). */
  refresh?: boolean;
}

/** The URLs set in this process's environment (unset or empty variables are absent). */
export function urlsFromEnv(): ProducerSyncUrls {
  const apiBaseUrl = optionalEnv(URL_VARIABLES.apiBaseUrl);
  const tokenUrl = optionalEnv(URL_VARIABLES.tokenUrl);
  return { ...(apiBaseUrl ? { apiBaseUrl } : {}), ...(tokenUrl ? { tokenUrl } : {}) };
}

/** One read per container and secret; concurrent first callers share the same read. */
const cache = new Map<string, Promise<ProducerSyncCredentials>>();

/** The credentials in `secretId` with the URLs of this process's environment. */
export function loadCredentials(secretId: string, options: LoadCredentialsOptions = {}): Promise<ProducerSyncCredentials> {
  let pending = options.refresh ? undefined : cache.get(secretId);
  if (!pending) {
    pending = readCredentials(secretId);
    cache.set(secretId, pending);
    // A failed read is not cached: the next invocation tries again.
    pending.catch(() => {
      if (cache.get(secretId) === pending) cache.delete(secretId);
    });
  }
  return pending;
}

async function readCredentials(secretId: string): Promise<ProducerSyncCredentials> {
  const result = await secretsClient().send(new GetSecretValueCommand({ SecretId: secretId }));
  if (typeof result.SecretString !== 'string') throw new Error(`Secret ${secretId} has no SecretString (binary secrets are not supported)`);
  return parseCredentials(result.SecretString, secretId, urlsFromEnv());
}

const SHAPE = '{"clientId","clientSecret","scope"?}';

/** Validates the secret JSON and resolves the URLs. Errors name the secret or variable and the field, never a value. */
export function parseCredentials(secretString: string, secretId: string, urls: ProducerSyncUrls = {}): ProducerSyncCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error(`Secret ${secretId} is not valid JSON; expected ${SHAPE}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`Secret ${secretId} must be a JSON object ${SHAPE}`);
  }
  const fields = parsed as Record<string, unknown>;
  const text = (name: 'clientId' | 'clientSecret'): string => {
    const value = fields[name];
    if (typeof value !== 'string' || value.trim() === '') throw new Error(`Secret ${secretId} is missing the string field "${name}"`);
    return value;
  };
  const url = (name: keyof ProducerSyncUrls): string => {
    const configured = urls[name];
    const source = configured !== undefined ? `Environment variable ${URL_VARIABLES[name]}` : `Secret ${secretId} field "${name}"`;
    const value = configured ?? fields[name];
    if (value === undefined || value === null) throw new Error(`${URL_VARIABLES[name]} is not set and secret ${secretId} has no "${name}"`);
    if (typeof value !== 'string' || value.trim() === '') throw new Error(`${source} is not an absolute URL`);
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(value.trim());
    } catch {
      throw new Error(`${source} is not an absolute URL`);
    }
    if (parsedUrl.protocol !== 'https:' && parsedUrl.protocol !== 'http:') throw new Error(`${source} must be an http(s) URL`);
    return value.trim().replace(/\/+$/, '');
  };
  const scope = fields.scope;
  if (scope !== undefined && scope !== null && typeof scope !== 'string') throw new Error(`Secret ${secretId} field "scope" must be a string`);
  return {
    clientId: text('clientId'),
    clientSecret: text('clientSecret'),
    ...(typeof scope === 'string' && scope.trim() !== '' ? { scope: scope.trim() } : {}),
    tokenUrl: url('tokenUrl'),
    apiBaseUrl: url('apiBaseUrl'),
  };
}
