import { inject } from 'vitest';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { startSqs } from '#local/fauxqs';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { startSecretsManager } from '#local/secrets-manager';
import { startSfnApi, type SfnApi, type SfnApiOptions } from '#local/sfn-api';
import { templatesFromAssembly, type StackTemplate } from '#local/template';
import { cachedTemplates } from './synth-cache.ts';

export interface UseLocalAwsOptions {
  /** Start fauxqs in this process (default true). */
  sqs?: boolean;
  /** Start the Secrets Manager shim in this process (default true). */
  secrets?: boolean;
}

export interface LocalAws {
  dynamoEndpoint: string;
  sqsEndpoint?: string;
  secretsEndpoint?: string;
  sfnEndpoint?: string;
  /** The variables applied to process.env (handy to pass to a child process). */
  env: Record<string, string>;
  /** Stops what this call started (DynamoDB Local belongs to the global setup and keeps running). */
  cleanup(): Promise<void>;
}

/** What each useLocalAws() call started, so cleanup() also stops services added later (useSfnApi). */
const servicesOf = new WeakMap<LocalAws, LocalService[]>();

/**
 * Points this test file's process (and the shared SDK clients) at DynamoDB Local from the global setup,
 * plus an in-process fauxqs and Secrets Manager shim. Call in beforeAll, `cleanup` in afterAll.
 */
export async function useLocalAws(options: UseLocalAwsOptions = {}): Promise<LocalAws> {
  const dynamoEndpoint = inject('dynamoEndpoint');
  const started: LocalService[] = [];
  const sqs = options.sqs === false ? undefined : await startSqs();
  if (sqs) started.push(sqs);
  const secrets = options.secrets === false ? undefined : await startSecretsManager();
  if (secrets) started.push(secrets);
  const env = localAwsEnv({ dynamo: dynamoEndpoint, sqs: sqs?.endpoint, secrets: secrets?.endpoint });
  applyEnv(env);
  const local: LocalAws = {
    dynamoEndpoint,
    ...(sqs ? { sqsEndpoint: sqs.endpoint } : {}),
    ...(secrets ? { secretsEndpoint: secrets.endpoint } : {}),
    env,
    async cleanup() {
      await Promise.all(started.splice(0).map((service) => service.stop()));
    },
  };
  servicesOf.set(local, started);
  return local;
}

/**
 * Starts the Step Functions API stand-in, points AWS_ENDPOINT_URL_SFN (and the shared SFN client) at it,
 * and stops it with `local.cleanup()`. Typical: `stateMachines: {[functionEnv.DispatcherFunction.STATE_MACHINE_ARN]:
 * loadStateMachine(stacks, 'SyncStateMachine', {physical})}` with the real sync handlers.
 */
export async function useSfnApi(local: LocalAws, options: SfnApiOptions): Promise<SfnApi> {
  const api = await startSfnApi(options);
  servicesOf.get(local)?.push(api);
  local.sfnEndpoint = api.endpoint;
  local.env = localAwsEnv({ dynamo: local.dynamoEndpoint, sqs: local.sqsEndpoint, secrets: local.secretsEndpoint, sfn: api.endpoint });
  applyEnv(local.env);
  return api;
}

export interface TestResources extends ProvisionResult {
  /** The synthesized templates of the real app (for loadStateMachine and friends). */
  stacks: StackTemplate[];
}

/** Synthesizes `buildApp()` from '#lib/app' without bundling, once per content of lib/ (cached across workers). */
export function synthesizeAppTemplates(): Promise<StackTemplate[]> {
  return cachedTemplates('app', ['lib', 'cdk.json', 'package-lock.json'], async () => {
    let buildApp: (opts?: { context?: Record<string, unknown> }) => { app: { synth(): { stacks: Array<{ stackName: string; template: unknown }> } } };
    try {
      ({ buildApp } = await import('#lib/app'));
    } catch (error) {
      throw new Error(`provisionTestResources needs buildApp() from '#lib/app' (lib/app.ts), which could not be loaded: ${(error as Error).message}`);
    }
    const { app } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
    return templatesFromAssembly(app.synth());
  });
}

/**
 * Creates the real app's tables, queues and secrets under a unique prefix on the local stand-ins
 * (call useLocalAws() first) and returns their names/urls/arns plus each function's resolved environment.
 */
export async function provisionTestResources(prefix: string): Promise<TestResources> {
  const stacks = await synthesizeAppTemplates();
  const unique = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  return { ...(await provisionFromTemplates(stacks, { prefix: unique })), stacks };
}
