/**
 * Physical names of one deployment (a stage): the one home of the naming rule, shared by the CDK app
 * and the CLI. Pure (no aws-cdk-lib import), so the CLI can load it cheaply.
 *
 * With no stage, the names are those of deployments made before stages existed, so a redeploy of
 * such a deployment keeps its stacks (and their tables and secrets). A stage prefixes every name, so
 * two stages in one account never update each other.
 */
export interface DeploymentNames {
  /** The stage, or undefined for the unstaged (original) deployment. */
  readonly stage: string | undefined;
  /** Prefix for every other physical name of this deployment: `ProducerSync` or `ProducerSync-<stage>`. */
  readonly prefix: string;
  readonly stacks: { readonly data: string; readonly sync: string; readonly ingest: string };
  /** The sync state machine (fixed, so the CLI, the console and least-privilege grants know execution ARNs). */
  readonly stateMachine: string;
  /** The CloudWatch dashboard (unique per account). */
  readonly dashboard: string;
}

/** Letters, digits and hyphens, starting with a letter: valid inside stack, state machine, dashboard and API names. */
export const STAGE_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,23}$/;

export function isStageName(value: string): boolean {
  return STAGE_PATTERN.test(value);
}

/** The names of the deployment of `stage` (undefined or '' = the unstaged deployment). Throws on an invalid stage. */
export function deploymentNames(stage?: string): DeploymentNames {
  if (stage === undefined || stage === '') {
    return {
      stage: undefined,
      prefix: 'ProducerSync',
      stacks: { data: 'ProducerSyncData', sync: 'ProducerSyncSync', ingest: 'ProducerSyncIngest' },
      stateMachine: 'ProducerSync-Sync',
      dashboard: 'ProducerSync',
    };
  }
  if (!isStageName(stage)) {
    throw new Error(`stage must be 1-24 letters, digits or hyphens starting with a letter, got ${JSON.stringify(stage)}`);
  }
  const prefix = `ProducerSync-${stage}`;
  return {
    stage,
    prefix,
    stacks: { data: `${prefix}-Data`, sync: `${prefix}-Sync`, ingest: `${prefix}-Ingest` },
    stateMachine: `${prefix}-SyncRun`,
    dashboard: prefix,
  };
}
