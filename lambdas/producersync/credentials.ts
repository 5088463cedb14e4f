import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { secretsClient } from '#commons/clients';

/** What the `PRODUCERSYNC_SECRET_ARN` secret holds (docs/ARCHITECTURE.md). */
export interface ProducerSyncCredentials {
  clientId: string;
  clientSecret: string;
  scope?: string;
  tokenUrl: string;
  apiBaseUrl: string;
}

export interface LoadCredentialsOptions {
  /** Re-read the secret (after a rotation, or when the token endpoint rejects the client). */
  refresh?: boolean;
}

/** One read per container and secret; concurrent first callers share the same read. */
const cache = new Map<string, Promise<ProducerSyncCredentials>>();

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
  return parseCredentials(result.SecretString, secretId);
}

/** Validates the secret JSON. Errors name the secret and the field, never a value. */
export function parseCredentials(secretString: string, secretId: string): ProducerSyncCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error(`Secret ${secretId} is not valid JSON; expected {"clientId","clientSecret","scope"?,"tokenUrl","apiBaseUrl"}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`Secret ${secretId} must be a JSON object {"clientId","clientSecret","scope"?,"tokenUrl","apiBaseUrl"}`);
  }
  const fields = parsed as Record<string, unknown>;
  const text = (name: keyof ProducerSyncCredentials): string => {
    const value = fields[name];
    if (typeof value !== 'string' || value.trim() === '') throw new Error(`Secret ${secretId} is missing the string field "${name}"`);
    return value;
  };
  const url = (name: 'tokenUrl' | 'apiBaseUrl'): string => {
    const value = text(name).trim();
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(value);
    } catch {
      throw new Error(`Secret ${secretId} field "${name}" is not an absolute URL`);
    }
    if (parsedUrl.protocol !== 'https:' && parsedUrl.protocol !== 'http:') throw new Error(`Secret ${secretId} field "${name}" must be an http(s) URL`);
    return value.replace(/\/+$/, '');
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
