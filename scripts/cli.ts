/**
 * `producersync <command> [options]`: the CLI's command registry.
 *
 * Adding a command is one module plus one line here:
 * 1. `scripts/commands/<name>.ts` exports `command = defineCommand({ options, run })` (or
 *    `defineGroup({ subcommands })` for `<name> <subcommand>` commands) from scripts/support/command.ts.
 *    Declare every option once with the builders of scripts/support/options.ts (`flag`, `text`,
 *    `integer`, `calendarDate`, `httpUrl`, `choice`, `npnList`, `npnFile`, `secret`); put rules between
 *    options in `check` (it runs before `run`, so a bad usage never calls AWS). Set `aws: true` if the
 *    command makes AWS SDK clients (spread `ctx.aws` into each), `deployment: true` if it acts on a
 *    deployment (`ctx.deployment`, resolved with scripts/support/deployed-stack.ts). In `run`, end with
 *    `ctx.result(document, text)` (once), send progress to `ctx.log`, and return the exit code.
 *    Usage, `--help`, `--version`, `--output`, usage errors (exit 2) and failures (exit 1) come free.
 * 2. One registry line below: the name, the one-line summary of the top-level usage, and the loader
 *    (modules load only when their command runs, so `producersync` with a typo answers at once).
 */
import { processIo, type CliIo } from './support/cli-io.ts';
import { runCli, type Registry } from './support/command.ts';

const COMMANDS: Registry = {
  sim: { summary: 'run the ProducerSync simulator on 127.0.0.1', load: () => import('./commands/sim.ts') },
  sync: { summary: 'run the sync state machine locally against a ProducerSync server (--local)', load: () => import('./commands/sync.ts') },
  subscriptions: { summary: 'list|add|remove|replace|status NPN subscriptions', load: () => import('./commands/subscriptions.ts') },
  rerun: { summary: 'start a sync execution for a runDate in the deployed account or --local', load: () => import('./commands/rerun.ts') },
  backfill: { summary: 'start a backfill execution for NPNs in the deployed account or --local', load: () => import('./commands/backfill.ts') },
  runs: { summary: 'list recent run records from the control table (deployed or --local)', load: () => import('./commands/runs.ts') },
  producer: { summary: 'one producer from the copy, and may it sell a line in a state today (deployed or --local)', load: () => import('./commands/producer.ts') },
  local: { summary: 'the app on this machine until Ctrl-C (up), a signed webhook to it (send-webhook)', load: () => import('./local-deployment/command.ts') },
  reconcile: { summary: 'start a reconcile run ({"mode":"reconcile"}) in the deployed account or --local', load: () => import('./commands/reconcile.ts') },
  export: { summary: 'write the data table as JSON lines (as sync --out), deployed or --local', load: () => import('./commands/export.ts') },
};

/** Runs `producersync <argv...>` and returns the exit code (`io`: the process's streams, or buffers in tests). */
export function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runCli(COMMANDS, argv, io);
}
