/** `producersync local send-webhook --run-date D`: a signed `updates_available` to the local deployment, like the portal's test button. */
import { parseArgs } from 'node:util';
import { isCalendarDate } from '#sync/record-validation';
import { sendSignedWebhook } from '#sim/webhook-sender';
import { connectLocalDeployment } from './connect.ts';
import { readSecretFile, UsageError } from './data-dir.ts';

export const SEND_WEBHOOK_HELP = `usage: producersync local send-webhook --run-date YYYY-MM-DD [--data-dir DIR]

Sends a Svix-signed producersync.updates_available event for that runDate to the webhook URL of the local
deployment running on DIR (default .producersync/local), signed with its secret. Prints the HTTP status and
the event id; exits 0 on 202, 1 on any other answer, 2 on bad usage or when no local deployment runs there.`;

export async function sendWebhook(args: string[]): Promise<number> {
  let runDate: string;
  let dir: string | undefined;
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      options: { 'run-date': { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    });
    if (values.help) return (console.log(SEND_WEBHOOK_HELP), 0);
    if (!values['run-date'] || !isCalendarDate(values['run-date'])) throw new UsageError('--run-date YYYY-MM-DD (a calendar date) is required');
    runDate = values['run-date'];
    dir = values['data-dir'];
  } catch (error) {
    console.error(`producersync local send-webhook: ${(error as Error).message}\n\n${SEND_WEBHOOK_HELP}`);
    return 2;
  }
  let target;
  try {
    const deployment = connectLocalDeployment(dir);
    target = { url: deployment.webhookUrl, secret: readSecretFile(deployment.webhookSecretFile, 'the webhook secret file') };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`producersync local send-webhook: ${error.message}`);
    return 2;
  }
  const delivery = await sendSignedWebhook(target, 'producersync.updates_available', { runDate });
  console.log(`${target.url}: HTTP ${delivery.status} (event ${delivery.eventId}, runDate ${runDate})`);
  return delivery.status === 202 ? 0 : 1;
}
