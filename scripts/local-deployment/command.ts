/** `producersync local <up|send-webhook>`: the local deployment (scripts/local-deployment/). */
import { SEND_WEBHOOK_HELP, sendWebhook } from './send-webhook.ts';
import { up, UP_HELP } from './up.ts';

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = { up, 'send-webhook': sendWebhook };

export const HELP = `usage: producersync local <command> [options]

  up             run the app on this machine until Ctrl-C, its state kept in a data directory
  send-webhook   send a signed updates_available to the running local deployment

${UP_HELP}

${SEND_WEBHOOK_HELP}`;

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') return (console.log(HELP), 0);
  const subcommand = name ? SUBCOMMANDS[name] : undefined;
  if (!subcommand) {
    console.error(`producersync local: ${name ? `unknown command "${name}"` : 'a command is required'}\n\n${HELP}`);
    return 2;
  }
  return subcommand(rest);
}
