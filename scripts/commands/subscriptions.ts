import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createProducerSyncClient, type ProducerSyncClient } from '#producersync/client';
import { parseCredentials, type ProducerSyncCredentials } from '#producersync/credentials';
import {
  addSubscriptions,
  getJobDetails,
  getJobStatus,
  listSubscriptions,
  removeSubscriptions,
  replaceSubscriptions,
  waitForJob,
  type JobStatus,
  type SubscriptionJobRef,
} from '#producersync/subscriptions';
import type { AwsClientConfig } from '../support/aws-config.ts';
import { defineCommand, defineGroup, type CommandContext } from '../support/command.ts';
import { credentialOptions, credentialsFrom, missingCredentials } from '../support/credential-options.ts';
import { mergeNpns } from '../support/npn-list.ts';
import { flag, integer, npnFile, text, UsageError, type Options, type Values } from '../support/options.ts';

// ---- options ----

/** Where the client credentials come from: a Secrets Manager secret, or flags / PRODUCERSYNC_* variables. */
const sourceOptions = {
  'secret-id': text({
    placeholder: 'ID',
    env: 'PRODUCERSYNC_SECRET_ID',
    description: 'read {"clientId","clientSecret","scope"?,"tokenUrl"?,"apiBaseUrl"?} from this Secrets Manager secret (honours --profile/--region); the URL flags, when given, win over its URLs',
  }),
  ...credentialOptions,
};
const waitOptions = {
  wait: flag({ description: 'wait for the job(s) to finish and print the per-NPN outcome' }),
  'poll-ms': integer({ default: 2000, min: 1, description: 'how often --wait polls the job (default 2000)' }),
};
const changeOptions = {
  file: npnFile({ description: 'NPNs from FILE ("-" = stdin): one per line, or a CSV (a header line and an "npn" column are understood)' }),
  ...waitOptions,
  'state-dir': text({ placeholder: 'DIR', description: 'where the removal ledger lives (default ~/.producersync)' }),
  ...sourceOptions,
};

const CREDENTIALS = '(--secret-id ID | --api-base-url URL --token-url URL --client-id ID --client-secret S [--scope S])';
const CHANGE_SYNOPSIS = `(NPN... | --file FILE) [--wait] [--poll-ms N] [--state-dir DIR] ${CREDENTIALS}`;

type SourceValues = Values<typeof sourceOptions>;
type ChangeValues = Values<typeof changeOptions>;

/** Without --secret-id, the credentials must all be there before anything is sent. */
function checkSource(values: SourceValues): void {
  const missing = values['secret-id'] ? [] : missingCredentials(values);
  if (missing.length > 0) throw new UsageError(`missing credentials: ${missing.join(', ')} (or --secret-id)`);
}

/** Credentials from --secret-id (URL flags/variables win over the secret's URLs), else from flags and PRODUCERSYNC_* variables. */
export async function resolveCredentials(values: SourceValues, aws: AwsClientConfig): Promise<ProducerSyncCredentials> {
  const secretId = values['secret-id'];
  if (!secretId) return credentialsFrom(values);
  const { SecretString } = await new SecretsManagerClient({ ...aws }).send(new GetSecretValueCommand({ SecretId: secretId }));
  if (typeof SecretString !== 'string') throw new Error(`secret ${secretId} has no SecretString (binary secrets are not supported)`);
  const urls = { ...(values['api-base-url'] ? { apiBaseUrl: values['api-base-url'] } : {}), ...(values['token-url'] ? { tokenUrl: values['token-url'] } : {}) };
  let merged = SecretString;
  try {
    const parsed = JSON.parse(SecretString) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) merged = JSON.stringify({ ...parsed, ...urls });
  } catch {
    // parseCredentials says what is wrong with it, without its value.
  }
  return parseCredentials(merged, secretId);
}

const clientFor = async (context: CommandContext<typeof sourceOptions>): Promise<ProducerSyncClient> =>
  createProducerSyncClient({ credentials: await resolveCredentials(context.values, context.aws) });

// ---- removal ledger ----

interface Ledger {
  version: 1;
  /** NPN → ISO time this machine last removed it. */
  removed: Record<string, string>;
}

/** Assumption (undocumented by AgentSync): the billing period is the calendar month, UTC. */
export const billingPeriodOf = (iso: string): string => iso.slice(0, 7);
const LEDGER_KEEP_MS = 62 * 24 * 3600 * 1000;

const ledgerPath = (stateDir: string | undefined): string => join(stateDir ?? join(homedir(), '.producersync'), 'removed.json');

async function readLedger(path: string): Promise<Ledger> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Ledger>;
    return { version: 1, removed: parsed.removed && typeof parsed.removed === 'object' ? parsed.removed : {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, removed: {} };
    throw new Error(`cannot read the removal ledger ${path}: ${(error as Error).message}`);
  }
}

