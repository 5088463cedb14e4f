/**
 * The benchmarks' part of the local harness: its stand-ins (one DynamoDB Local, Secrets Manager shim and fauxqs
 * for the whole run) and one synthesis of the real app with the esbuild bundling `cdk synth` does (the bundle
 * figure reads its assets). The sync itself runs in a separate process (sync-process.ts) with the same handlers.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { provisionFromTemplates, type ProvisionResult } from '#local/provision';
import { startStandIns } from '#local/stand-ins';
import { bundledAppTemplates } from '#local/synth';
import type { StackTemplate } from '#local/template';

export interface BenchStack {
  /** The real app's templates, synthesized once with bundling on. */
  stacks: StackTemplate[];
  /** Cloud assembly directory: `asset.<hash>/index.mjs` per function, the token layer tree. */
  assemblyDir: string;
  /** AWS_* variables pointing the SDK at the local stand-ins (also handed to the sync worker). */
  awsEnv: Record<string, string>;
  /** Tables, queues and secrets of the app under a fresh prefix. */
  provision(prefix: string): Promise<ProvisionResult>;
  stop(): Promise<void>;
}

export async function startBenchStack(cacheDir: string): Promise<BenchStack> {
  const assemblyDir = join(cacheDir, 'cdk.out');
  rmSync(assemblyDir, { recursive: true, force: true });
  const stacks = await bundledAppTemplates(assemblyDir);
  const standIns = await startStandIns();
  let runs = 0;
  return {
    stacks,
    assemblyDir,
    awsEnv: standIns.env,
    provision: (prefix) => provisionFromTemplates(stacks, { prefix: `${prefix}-${Date.now().toString(36)}-${runs++}` }),
    stop: () => standIns.stop(),
  };
}
