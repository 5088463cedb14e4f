import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { resetClients, sfnClient as sfnFromAll } from '#commons/clients';
import { dynamoClient, resetDynamoClient } from '#commons/dynamo-client';
import { secretsClient } from '#commons/secrets-client';
import { sfnClient } from '#commons/sfn-client';
import { sqsClient } from '#commons/sqs-client';

/** The AWS SDK packages a Lambda entry's bundle loads at run time (external, as lib/constructs/node-function.ts bundles them). */
async function sdkImportsOf(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: ['@aws-sdk/*', '@producersync/token-cache'],
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path));
  return [...new Set(imports.filter((path) => path.startsWith('@aws-sdk/')))].sort();
}

describe('AWS SDK clients', () => {
  it('are created once per process and recreated after a reset', () => {
    const dynamo = dynamoClient();
    expect(dynamoClient()).toBe(dynamo);
    resetDynamoClient();
    expect(dynamoClient()).not.toBe(dynamo);
    const sfn = sfnClient();
    expect(sfnFromAll()).toBe(sfn);
    resetClients();
    expect(sfnClient()).not.toBe(sfn);
    expect([sqsClient(), secretsClient()].every(Boolean)).toBe(true);
  });

  it.each([
    ['lambdas/webhook/handler.ts', ['@aws-sdk/client-secrets-manager', '@aws-sdk/client-sqs']],
    // Secrets Manager for DescribeSecret only: are the ProducerSync credentials in yet (check-freshness)?
    ['lambdas/dispatcher/handler.ts', ['@aws-sdk/client-dynamodb', '@aws-sdk/client-secrets-manager', '@aws-sdk/client-sfn', '@aws-sdk/util-dynamodb']],
    ['lambdas/sync/prepare.ts', ['@aws-sdk/client-dynamodb', '@aws-sdk/util-dynamodb']],
    ['lambdas/sync/sync-pages.ts', ['@aws-sdk/client-dynamodb', '@aws-sdk/client-secrets-manager', '@aws-sdk/util-dynamodb']],
    ['lambdas/sync/finalize.ts', ['@aws-sdk/client-dynamodb', '@aws-sdk/util-dynamodb']],
    ['lambdas/stream-consumer/example-consumer.ts', ['@aws-sdk/util-dynamodb']],
    ['lambdas/feed/publisher.ts', ['@aws-sdk/client-sns', '@aws-sdk/util-dynamodb']],
  ])('%s loads only the SDK clients it uses', async (entry, expected) => {
    expect(await sdkImportsOf(entry)).toEqual(expected);
  });
});
