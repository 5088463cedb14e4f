import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dynamoClient, secretsClient } from '#commons/clients';
import { lambdaContext } from '#local/lambda-context';
import { startSimulator, type Simulator } from '#sim/server';
import { createDynamoCheckpointStore } from '#sync/checkpoint';
import { handler } from '#sync/sync-pages';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';
import { provisionTestResources, useLocalAws, type LocalAws, type TestResources } from './support/local-aws.ts';

let local: LocalAws;
let resources: TestResources;
let sim: Simulator;

const putCredentials = (clientSecret: string) =>
  secretsClient().send(
    new PutSecretValueCommand({
      SecretId: resources.resources.ProducerSyncCredentials!.arn,
      SecretString: JSON.stringify({ clientId: 'local', clientSecret, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl }),
    }),
  );

beforeAll(async () => {
  local = await useLocalAws();
  resources = await provisionTestResources('synccred');
  sim = await startSimulator({ npns: 10, seed: 5 });
  Object.assign(process.env, resources.functionEnv.SyncPagesFunction);
  // As every local run does: the API URLs of the function's environment point at the simulator.
  Object.assign(process.env, { PRODUCERSYNC_API_BASE_URL: sim.apiBaseUrl, PRODUCERSYNC_TOKEN_URL: sim.tokenUrl });
});
afterAll(async () => {
  await sim?.close();
  await local?.cleanup();
});

describe('sync-pages handler (deployed wiring: secret, shared rate budget, environment)', () => {
  it('re-reads a rotated secret after the token endpoint rejected the old one, without leaking it', async () => {
    await putCredentials('revoked-secret-value');
    const event = { runId: 'cred-run', endpoint: 'entities' as const, mode: 'backfill' as const, updatedSince: null, npns: null };
    const failure = await handler(event, lambdaContext('SyncPagesFunction')).catch((error: unknown) => error as Error);
    expect(failure).toMatchObject({ name: 'TokenRequestError', status: 401 });
    expect(String((failure as Error).message)).not.toContain('revoked-secret-value');
    const checkpoints = createDynamoCheckpointStore({ client: dynamoClient(), tableName: resources.functionEnv.SyncPagesFunction!.CONTROL_TABLE_NAME! });
    const noted = await checkpoints.load('cred-run', 'entities');
    expect(noted?.lastError).toMatch(/^TokenRequestError: Token request failed with HTTP 401/);
    expect(noted?.lastError).not.toContain('revoked-secret-value');

    // The operator rotates the secret; the task's retry picks it up in the same container.
    await putCredentials('local');
    let result: unknown;
    const lines = await captureLogLines(async () => {
      result = await handler(event, lambdaContext('producersync-sync-pages'));
    });
    expect(result).toMatchObject({ done: true, runId: 'cred-run', endpoint: 'entities' });
    expectLambdaContextOnEveryLine(lines, 'producersync-sync-pages');
    expect(lines.find((l) => l.message === 'endpoint done')).toMatchObject({ correlation_id: 'cred-run', endpoint: 'entities' });
    expect(await checkpoints.load('cred-run', 'entities')).toMatchObject({ done: true, recordsSeen: sim.groundTruth('entities').length });
  });

  it('runs from a secret that holds only the client credentials, with the URLs from its environment', async () => {
    await secretsClient().send(
      new PutSecretValueCommand({ SecretId: resources.resources.ProducerSyncCredentials!.arn, SecretString: JSON.stringify({ clientId: 'local', clientSecret: 'local' }) }),
    );
    // A new container: nothing cached from the other test.
    vi.resetModules();
    const fresh = (await import('#sync/sync-pages')).handler;
    const event = { runId: 'url-run', endpoint: 'otherNames' as const, mode: 'backfill' as const, updatedSince: null, npns: null };
    expect(await fresh(event, lambdaContext('producersync-sync-pages'))).toMatchObject({ done: true });
    expect(sim.requests.some((r) => r.kind === 'api' && r.path === '/v2/otherNames')).toBe(true);
  });
});
