/**
 * `producersync <command> [options]`. Each command lives in scripts/commands/<command>.ts
 * and exports `run(args): Promise<number>` (the exit code).
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: (args: string[]) => Promise<number> }> }> = {
  sim: { summary: 'run the ProducerSync simulator on 127.0.0.1', load: () => import('./commands/sim.ts') },
  sync: { summary: 'run the sync state machine locally against a ProducerSync server (--local)', load: () => import('./commands/sync.ts') },
  subscriptions: { summary: 'list|add|remove|replace|status NPN subscriptions', load: () => import('./commands/subscriptions.ts') },
  rerun: { summary: 'start a sync execution for a runDate in the deployed account', load: () => import('./commands/rerun.ts') },
  backfill: { summary: 'start a backfill execution for NPNs in the deployed account', load: () => import('./commands/backfill.ts') },
  runs: { summary: 'list recent run records from the control table', load: () => import('./commands/runs.ts') },
  local: { summary: 'up: run the app on this machine until Ctrl-C; send-webhook: a signed updates_available to it', load: () => import('./local-deployment/command.ts') },
  reconcile: { summary: 'start a reconcile run ({"mode":"reconcile"}) in the deployed account or --local', load: () => import('./commands/reconcile.ts') },
  export: { summary: 'write the data table as JSON lines (as sync --out) from the deployed account or --local', load: () => import('./commands/export.ts') },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`);
  return `usage: producersync <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "producersync <command> --help" for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`producersync: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(args);
  } catch (error) {
    console.error(`producersync ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
