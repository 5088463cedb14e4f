import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsClient } from '#commons/clients';
import { loadCredentials, parseCredentials } from '#producersync/credentials';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';

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
});
