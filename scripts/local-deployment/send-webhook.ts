/** `producersync local send-webhook --run-date D`: a signed `updates_available` to the local deployment, like the portal's test button. */
import { sendSignedWebhook } from '#sim/webhook-sender';
import { defineCommand } from '../support/command.ts';
import { calendarDate } from '../support/options.ts';
import { connectLocalDeployment, dataDirOption } from './connect.ts';
import { readSecretFile } from './data-dir.ts';

export const command = defineCommand({
  summary: 'send a signed updates_available to the running local deployment',
  description:
    'Sends a Svix-signed producersync.updates_available event for that runDate to the webhook URL of the local\n' +
    'deployment running on the data directory, signed with its secret. Prints the HTTP status and the event id; exits\n' +
    '0 on 202, 1 on any other answer, 2 on bad usage or when no local deployment runs there.',
  options: {
    'run-date': calendarDate({ required: true, description: 'the runDate of the event' }),
    'data-dir': dataDirOption,
  },
  async run(context) {
    const { values } = context;
    const deployment = connectLocalDeployment(values['data-dir']);
    const target = { url: deployment.webhookUrl, secret: readSecretFile(deployment.webhookSecretFile, 'the webhook secret file') };
    const runDate = values['run-date'];
    const delivery = await sendSignedWebhook(target, 'producersync.updates_available', { runDate });
    context.result({ url: target.url, status: delivery.status, eventId: delivery.eventId, runDate }, `${target.url}: HTTP ${delivery.status} (event ${delivery.eventId}, runDate ${runDate})`);
    return delivery.status === 202 ? 0 : 1;
  },
});
