/** `producersync local <up|send-webhook>`: the local deployment (scripts/local-deployment/). */
import { defineGroup } from '../support/command.ts';
import { command as sendWebhook } from './send-webhook.ts';
import { command as up } from './up.ts';

export const command = defineGroup({
  description:
    'The operator commands runs, rerun, backfill, reconcile and export act on the local deployment with\n' +
    '--local [--data-dir DIR]; local/README.md tells a downstream team how to read its change feed.',
  subcommands: { up, 'send-webhook': sendWebhook },
});
