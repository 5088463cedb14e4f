import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsClient } from '#commons/clients';
import { useLocalAws, type LocalAws } from './support/local-aws.ts';

describe('Secrets Manager shim', () => {
  let local: LocalAws;
  beforeAll(async () => {
    local = await useLocalAws({ sqs: false });
  });
  afterAll(() => local.cleanup());

  it('round-trips a secret by name and by ARN through the SDK client', async () => {
    const secrets = secretsClient();
    const created = await secrets.send(new CreateSecretCommand({ Name: 'ps/credentials' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:ps\/credentials-[0-9a-f]{6}$/);

    // No value yet: the service answers ResourceNotFoundException for the AWSCURRENT stage.
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'ps/credentials' }))).rejects.toBeInstanceOf(ResourceNotFoundException);

    const value = JSON.stringify({ clientId: 'id', clientSecret: 's3cr3t', tokenUrl: 'http://127.0.0.1/token', apiBaseUrl: 'http://127.0.0.1' });
    const put = await secrets.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: value }));
    const read = await secrets.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(read).toMatchObject({ Name: 'ps/credentials', SecretString: value, VersionId: put.VersionId, VersionStages: ['AWSCURRENT'] });
    expect(read.CreatedDate).toBeInstanceOf(Date);

    await secrets.send(new UpdateSecretCommand({ SecretId: 'ps/credentials', SecretString: 'whsec_abc', Description: 'rotated' }));
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: 'ps/credentials' }))).SecretString).toBe('whsec_abc');
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described).toMatchObject({ Name: 'ps/credentials', ARN: created.ARN, Description: 'rotated' });
  });

  it('lists the labelled versions as the service does: AWSCURRENT, and AWSPREVIOUS once a second value is put', async () => {
    const secrets = secretsClient();
    const created = await secrets.send(new CreateSecretCommand({ Name: 'ps/versions', SecretString: '{"clientId":"REPLACE_ME"}' }));
    const first = await secrets.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(first.VersionIdsToStages).toEqual({ [created.VersionId!]: ['AWSCURRENT'] });
    await secrets.send(new UpdateSecretCommand({ SecretId: created.ARN, Description: 'only the description' }));
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described.VersionIdsToStages).toEqual(first.VersionIdsToStages);
    expect(described.LastChangedDate!.getTime()).toBeGreaterThanOrEqual(first.LastChangedDate!.getTime());
    const put = await secrets.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: '{"clientId":"id"}' }));
    expect((await secrets.send(new DescribeSecretCommand({ SecretId: created.ARN }))).VersionIdsToStages).toEqual({
      [created.VersionId!]: ['AWSPREVIOUS'],
      [put.VersionId!]: ['AWSCURRENT'],
    });
  });

  it('returns AWS error types without echoing secret values', async () => {
    const secrets = secretsClient();
    await secrets.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'value-that-must-not-leak' }));
    const duplicate = await secrets.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'value-that-must-not-leak' })).catch((e: Error) => e);
    expect(duplicate).toBeInstanceOf(ResourceExistsException);
    expect((duplicate as Error).message).not.toContain('value-that-must-not-leak');
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: 'missing' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});
