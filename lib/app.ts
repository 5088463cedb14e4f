import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { changeFeedsFromContext, propsFromContext } from './config.ts';
import type { DataStack } from './data-stack.ts';
import type { IngestStack } from './ingest-stack.ts';
import { PACKAGE_ROOT } from './paths.ts';
import { ProducerSyncPipeline } from './pipeline.ts';
import type { SyncStack } from './sync-stack.ts';
import { templateValidators } from './template-validator.ts';

export interface BuildAppOptions {
  /** Context values (same keys as cdk.json), e.g. `{'producersync:environment': 'production'}`. */
  readonly context?: Record<string, unknown>;
  /** Cloud assembly directory (default: the CDK default, `cdk.out` under the CLI). */
  readonly outdir?: string;
}

export interface ProducerSyncApp {
  readonly app: App;
  readonly pipeline: ProducerSyncPipeline;
  readonly dataStack: DataStack;
  readonly syncStack: SyncStack;
  readonly ingestStack: IngestStack;
}

/**
 * This repository's CDK app: the {@link ProducerSyncPipeline} construct with its props from context
 * (cdk.json, `-c key=value`). Every synth runs cdk-nag's AwsSolutions checks and the template validator
 * (cfn-guard with the Control Tower proactive controls); a finding fails the synth.
 */
export function buildApp(opts: BuildAppOptions = {}): ProducerSyncApp {
  // cdk.json's context (feature flags included) also applies outside the CLI, so tests synthesize
  // what `cdk synth` does; the CLI's own context (-c, cdk.json) still takes precedence.
  const context = { ...checkoutContext(), ...opts.context };
  const app = new App({ context, ...(opts.outdir ? { outdir: opts.outdir } : {}) });
  const pipeline = new ProducerSyncPipeline(app, 'ProducerSync', propsFromContext(app.node));
  for (const [team, options] of Object.entries(changeFeedsFromContext(app.node))) pipeline.addChangeFeed(team, options);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), ...templateValidators());
  return { app, pipeline, dataStack: pipeline.dataStack, syncStack: pipeline.syncStack, ingestStack: pipeline.ingestStack };
}

/** The checkout's cdk.json context (this app only: the construct itself never reads it). */
function checkoutContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}