async function recordRemovals(path: string, npns: readonly string[], now: Date): Promise<void> {
  const ledger = await readLedger(path);
  for (const npn of npns) ledger.removed[npn] = now.toISOString();
  for (const [npn, at] of Object.entries(ledger.removed)) if (now.getTime() - Date.parse(at) > LEDGER_KEEP_MS) delete ledger.removed[npn];
  await mkdir(dirname(path), { recursive: true });
  // Write-then-rename so an interrupted run never leaves a half-written ledger.
  await writeFile(`${path}.tmp`, `${JSON.stringify(ledger, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Warns (on stderr) about NPNs removed earlier this billing period; returns them. */
async function warnAboutResubscribing(path: string, npns: readonly string[], now: Date, log: (line: string) => void): Promise<string[]> {
  const { removed } = await readLedger(path);
  const period = billingPeriodOf(now.toISOString());
  const again = npns.filter((npn) => removed[npn] !== undefined && billingPeriodOf(removed[npn]!) === period);
  if (again.length === 0) return again;
  const shown = again.slice(0, 20).join(', ') + (again.length > 20 ? `, ... (${again.length - 20} more)` : '');
  log(
    `warning: ${again.length} NPN(s) were removed earlier in this billing period (assumed: calendar month ${period}, UTC) ` +
      `and may be billed again when re-subscribed: ${shown}`,
  );
  return again;
}

// ---- job output ----

const SUCCEEDED = /^(SUCCESS|SUCCEEDED|SUCCESSFUL|OK|DONE|COMPLETED?)$/i;
const PENDING = /^(PENDING|IN_PROGRESS|RUNNING|QUEUED)$/i;

/** A finished job's per-NPN outcome. */
export interface JobOutcome {
  id: string;
  status: string | undefined;
  /** How many per-NPN results the API listed. */
  results: number;
  succeeded: number;
  pending: number;
  failed: Array<{ npn: string; status: string; message?: string }>;
}

async function jobOutcome(client: ProducerSyncClient, status: JobStatus): Promise<JobOutcome> {
  const { results } = await getJobDetails(client, status.id);
  const outcome: JobOutcome = { id: status.id, status: status.status, results: results.length, succeeded: 0, pending: 0, failed: [] };
  for (const result of results) {
    const state = String(result.status ?? result.result ?? result.state ?? '');
    if (SUCCEEDED.test(state)) outcome.succeeded++;
    else if (PENDING.test(state)) outcome.pending++;
    else outcome.failed.push({ npn: String(result.npn ?? '?'), status: state || 'no status', ...(result.message ? { message: String(result.message) } : {}) });
  }
  return outcome;
}

function formatOutcome(outcome: JobOutcome): string {
  const lines = [`job ${outcome.id}: ${outcome.status ?? 'status not reported'}`];
  if (outcome.results === 0) return [...lines, '  the API listed no per-NPN results'].join('\n');
  lines.push(`  ${outcome.succeeded} succeeded, ${outcome.failed.length} failed${outcome.pending ? `, ${outcome.pending} still pending` : ''}`);
  for (const f of outcome.failed) lines.push(`  ${f.npn}: ${f.status}${f.message ? ` (${f.message})` : ''}`);
  return lines.join('\n');
}

interface JobReport {
  jobId: string | undefined;
  npnCount: number;
  httpStatus: number;
  message?: string;
  outcome?: JobOutcome;
}

/** Says which jobs were accepted and, with --wait, how each ended; the reports and the exit code (1 if an NPN failed). */
async function reportJobs(context: CommandContext<Options>, client: ProducerSyncClient, jobs: SubscriptionJobRef[], values: ChangeValues): Promise<{ jobs: JobReport[]; exitCode: number }> {
  const reports: JobReport[] = [];
  let failed = 0;
  for (const job of jobs) {
    const report: JobReport = { jobId: job.jobId, npnCount: job.npnCount, httpStatus: job.status, ...(job.message ? { message: job.message } : {}) };
    reports.push(report);
    if (!job.jobId) {
      context.info(`request for ${job.npnCount} NPN(s) accepted (HTTP ${job.status}, no job id returned)`);
      continue;
    }
    context.info(`job ${job.jobId} accepted for ${job.npnCount} NPN(s)${job.message ? `: ${job.message}` : ''}`);
    if (!values.wait) continue;
    report.outcome = await jobOutcome(client, await waitForJob(client, job.jobId, { pollMs: values['poll-ms'] }));
    context.info(formatOutcome(report.outcome));
    failed += report.outcome.failed.length;
  }
  return { jobs: reports, exitCode: failed > 0 ? 1 : 0 };
}

// ---- subcommands ----

const npnArguments = { placeholder: 'NPN...', npns: true } as const;
const npnsOf = (context: CommandContext<typeof changeOptions>): string[] => mergeNpns(context.positionals, context.values.file);
const checkChange = (values: ChangeValues, positionals: readonly string[]): void => {
  if (mergeNpns(positionals, values.file).length === 0) throw new UsageError('give NPNs (arguments or --file)');
  checkSource(values);
};

const list = defineCommand({
  summary: "print the account's subscribed NPNs, one per line",
  synopsis: CREDENTIALS,
  options: sourceOptions,
  aws: true,
  check: checkSource,
  async run(context) {
    const npns = await listSubscriptions(await clientFor(context));
    context.log(`${npns.length} subscribed NPN(s)`);
    context.result({ npns }, npns.length > 0 ? npns.join('\n') : undefined);
  },
});

interface Change {
  npns: string[];
  client: ProducerSyncClient;
  now: Date;
  /** The removal ledger's path. */
  ledger: string;
  log: (line: string) => void;
}

/** add, remove and replace: the same options and checks; `submit` sends the change and names what else the result holds. */
function changeCommand(summary: string, submit: (change: Change) => Promise<{ jobs: SubscriptionJobRef[]; extra?: Record<string, unknown> }>) {
  return defineCommand({
    summary,
    synopsis: CHANGE_SYNOPSIS,
    options: changeOptions,
    positionals: npnArguments,
    aws: true,
    check: checkChange,
    async run(context) {
      const change: Change = { npns: npnsOf(context), client: await clientFor(context), now: new Date(), ledger: ledgerPath(context.values['state-dir']), log: context.log };
      const { jobs: submitted, extra } = await submit(change);
      const { jobs, exitCode } = await reportJobs(context, change.client, submitted, context.values);
      context.result({ jobs, ...extra });
      return exitCode;
    },
  });
}

const add = changeCommand('subscribe these NPNs (PUT, appends)', async ({ npns, client, now, ledger, log }) => {
  const resubscribed = await warnAboutResubscribing(ledger, npns, now, log);
  return { jobs: await addSubscriptions(client, npns), extra: { resubscribedThisPeriod: resubscribed } };
});

const remove = changeCommand('unsubscribe these NPNs (DELETE)', async ({ npns, client, now, ledger }) => {
  const jobs = await removeSubscriptions(client, npns);
  await recordRemovals(ledger, npns, now);
  return { jobs };
});

const replace = changeCommand('make the list exactly these NPNs (POST); NPNs not listed are unsubscribed', async ({ npns, client, now, ledger, log }) => {
  // Say what a replace drops, and remember it: dropped NPNs are removals for billing too.
  const keep = new Set(npns);
  const dropped = (await listSubscriptions(client)).filter((npn) => !keep.has(npn));
  const resubscribed = await warnAboutResubscribing(ledger, npns, now, log);
  if (dropped.length > 0) log(`replace unsubscribes ${dropped.length} NPN(s) not in the new list`);
  const jobs = await replaceSubscriptions(client, npns);
  if (dropped.length > 0) await recordRemovals(ledger, dropped, now);
  return { jobs, extra: { dropped, resubscribedThisPeriod: resubscribed } };
});

const status = defineCommand({
  summary: 'show a subscription job and its per-NPN results',
  synopsis: `--job JOBID [--wait] [--poll-ms N] ${CREDENTIALS}`,
  options: { job: text({ placeholder: 'JOBID', required: true, description: 'the job' }), ...waitOptions, ...sourceOptions },
  aws: true,
  check: (values) => checkSource(values),
  async run(context) {
    const { values } = context;
    const client = await clientFor(context);
    const job = values.wait ? await waitForJob(client, values.job, { pollMs: values['poll-ms'] }) : await getJobStatus(client, values.job);
    if (!job.done) return context.result({ job: { id: job.id, status: job.status, done: false } }, `job ${job.id}: ${job.status ?? 'in progress'}`);
    const outcome = await jobOutcome(client, job);
    context.result({ job: { id: job.id, status: job.status, done: true }, outcome }, formatOutcome(outcome));
    return outcome.failed.length > 0 ? 1 : 0;
  },
});

export const command = defineGroup({
  description:
    'Credentials: --secret-id ID (a Secrets Manager secret; --profile/--region apply), or --api-base-url,\n' +
    '--token-url, --client-id and --client-secret (or --client-secret-file F; each also from its PRODUCERSYNC_*\n' +
    'variable). Subscriptions are billed per billing period. Re-subscribing an NPN that was removed earlier in the\n' +
    'same period may be billed again, so add/replace warn about NPNs this machine removed this period (a local\n' +
    'ledger; the period is assumed to be the calendar month in UTC, AgentSync does not document it).',
  subcommands: { list, add, remove, replace, status },
});
