/**
 * The local harness for test files (a thin layer over local/: the stand-ins, the synthesized app and its
 * provisioning), attached to the run's one DynamoDB Local from test/global-setup.ts.
 */
import { inject } from 'vitest';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { startSfnApi, type SfnApi, type SfnApiOptions } from '#local/sfn-api';
import { startStandIns, type StandIns } from '#local/stand-ins';
import { appTemplates } from '#local/synth';
import type { StackTemplate } from '#local/template';

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

const standInsOf = new WeakMap<LocalAws, StandIns>();

/**
 * Points this test file's process (and the shared SDK clients) at DynamoDB Local from the global setup,
 * plus an in-process fauxqs and Secrets Manager shim. Call in beforeAll, `cleanup` in afterAll.
 */
export async function useLocalAws(options: UseLocalAwsOptions = {}): Promise<LocalAws> {
  const standIns = await startStandIns({ dynamoEndpoint: inject('dynamoEndpoint'), sqs: options.sqs !== false, secrets: options.secrets !== false });
  const { endpoints } = standIns;
  const local: LocalAws = {
    dynamoEndpoint: endpoints.dynamo,
    ...(endpoints.sqs ? { sqsEndpoint: endpoints.sqs } : {}),
    ...(endpoints.secrets ? { secretsEndpoint: endpoints.secrets } : {}),
    env: standIns.env,
    cleanup: () => standIns.stop(),
  };
  standInsOf.set(local, standIns);
  return local;
}

/**
 * Starts the Step Functions API stand-in, points AWS_ENDPOINT_URL_SFN (and the shared SFN client) at it,
 * and stops it with `local.cleanup()`. Typical: `stateMachines: {[functionEnv.DispatcherFunction.STATE_MACHINE_ARN]:
 * loadStateMachine(stacks, 'SyncStateMachine', {physical})}` with the real sync handlers.
 */
export async function useSfnApi(local: LocalAws, options: SfnApiOptions): Promise<SfnApi> {
  const standIns = standInsOf.get(local);
  if (!standIns) throw new Error('useSfnApi needs the LocalAws of useLocalAws()');
  const api = await startSfnApi(options);
  standIns.addSfn(api);
  local.sfnEndpoint = api.endpoint;
  local.env = standIns.env;
  return api;
}

export interface TestResources extends ProvisionResult {
  /** The synthesized templates of the real app (for loadStateMachine and friends). */
  stacks: StackTemplate[];
}

/** The real app's templates (`buildApp()` from '#lib/app', no bundling), synthesized once per content and cached across workers. */
export const synthesizeAppTemplates = (): Promise<StackTemplate[]> => appTemplates();

/**
 * Creates the real app's tables, queues and secrets under a unique prefix on the local stand-ins
 * (call useLocalAws() first) and returns their names/urls/arns plus each function's resolved environment.
 */
export async function provisionTestResources(prefix: string): Promise<TestResources> {
  const stacks = await appTemplates();
  const unique = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  return { ...(await provisionFromTemplates(stacks, { prefix: unique })), stacks };
}
