import { parseArgs } from 'node:util';
import { isCalendarDate } from '#sync/record-validation';
import { startHarness, type LocalHarness } from '#local/harness';
import { runExecution } from '../local-deployment/outcome.ts';
import { elapsedLog, reportOutcome } from '../support/console-report.ts';
import { watchRunProgress } from '../support/run-progress.ts';
import { readSyncedRecords, writeJsonLines } from '../support/table-export.ts';

const HELP = `usage: producersync sync --local (--full | --run-date YYYY-MM-DD) --api-base-url URL --token-url URL
                        --client-id ID --client-secret SECRET [--out FILE]

Runs the synthesized sync state machine on this machine (local DynamoDB, local Step Functions; no AWS
account) against any ProducerSync-compatible server: the simulator, the real sandbox or another stand-in.

  --local               required: local mode is the only mode (a deployed account syncs on its own schedule;
                        use "producersync rerun" / "producersync backfill" there)
  --full                backfill: every record of every subscribed NPN ({"mode":"backfill"})
  --run-date D          the day's changes only ({"runDate":"D"}, updatedSince=D)
  --api-base-url URL    e.g. https://api.sandbox.agentsync.io
  --token-url URL       the OAuth2 client-credentials token endpoint, e.g. https://auth.sandbox.agentsync.io/oauth2/token
  --client-id ID, --client-secret SECRET
                        kept in the local Secrets Manager stand-in for the run, never printed
  --out FILE            on success, the synced table as JSON lines, one per stored source record:
                        {"type":"licenses","npn":"...","id":123,"deleted":false,"record":{...}}

Exits 0 if the run succeeded (and the file was written), 1 with the reason if it failed, 2 on bad usage.`;

interface SyncOptions {
  input: { mode: 'backfill' } | { runDate: string };
  apiBaseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  out?: string;
}

/** The options, or the usage error to print. */
function parseOptions(args: string[]): SyncOptions | { help: true } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        local: { type: 'boolean', default: false },
        full: { type: 'boolean', default: false },
        'run-date': { type: 'string' },
        'api-base-url': { type: 'string' },
        'token-url': { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    return { error: (error as Error).message };
  }
  if (values.help) return { help: true };
  if (!values.local) return { error: 'only local mode exists: pass --local (the state machine runs here, into local DynamoDB)' };
  if (values.full === (values['run-date'] !== undefined)) return { error: 'give exactly one of --full and --run-date YYYY-MM-DD' };
  const runDate = values['run-date'];
  if (runDate !== undefined && !isCalendarDate(runDate)) return { error: `--run-date must be a calendar date YYYY-MM-DD, got "${runDate}"` };
  const missing = (['api-base-url', 'token-url', 'client-id', 'client-secret'] as const).filter((name) => !values[name]);
  if (missing.length > 0) return { error: `missing ${missing.map((name) => `--${name}`).join(', ')}` };
  for (const name of ['api-base-url', 'token-url'] as const) {
    const protocol = URL.parse(values[name]!)?.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') return { error: `--${name} must be an http(s) URL` };
  }
  return {
    input: runDate === undefined ? { mode: 'backfill' } : { runDate },
    apiBaseUrl: values['api-base-url']!,
    tokenUrl: values['token-url']!,
    clientId: values['client-id']!,
    clientSecret: values['client-secret']!,
    ...(values.out ? { out: values.out } : {}),
  };
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  if ('help' in options) return (console.log(HELP), 0);
  if ('error' in options) return (console.error(`producersync sync: ${options.error}\n\n${HELP}`), 2);

  const log = elapsedLog();
  // A secret can still surface inside an upstream error message; it never reaches the terminal.
  const redact = (text: string): string => text.replaceAll(options.clientSecret, '[redacted]');
  let harness: LocalHarness | undefined;
  let progress: { stop(): void } | undefined;
  try {
    harness = await startHarness({ log, dynamo: { javaOptions: ['-XX:+UseSerialGC'] }, exitOnSignal: (signal) => (signal === 'SIGINT' ? 130 : 143) });
    const { clientId, clientSecret, tokenUrl, apiBaseUrl } = options;
    await harness.useProducerSyncApi({ clientId, clientSecret, tokenUrl, apiBaseUrl });
    const name = 'runDate' in options.input ? `cli-run-${options.input.runDate}-${Date.now()}` : `cli-full-${Date.now()}`;
    progress = watchRunProgress({ dynamo: harness.dynamo, controlTable: harness.resources.controlTable, runId: () => name, log });
    log(`${name}: ${JSON.stringify(options.input)} against ${apiBaseUrl}`);
    const outcome = await runExecution(harness, name, options.input);
    progress.stop();
    reportOutcome({ ...outcome, ...(outcome.failure ? { failure: redact(outcome.failure) } : {}) }, (line) => log(redact(line)));
    if (outcome.status !== 'SUCCEEDED') {
      console.error(`producersync sync: the run ${outcome.status}: ${redact(outcome.failure ?? 'see the failed endpoints above')}`);
      return 1;
    }
    if (options.out) {
      const lines = await readSyncedRecords(harness.dynamo, harness.resources.dataTable);
      await writeJsonLines(options.out, lines);
      log(`wrote ${lines.length.toLocaleString('en-US')} records to ${options.out}`);
    }
    return 0;
  } catch (error) {
    if (harness?.interrupted) return 130;
    console.error(`producersync sync: ${redact(error instanceof Error ? error.message : String(error))}`);
    return 1;
  } finally {
    progress?.stop();
    await harness?.stop();
  }
}
