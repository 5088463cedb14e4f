import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '#lib/app';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import { startDynamoDbLocal, type LocalService } from '#local/dynamodb-local';
import { startSqs } from '#local/fauxqs';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { startSecretsManager } from '#local/secrets-manager';
import { templatesFromAssembly, type StackTemplate } from '#local/template';

export interface BenchStack {
  /** The real app's templates, synthesized once with bundling on (the bundle figure reads its assets). */
  stacks: StackTemplate[];
  /** Cloud assembly directory: `asset.<hash>/index.mjs` per function, the token layer tree. */
  assemblyDir: string;
  /** AWS_* variables pointing the SDK at the local stand-ins (also handed to the sync worker). */
  awsEnv: Record<string, string>;
  /** Tables, queues and secrets of the app under a fresh prefix. */
  provision(prefix: string): Promise<ProvisionResult>;
  stop(): Promise<void>;
}

/**
 * One DynamoDB Local, Secrets Manager shim and fauxqs for the whole run, and one synthesis of
 * the real app (`buildApp()`) with the same esbuild bundling `cdk synth` does.
 */
export async function startBenchStack(cacheDir: string): Promise<BenchStack> {
  const assemblyDir = join(cacheDir, 'cdk.out');
  rmSync(assemblyDir, { recursive: true, force: true });
  // The CLI's defaults: construct paths name the functions, asset paths locate their bundles.
  const { app } = buildApp({ outdir: assemblyDir, context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true } });
  const stacks = templatesFromAssembly(app.synth());

  const services: LocalService[] = [];
  try {
    const [dynamo, secrets, sqs] = await Promise.all([startDynamoDbLocal({}), startSecretsManager(), startSqs()]);
    services.push(dynamo, secrets, sqs);
    const awsEnv = localAwsEnv({ dynamo: dynamo.endpoint, secrets: secrets.endpoint, sqs: sqs.endpoint });
    applyEnv(awsEnv);
    let runs = 0;
    return {
      stacks,
      assemblyDir,
      awsEnv,
      provision: (prefix) => provisionFromTemplates(stacks, { prefix: `${prefix}-${Date.now().toString(36)}-${runs++}` }),
      async stop() {
        await Promise.allSettled(services.map((s) => s.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(services.map((s) => s.stop()));
    throw error;
  }
}
