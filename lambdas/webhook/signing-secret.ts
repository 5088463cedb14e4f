/**
 * The Svix signing secret from Secrets Manager (WEBHOOK_SECRET_ARN), cached per container.
 * After a rotation the cached secret stops matching new deliveries, so a failed verification may
 * re-read it; the previous value is kept so deliveries still signed with it keep working.
 * The store interface and its Secrets Manager adapter.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Where the webhook gets its signing secrets. */
export interface SigningSecretStore {
  /** Secrets to try, newest first (loads on first use). */
  secrets(): Promise<readonly string[]>;
  /** Re-reads the secret unless it was read very recently; true if a value not seen before arrived. */
  refresh(): Promise<boolean>;
}

/** Options of `createSigningSecretStore`. */
export interface SigningSecretStoreOptions {
  client: SecretsManagerClient;
  /** The secret's id or ARN. */
  secretId: string;
  /** A forged-request flood must not turn into a Secrets Manager call per request. @default 15000 */
  minRefreshIntervalMs?: number;
  now?: () => number;
}

const DEFAULT_MIN_REFRESH_INTERVAL_MS = 15_000;
const KEPT_SECRETS = 2;

/** Accepts the plain `whsec_...` string or `{"signingSecret":"whsec_..."}`; never echoes the value. */
export function parseSigningSecret(secretString: string | undefined): string {
  const text = secretString?.trim() ?? '';
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error('webhook signing secret is neither a whsec_ string nor valid JSON');
    }
    const value = (parsed as { signingSecret?: unknown }).signingSecret;
    if (typeof value !== 'string' || value.trim() === '') throw new Error('webhook signing secret JSON has no "signingSecret" string');
    return value.trim();
  }
  if (text === '') throw new Error('webhook signing secret is empty');
  return text;
}

/** The signing-secret store on Secrets Manager. */
export function createSigningSecretStore(options: SigningSecretStoreOptions): SigningSecretStore {
  const minInterval = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
  const now = options.now ?? Date.now;
  let known: string[] = [];
  let lastReadAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<string> | undefined;

  // Concurrent callers share one GetSecretValue.
  const read = (): Promise<string> =>
    (inFlight ??= (async () => {
      try {
        const out = await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId }));
        lastReadAt = now();
        return parseSigningSecret(out.SecretString);
      } finally {
        inFlight = undefined;
      }
    })());

  return {
    async secrets() {
      if (known.length === 0) known = [await read()];
      return known;
    },
    async refresh() {
      if (now() - lastReadAt < minInterval) return false;
      const latest = await read();
      if (known.includes(latest)) return false;
      known = [latest, ...known].slice(0, KEPT_SECRETS);
      return true;
    },
  };
}
