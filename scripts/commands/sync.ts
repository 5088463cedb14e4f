import type { LocalHarness } from '#local/harness';
import { InvalidInputError, parseSyncInput } from '#sync/sync-input';
import { defineCommand } from '../support/command.ts';
import { elapsedLog, reportOutcome } from '../support/console-report.ts';
import { credentialOptions, credentialsFrom, missingCredentials } from '../support/credential-options.ts';
import { calendarDate, flag, text, UsageError } from '../support/options.ts';
import { watchRunProgress } from '../support/run-progress.ts';
import { readSyncedRecords, writeJsonLines } from '../support/table-export.ts';

export const command = defineCommand({
  synopsis: '--local (--full | --run-date YYYY-MM-DD) --api-base-url URL --token-url URL --client-id ID --client-secret S [--scope S] [--out FILE]',
  description:
    'Runs the synthesized sync state machine on this machine (local DynamoDB, local Step Functions; no AWS\n' +
    'account) against any ProducerSync-compatible server: the simulator, the real sandbox or another stand-in.\n' +
    'The credentials are kept in the local Secrets Manager stand-in for the run, never printed. Exits 0 if the\n' +
    'run succeeded (and the file was written), 1 with the reason if it failed, 2 on bad usage.',
  options: {
    local: flag({
      description: 'required: local mode is the only mode (a deployed account syncs on its own schedule; use "producersync rerun" / "backfill" there)',
    }),
    full: flag({ description: 'backfill: every record of every subscribed NPN ({"mode":"backfill"})' }),
    'run-date': calendarDate({ description: 'the day\'s changes only ({"runDate":"D"}, updatedSince=D)' }),
    ...credentialOptions,
    out: text({
      placeholder: 'FILE',
      description: 'on success, the synced table as JSON lines, one per stored source record:\n' +
        '{"type":"licenses","npn":"...","id":123,"deleted":false,"record":{...}}',
    }),
  },
  check(values) {
    if (!values.local) throw new UsageError('only local mode exists: pass --local (the state machine runs here, into local DynamoDB)');
    if (values.full === (values['run-date'] !== undefined)) throw new UsageError('give exactly one of --full and --run-date YYYY-MM-DD');
    try {
      parseSyncInput(values.full ? { mode: 'backfill' } : { runDate: values['run-date'] });
    } catch (error) {
      if (error instanceof InvalidInputError) throw new UsageError(`--run-date: ${error.message}`);
      throw error;
    }
    const missing = missingCredentials(values);
    if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}`);
  },
  async run(context) {
    const { values } = context;
    const input = values.full ? { mode: 'backfill' } : { runDate: values['run-date']! };
    const credentials = credentialsFrom(values);
    const log = elapsedLog(Date.now(), context.log);
    // Loaded here, not at the top: the usage and its errors need none of the local harness.
    const { startHarness } = await import('#local/harness');
    const { runExecution } = await import('../local-deployment/outcome.ts');
    let harness: LocalHarness | undefined;
    let progress: { stop(): void } | undefined;
    try {
      // A throw-away deployment (in-memory DynamoDB Local); serial GC: G1's threads would compete for the cores.
      harness = await startHarness({ log, dynamo: { javaOptions: ['-XX:+UseSerialGC'] }, exitOnSignal: (signal) => (signal === 'SIGINT' ? 130 : 143) });
      await harness.useProducerSyncApi(credentials);
      const name = 'runDate' in input ? `cli-run-${input.runDate}-${Date.now()}` : `cli-full-${Date.now()}`;
      progress = watchRunProgress({ dynamo: harness.dynamo, controlTable: harness.resources.controlTable, runId: () => name, log });
      log(`${name}: ${JSON.stringify(input)} against ${credentials.apiBaseUrl}`);
      const outcome = await runExecution(harness, name, input);
      progress.stop();
      reportOutcome(outcome, log, [], context.info);
      let written: { file: string; records: number } | undefined;
      if (outcome.status === 'SUCCEEDED' && values.out) {
        const lines = await readSyncedRecords(harness.dynamo, harness.resources.dataTable);
        await writeJsonLines(values.out, lines);
        written = { file: values.out, records: lines.length };
        log(`wrote ${lines.length.toLocaleString('en-US')} records to ${values.out}`);
      }
      context.result({ ...outcome, ...(written ? { out: written } : {}) });
      if (outcome.status !== 'SUCCEEDED') {
        context.log(`producersync sync: the run ${outcome.status}: ${outcome.failure ?? 'see the failed endpoints above'}`);
        return 1;
      }
      return 0;
    } catch (error) {
      if (harness?.interrupted) return 130;
      throw error;
    } finally {
      progress?.stop();
      await harness?.stop();
    }
  },
});
