import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProducerSyncClient, type ProducerSyncClient } from '#producersync/client';
import { loadCredentials, type ProducerSyncCredentials } from '#producersync/credentials';
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
import { InvalidNpnListError, parseNpnList } from '../support/npn-list.ts';

const HELP = `usage: producersync subscriptions <list|add|remove|replace|status> [NPN ...] [options]

  list                      print the account's subscribed NPNs, one per line
  add NPN... | --file F     subscribe these NPNs (PUT, appends)
  remove NPN... | --file F  unsubscribe these NPNs (DELETE)
  replace NPN... | --file F make the list exactly these NPNs (POST); NPNs not listed are unsubscribed
  status --job JOBID        show a subscription job and its per-NPN results

options:
  --file F           NPNs from a file: one per line, or CSV (a header line and an "npn" column are understood)
  --wait             wait for the job(s) to finish and print the per-NPN outcome
  --job JOBID        the job for "status"
  --poll-ms N        how often --wait polls the job (default 2000)
  --state-dir D      where the removal ledger lives (default ~/.producersync)
  credentials, either
    --secret-id ID   read {"clientId","clientSecret","scope"?,"tokenUrl","apiBaseUrl"} from Secrets Manager
  or (flags win over the environment)
    --api-base-url URL   / PRODUCERSYNC_API_BASE_URL
    --token-url URL      / PRODUCERSYNC_TOKEN_URL
    --client-id ID       / PRODUCERSYNC_CLIENT_ID
    --client-secret S    / PRODUCERSYNC_CLIENT_SECRET (prefer the variable: flags show up in the process list)
    --scope S            / PRODUCERSYNC_SCOPE

Subscriptions are billed per billing period. Re-subscribing an NPN that was removed earlier in the
same period may be billed again, so add/replace warn about NPNs this machine removed this period
(a local ledger; the period is assumed to be the calendar month in UTC, AgentSync does not document it).`;

const ACTIONS = ['list', 'add', 'remove', 'replace', 'status'] as const;
type Action = (typeof ACTIONS)[number];


type Values = Record<string, string | boolean | undefined>;

/** Bad input from the operator: exit code 2 with a pointer to --help. */
class UsageError extends Error {}

