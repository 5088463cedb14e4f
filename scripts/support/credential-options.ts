/**
 * The ProducerSync client credentials as options, shared by every command that talks to a ProducerSync
 * server (`sync --local`, `subscriptions`): each from its flag, else its PRODUCERSYNC_* variable (the
 * same names the sync Lambda reads the URLs from); the client secret also from a file or stdin.
 */
import type { ProducerSyncCredentials } from '#producersync/credentials';
import { httpUrl, secret, text, type Options, type Values } from './options.ts';

export const credentialOptions = {
  'api-base-url': httpUrl({ env: 'PRODUCERSYNC_API_BASE_URL', description: 'the ProducerSync API, e.g. https://api.sandbox.agentsync.io' }),
  'token-url': httpUrl({ env: 'PRODUCERSYNC_TOKEN_URL', description: 'the OAuth2 client-credentials token endpoint, e.g. https://auth.sandbox.agentsync.io/oauth2/token' }),
  'client-id': text({ placeholder: 'ID', env: 'PRODUCERSYNC_CLIENT_ID', description: 'the OAuth client id' }),
  'client-secret': secret({ placeholder: 'S', env: 'PRODUCERSYNC_CLIENT_SECRET', description: 'the OAuth client secret (prefer the file or the variable: flags show in the process list)' }),
  scope: text({ placeholder: 'S', env: 'PRODUCERSYNC_SCOPE', description: 'the OAuth scope, if the client needs one' }),
};

/** `options` read from their flags (and a secret's file) only, never from the environment. */
function fromFlagsOnly<O extends Options>(options: O): O {
  return Object.fromEntries(Object.entries(options).map(([name, { env: _fromEnv, ...option }]) => [name, option])) as O;
}

/**
 * The same options from their flags only: `local up`, where giving none of them means the built-in simulator,
 * whatever PRODUCERSYNC_* variables the shell exports.
 */
export const credentialFlags = fromFlagsOnly(credentialOptions);

type CredentialValues = Values<typeof credentialOptions>;

const REQUIRED = ['api-base-url', 'token-url', 'client-id', 'client-secret'] as const;

/** The flags of the credentials not given (by flag, file or variable). */
export const missingCredentials = (values: CredentialValues): string[] => REQUIRED.filter((name) => values[name] === undefined).map((name) => `--${name}`);

/** The credentials, once `missingCredentials` is empty. */
export function credentialsFrom(values: CredentialValues): ProducerSyncCredentials {
  const missing = missingCredentials(values);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`);
  return {
    apiBaseUrl: values['api-base-url']!,
    tokenUrl: values['token-url']!,
    clientId: values['client-id']!,
    clientSecret: values['client-secret']!,
    ...(values.scope ? { scope: values.scope } : {}),
  };
}
