import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { secretsClient } from '#commons/secrets-client';
import { loadCredentials, parseCredentials, urlsFromEnv } from '#producersync/credentials';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

const VALID = { clientId: 'id-1', clientSecret: 's3cr3t-value', scope: 'https://api.agentsync.io/a_valid_scope', tokenUrl: 'https://auth.sandbox.agentsync.io/oauth2/token', apiBaseUrl: 'https://api.sandbox.agentsync.io/' };

describe('parseCredentials', () => {
  it('accepts the documented shape, trims the base URL slash, drops an empty scope', () => {
    expect(parseCredentials(JSON.stringify(VALID), 'ps')).toEqual({ ...VALID, apiBaseUrl: 'https://api.sandbox.agentsync.io' });
    expect(parseCredentials(JSON.stringify({ ...VALID, scope: '' }), 'ps')).not.toHaveProperty('scope');
  });

  it('names the missing or invalid field and never the secret value', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...VALID, clientSecret: undefined }, /missing the string field "clientSecret"/],
      [{ ...VALID, clientId: '' }, /missing the string field "clientId"/],
      [{ ...VALID, tokenUrl: 'not a url' }, /"tokenUrl" is not an absolute URL/],
      [{ ...VALID, apiBaseUrl: 'ftp://x' }, /"apiBaseUrl" must be an http\(s\) URL/],
      [{ ...VALID, scope: 5 }, /"scope" must be a string/],
      [['s3cr3t-value'], /must be a JSON object/],
    ];
    for (const [value, message] of cases) {
      const error = (() => {
        try {
          parseCredentials(JSON.stringify(value), 'ps/creds');
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error?.message).toMatch(message);
      expect(error?.message).toContain('ps/creds');
      expect(error?.message).not.toContain('s3cr3t-value');
    }
    expect(() => parseCredentials('{"clientSecret":"s3cr3t-value"', 'ps')).toThrow(/not valid JSON/);
    expect(() => parseCredentials('{"clientSecret":"s3cr3t-value"', 'ps')).not.toThrow(/s3cr3t/);
  });
});

describe('API URLs (configuration, not secrets)', () => {
  const SECRET_ONLY = { clientId: VALID.clientId, clientSecret: VALID.clientSecret };
  const CONFIGURED = { apiBaseUrl: 'https://api.agentsync.io/', tokenUrl: 'https://auth.agentsync.io/oauth2/token' };

  it('accepts a secret without URLs when both variables are set', () => {
    expect(parseCredentials(JSON.stringify(SECRET_ONLY), 'ps', CONFIGURED)).toEqual({ ...SECRET_ONLY, apiBaseUrl: 'https://api.agentsync.io', tokenUrl: CONFIGURED.tokenUrl });
  });

  it('prefers the variables over URLs still in an older secret', () => {
    expect(parseCredentials(JSON.stringify(VALID), 'ps', CONFIGURED)).toMatchObject({ apiBaseUrl: 'https://api.agentsync.io', tokenUrl: CONFIGURED.tokenUrl });
  });

  it('falls back to the secret field for each variable that is absent, one at a time', () => {
    expect(parseCredentials(JSON.stringify(VALID), 'ps', { apiBaseUrl: CONFIGURED.apiBaseUrl })).toMatchObject({ apiBaseUrl: 'https://api.agentsync.io', tokenUrl: VALID.tokenUrl });
    expect(parseCredentials(JSON.stringify(VALID), 'ps', { tokenUrl: CONFIGURED.tokenUrl })).toMatchObject({ apiBaseUrl: 'https://api.sandbox.agentsync.io', tokenUrl: CONFIGURED.tokenUrl });
    expect(parseCredentials(JSON.stringify(VALID), 'ps')).toMatchObject({ apiBaseUrl: 'https://api.sandbox.agentsync.io', tokenUrl: VALID.tokenUrl });
  });

  it('names the variable when neither it nor the secret has the URL, or when it is not a URL', () => {
    expect(() => parseCredentials(JSON.stringify(SECRET_ONLY), 'ps', { tokenUrl: CONFIGURED.tokenUrl })).toThrow('PRODUCERSYNC_API_BASE_URL is not set and secret ps has no "apiBaseUrl"');
    expect(() => parseCredentials(JSON.stringify(SECRET_ONLY), 'ps', { apiBaseUrl: CONFIGURED.apiBaseUrl })).toThrow('PRODUCERSYNC_TOKEN_URL is not set and secret ps has no "tokenUrl"');
    expect(() => parseCredentials(JSON.stringify(VALID), 'ps', { ...CONFIGURED, tokenUrl: 'auth.agentsync.io' })).toThrow('Environment variable PRODUCERSYNC_TOKEN_URL is not an absolute URL');
    expect(() => parseCredentials(JSON.stringify(VALID), 'ps', { ...CONFIGURED, apiBaseUrl: 'ftp://api.agentsync.io' })).toThrow('Environment variable PRODUCERSYNC_API_BASE_URL must be an http(s) URL');
  });

  it('reads the variables from the environment; unset or empty is absent', () => {
    vi.stubEnv('PRODUCERSYNC_API_BASE_URL', CONFIGURED.apiBaseUrl);
    vi.stubEnv('PRODUCERSYNC_TOKEN_URL', '');
    expect(urlsFromEnv()).toEqual({ apiBaseUrl: CONFIGURED.apiBaseUrl });
  });
});

describe('loadCredentials (Secrets Manager shim)', () => {
  let local: LocalAws;
  beforeAll(async () => {
    local = await useLocalAws({ sqs: false });
  });
  afterAll(() => local.cleanup());

  it('reads once per container, and again with refresh', async () => {
    const { ARN } = await secretsClient().send(new CreateSecretCommand({ Name: 'ps/client-creds', SecretString: JSON.stringify(VALID) }));
    const first = await loadCredentials(ARN!);
    expect(first.clientId).toBe('id-1');

    await secretsClient().send(new PutSecretValueCommand({ SecretId: ARN, SecretString: JSON.stringify({ ...VALID, clientId: 'id-2' }) }));
    expect((await loadCredentials(ARN!)).clientId).toBe('id-1');
    expect((await loadCredentials(ARN!, { refresh: true })).clientId).toBe('id-2');
    expect((await loadCredentials(ARN!)).clientId).toBe('id-2');
  });

  it('does not cache a failed read', async () => {
    await expect(loadCredentials('ps/not-there-yet')).rejects.toThrow();
    await secretsClient().send(new CreateSecretCommand({ Name: 'ps/not-there-yet', SecretString: JSON.stringify(VALID) }));
    expect((await loadCredentials('ps/not-there-yet')).tokenUrl).toBe(VALID.tokenUrl);
  });

  it('takes the URLs from the environment of the Lambda', async () => {
    vi.stubEnv('PRODUCERSYNC_API_BASE_URL', 'https://api.agentsync.io');
    vi.stubEnv('PRODUCERSYNC_TOKEN_URL', 'https://auth.agentsync.io/oauth2/token');
    const { ARN } = await secretsClient().send(new CreateSecretCommand({ Name: 'ps/no-urls', SecretString: JSON.stringify({ clientId: 'id-3', clientSecret: 'x' }) }));
    expect(await loadCredentials(ARN!)).toEqual({ clientId: 'id-3', clientSecret: 'x', apiBaseUrl: 'https://api.agentsync.io', tokenUrl: 'https://auth.agentsync.io/oauth2/token' });
  });
});
