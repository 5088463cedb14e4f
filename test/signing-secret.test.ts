import { randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { startSecretsManager } from '#local/secrets-manager';
import { createSigningSecretStore, parseSigningSecret } from '#webhook/signing-secret';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

let secretsService: LocalService;
let client: SecretsManagerClient;

beforeAll(async () => {
  secretsService = await startSecretsManager();
  applyEnv(localAwsEnv({ secrets: secretsService.endpoint }));
  client = new SecretsManagerClient({});
});
afterAll(async () => {
  await secretsService?.stop();
});

describe('parseSigningSecret', () => {
  it('parses both secret formats and never echoes the value', () => {
    expect(parseSigningSecret('whsec_abc')).toBe('whsec_abc');
    expect(parseSigningSecret(' {"signingSecret":" whsec_def "}')).toBe('whsec_def');
    expect(() => parseSigningSecret('{"signingSecret": 1, "other": "whsec_leak"}')).toThrow(/no "signingSecret"/);
    expect(() => parseSigningSecret('  ')).toThrow(/empty/);
    expect(() => parseSigningSecret('{whsec_leak')).toThrow(/neither a whsec_ string nor valid JSON/);
    expect(() => parseSigningSecret('{whsec_leak')).not.toThrow(/whsec_leak/);
  });
});

describe('signing-secret store (Secrets Manager shim)', () => {
  it('reads on first use, throttles re-reads so forged floods do not hammer Secrets Manager, and keeps the previous secret', async () => {
    const secretId = `webhook-${randomUUID().slice(0, 8)}`;
    const first = newSecret();
    await client.send(new CreateSecretCommand({ Name: secretId, SecretString: first }));
    let clock = 0;
    const store = createSigningSecretStore({ client, secretId, minRefreshIntervalMs: 10_000, now: () => clock });
    expect(await store.secrets()).toEqual([first]);
    const rotated = newSecret();
    await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify({ signingSecret: rotated }) }));
    clock = 5_000;
    expect(await store.refresh()).toBe(false);
    clock = 10_000;
    expect(await store.refresh()).toBe(true);
    expect(await store.secrets()).toEqual([rotated, first]);
    clock = 20_000;
    expect(await store.refresh()).toBe(false);
  });

  it('fails to load a secret that does not exist', async () => {
    const store = createSigningSecretStore({ client, secretId: 'does-not-exist' });
    await expect(store.secrets()).rejects.toThrow();
  });
});
