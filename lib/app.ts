import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.ts';
import { DataStack } from './data-stack.ts';
import { IngestStack } from './ingest-stack.ts';
import { PROJECT_ROOT } from './paths.ts';
import { SyncStack } from './sync-stack.ts';
import { templateValidators } from './template-validator.ts';

export interface BuildAppOptions {
  /** Context values (same keys as cdk.json), e.g. `{'producersync:environment': 'production'}`. */
  readonly context?: Record<string, unknown>;
  /** Cloud assembly directory (default: the CDK default, `cdk.out` under the CLI). */
  readonly outdir?: string;
}

export interface ProducerSyncApp {
  readonly app: App;
  readonly dataStack: DataStack;
  readonly syncStack: SyncStack;
  readonly ingestStack: IngestStack;
}

/**
 * The whole product as one CDK app: ProducerSyncData (tables, retained), ProducerSyncSync
 * (state machine, sync Lambdas, token layer, credentials) and ProducerSyncIngest (webhook API,
 * queue, dispatcher, schedule, alarms). Every synth runs cdk-nag's AwsSolutions checks and the
 * template validator (cfn-guard with the Control Tower proactive controls); a finding fails the synth.
 */
export function buildApp(opts: BuildAppOptions = {}): ProducerSyncApp {
  // cdk.json's context (feature flags included) also applies outside the CLI, so tests synthesize
  // what `cdk synth` does; the CLI's own context (-c, cdk.json) still takes precedence.
  const context = { ...projectContext(), ...opts.context };
  const app = new App({ context, ...(opts.outdir ? { outdir: opts.outdir } : {}) });
  const config = readConfig(app.node);

  const dataStack = new DataStack(app, 'ProducerSyncData', {
    description: 'ProducerSync mirror: data and control tables (retained on delete)',
  });
  const syncStack = new SyncStack(app, 'ProducerSyncSync', {
    description: `ProducerSync mirror: sync state machine and Lambdas (AgentSync ${config.environment})`,
    config,
    dataTable: dataStack.dataTable,
    controlTable: dataStack.controlTable,
  });
  const ingestStack = new IngestStack(app, 'ProducerSyncIngest', {
    description: 'ProducerSync mirror: webhook API, event queue, dispatcher, schedule and alarms',
    config,
    dataTable: dataStack.dataTable,
    controlTable: dataStack.controlTable,
    syncStack,
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), ...templateValidators());
  return { app, dataStack, syncStack, ingestStack };
}

function projectContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}
