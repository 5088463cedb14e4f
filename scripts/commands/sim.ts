import type { SimulatorOptions } from '#sim/server';
import { defineCommand } from '../support/command.ts';
import { calendarDate, httpUrl, integer, secret, text, UsageError, type Values } from '../support/options.ts';

const DEFAULT_CREDENTIAL = 'local';

const options = {
  port: integer({ default: 0, min: 0, max: 65535, description: 'the port on 127.0.0.1 (default 0: any free port)' }),
  npns: integer({ min: 0, description: 'subscribed NPNs (default 200, always with the sandbox NPNs 15645555 and 19855109)' }),
  seed: integer({ min: 0, description: 'seed of the generated data (default 1)' }),
  'client-id': text({ placeholder: 'ID', description: `the OAuth client id the token endpoint accepts (default "${DEFAULT_CREDENTIAL}")` }),
  'client-secret': secret({ placeholder: 'S', description: `the client secret it accepts (default "${DEFAULT_CREDENTIAL}")` }),
  'token-lifetime': integer({ placeholder: 'SECONDS', min: 0, description: 'access token lifetime' }),
  'rate-limit': integer({ min: 0, description: 'API requests per minute before 429s' }),
  'start-date': calendarDate({ description: `the simulator's "today" (default 2025-07-24)` }),
  'webhook-url': httpUrl({ description: 'deliver signed updates_available webhooks here (with --webhook-secret)' }),
  'webhook-secret': secret({
    placeholder: 'whsec_...',
    rule: { test: (v) => v.startsWith('whsec_'), expected: 'a Svix secret whsec_<base64>' },
    description: 'the Svix secret that signs them',
  }),
};

/** The simulator's options for a command line's values. */
export function simulatorOptions(values: Values<typeof options>): SimulatorOptions {
  const result: SimulatorOptions = { port: values.port };
  const set = <K extends keyof SimulatorOptions>(key: K, value: SimulatorOptions[K] | undefined) => {
    if (value !== undefined) result[key] = value;
  };
  set('npns', values.npns);
  set('seed', values.seed);
  set('clientId', values['client-id']);
  set('clientSecret', values['client-secret']);
  set('tokenLifetimeSeconds', values['token-lifetime']);
  set('startDate', values['start-date']);
  if (values['rate-limit'] !== undefined) result.rateLimit = { apiPerMinute: values['rate-limit'] };
  if (values['webhook-url'] && values['webhook-secret']) result.webhook = { url: values['webhook-url'], secret: values['webhook-secret'] };
  return result;
}

export const command = defineCommand({
  description: 'Serves until Ctrl-C (SIGINT) or SIGTERM. --output json prints the URLs as one JSON document once it listens.',
  options,
  check(values) {
    if ((values['webhook-url'] === undefined) !== (values['webhook-secret'] === undefined)) throw new UsageError('--webhook-url and --webhook-secret go together');
  },
  async run(context) {
    const settings = simulatorOptions(context.values);
    // Loaded here, not at the top: the usage and its errors need none of the simulator.
    const { startSimulator } = await import('#sim/server');
    const sim = await startSimulator(settings);
    const secretGiven = settings.clientSecret !== undefined;
    const started = {
      apiBaseUrl: sim.apiBaseUrl,
      tokenUrl: sim.tokenUrl,
      clientId: settings.clientId ?? DEFAULT_CREDENTIAL,
      // The default is no secret (it is in the README); a given one is never printed.
      ...(secretGiven ? {} : { clientSecret: DEFAULT_CREDENTIAL }),
      today: sim.today,
      subscribedNpns: sim.subscribedNpns().length,
      webhookUrl: settings.webhook?.url ?? null,
    };
    context.result(started, () =>
      [
        'ProducerSync simulator running',
        `  API base URL:  ${started.apiBaseUrl}`,
        `  Token URL:     ${started.tokenUrl}`,
        `  Client id:     ${started.clientId}`,
        `  Client secret: ${secretGiven ? '(as given)' : DEFAULT_CREDENTIAL}`,
        `  Today:         ${started.today}`,
        `  NPNs:          ${started.subscribedNpns} subscribed (sandbox 15645555, 19855109)`,
        settings.webhook ? `  Webhooks to:   ${settings.webhook.url}` : '  Webhooks:      off',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      const stop = (received: NodeJS.Signals): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve(received);
      };
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
    });
    context.log(`${signal}: stopping the simulator`);
    await sim.close();
  },
});