const text = (values: Values, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

/** Credentials from --secret-id, else from flags and PRODUCERSYNC_* variables. Errors name what is missing, never a value. */
export async function resolveCredentials(values: Values, env: NodeJS.ProcessEnv = process.env): Promise<ProducerSyncCredentials> {
  const secretId = text(values, 'secret-id') ?? env.PRODUCERSYNC_SECRET_ID;
  if (secretId) return loadCredentials(secretId);
  const fields = {
    apiBaseUrl: text(values, 'api-base-url') ?? env.PRODUCERSYNC_API_BASE_URL,
    tokenUrl: text(values, 'token-url') ?? env.PRODUCERSYNC_TOKEN_URL,
    clientId: text(values, 'client-id') ?? env.PRODUCERSYNC_CLIENT_ID,
    clientSecret: text(values, 'client-secret') ?? env.PRODUCERSYNC_CLIENT_SECRET,
  };
  const flagOf: Record<keyof typeof fields, string> = {
    apiBaseUrl: '--api-base-url',
    tokenUrl: '--token-url',
    clientId: '--client-id',
    clientSecret: '--client-secret',
  };
  const missing = (Object.keys(fields) as Array<keyof typeof fields>).filter((k) => !fields[k]).map((k) => flagOf[k]);
  if (missing.length > 0) throw new UsageError(`missing credentials: ${missing.join(', ')} (or --secret-id)`);
  for (const key of ['apiBaseUrl', 'tokenUrl'] as const) {
    if (!URL.canParse(fields[key]!)) throw new UsageError(`${flagOf[key]} is not an absolute URL`);
  }
  const scope = text(values, 'scope') ?? env.PRODUCERSYNC_SCOPE;
  return {
    apiBaseUrl: fields.apiBaseUrl!.replace(/\/+$/, ''),
    tokenUrl: fields.tokenUrl!,
    clientId: fields.clientId!,
    clientSecret: fields.clientSecret!,
    ...(scope ? { scope } : {}),
  };
}

/** NPNs from the command line and/or a file (parseNpnList's rules), deduplicated in first-seen order. */
export function collectNpns(positional: readonly string[], fileText: string | undefined): string[] {
  try {
    return [...new Set([...parseNpnList(positional.join('\n'), { allowHeader: false }), ...(fileText === undefined ? [] : parseNpnList(fileText))])];
  } catch (error) {
    if (error instanceof InvalidNpnListError) throw new UsageError(error.message);
    throw error;
  }
}

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

async function warnAboutResubscribing(path: string, npns: readonly string[], now: Date): Promise<void> {
  const { removed } = await readLedger(path);
  const period = billingPeriodOf(now.toISOString());
  const again = npns.filter((npn) => removed[npn] !== undefined && billingPeriodOf(removed[npn]!) === period);
  if (again.length === 0) return;
  const shown = again.slice(0, 20).join(', ') + (again.length > 20 ? `, ... (${again.length - 20} more)` : '');
  console.error(
    `warning: ${again.length} NPN(s) were removed earlier in this billing period (assumed: calendar month ${period}, UTC) ` +
      `and may be billed again when re-subscribed: ${shown}`,
  );
}

// ---- job output ----

const SUCCEEDED = /^(SUCCESS|SUCCEEDED|SUCCESSFUL|OK|DONE|COMPLETED?)$/i;
const PENDING = /^(PENDING|IN_PROGRESS|RUNNING|QUEUED)$/i;

/** Prints a finished job's per-NPN outcome; returns how many NPNs failed. */
async function printJobOutcome(client: ProducerSyncClient, status: JobStatus): Promise<number> {
  console.log(`job ${status.id}: ${status.status ?? 'status not reported'}`);
  const { results } = await getJobDetails(client, status.id);
  let succeeded = 0;
  let pending = 0;
  const failures: string[] = [];
  for (const result of results) {
    const outcome = String(result.status ?? result.result ?? result.state ?? '');
    if (SUCCEEDED.test(outcome)) succeeded++;
    else if (PENDING.test(outcome)) pending++;
    else failures.push(`  ${String(result.npn ?? '?')}: ${outcome || 'no status'}${result.message ? ` (${String(result.message)})` : ''}`);
  }
  if (results.length === 0) {
    console.log('  the API listed no per-NPN results');
    return 0;
  }
  console.log(`  ${succeeded} succeeded, ${failures.length} failed${pending ? `, ${pending} still pending` : ''}`);
  if (failures.length > 0) console.log(failures.join('\n'));
  return failures.length;
}

async function reportJobs(client: ProducerSyncClient, jobs: SubscriptionJobRef[], wait: boolean, pollMs: number): Promise<number> {
  let failed = 0;
  for (const job of jobs) {
    if (!job.jobId) {
      console.log(`request for ${job.npnCount} NPN(s) accepted (HTTP ${job.status}, no job id returned)`);
      continue;
    }
    console.log(`job ${job.jobId} accepted for ${job.npnCount} NPN(s)${job.message ? `: ${job.message}` : ''}`);
    if (wait) failed += await printJobOutcome(client, await waitForJob(client, job.jobId, { pollMs }));
  }
  return failed > 0 ? 1 : 0;
}

// ---- command ----

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        file: { type: 'string' },
        job: { type: 'string' },
        wait: { type: 'boolean', default: false },
        'poll-ms': { type: 'string', default: '2000' },
        'state-dir': { type: 'string' },
        'secret-id': { type: 'string' },
        'api-base-url': { type: 'string' },
        'token-url': { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        scope: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, ...npnArgs] = positionals;
  if (values.help) return (console.log(HELP), 0);
  if (!action || !(ACTIONS as readonly string[]).includes(action)) {
    console.error(`${action ? `unknown action "${action}"` : 'give an action'}\n\n${HELP}`);
    return 2;
  }
  const pollMs = Number(values['poll-ms']);
  try {
    if (!Number.isFinite(pollMs) || pollMs <= 0) throw new UsageError('--poll-ms must be a positive number');
    const npns = collectNpns(npnArgs, values.file ? await readFile(values.file, 'utf8') : undefined);
    const needsNpns = action === 'add' || action === 'remove' || action === 'replace';
    if (needsNpns && npns.length === 0) throw new UsageError(`"${action}" needs NPNs (arguments or --file)`);
    if (!needsNpns && npns.length > 0) throw new UsageError(`"${action}" takes no NPNs`);
    if (action === 'status' && !values.job) throw new UsageError('"status" needs --job JOBID');
    const client = createProducerSyncClient({ credentials: await resolveCredentials(values) });
    return await perform(action as Action, { client, npns, values, pollMs, ledger: ledgerPath(values['state-dir']) });
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\nRun "producersync subscriptions --help" for usage.`);
      return 2;
    }
    throw error;
  }
}

interface Context {
  client: ProducerSyncClient;
  npns: string[];
  values: Values;
  pollMs: number;
  ledger: string;
}

async function perform(action: Action, { client, npns, values, pollMs, ledger }: Context): Promise<number> {
  const wait = values.wait === true;
  const now = new Date();
  switch (action) {
    case 'list': {
      const subscribed = await listSubscriptions(client);
      for (const npn of subscribed) console.log(npn);
      console.error(`${subscribed.length} subscribed NPN(s)`);
      return 0;
    }
    case 'add': {
      await warnAboutResubscribing(ledger, npns, now);
      return reportJobs(client, await addSubscriptions(client, npns), wait, pollMs);
    }
    case 'remove': {
      const jobs = await removeSubscriptions(client, npns);
      await recordRemovals(ledger, npns, now);
      return reportJobs(client, jobs, wait, pollMs);
    }
    case 'replace': {
      // Say what a replace drops, and remember it: dropped NPNs are removals for billing too.
      const keep = new Set(npns);
      const dropped = (await listSubscriptions(client)).filter((npn) => !keep.has(npn));
      await warnAboutResubscribing(ledger, npns, now);
      if (dropped.length > 0) console.error(`replace unsubscribes ${dropped.length} NPN(s) not in the new list`);
      const jobs = await replaceSubscriptions(client, npns);
      if (dropped.length > 0) await recordRemovals(ledger, dropped, now);
      return reportJobs(client, jobs, wait, pollMs);
    }
    case 'status': {
      const jobId = String(values.job);
      const status = wait ? await waitForJob(client, jobId, { pollMs }) : await getJobStatus(client, jobId);
      if (!status.done) {
        console.log(`job ${status.id}: ${status.status ?? 'in progress'}`);
        return 0;
      }
      return (await printJobOutcome(client, status)) > 0 ? 1 : 0;
    }
  }
}
