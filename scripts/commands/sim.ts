import { parseArgs } from 'node:util';
import { startSimulator, type SimulatorOptions } from '#sim/server';

const HELP = `usage: producersync sim [--port P] [--npns N] [--seed S] [--client-id ID] [--client-secret S]
                        [--token-lifetime SECONDS] [--rate-limit N] [--start-date yyyy-MM-dd]
                        [--webhook-url URL --webhook-secret whsec_...]

Runs the ProducerSync simulator on 127.0.0.1 until Ctrl-C (SIGINT) or SIGTERM.`;

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** Turns the command line into simulator options; throws with a readable message on bad input. */
export function parseSimArgs(args: string[]): { help: boolean; options: SimulatorOptions } {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string', default: '0' },
      npns: { type: 'string' },
      seed: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'token-lifetime': { type: 'string' },
      'rate-limit': { type: 'string' },
      'start-date': { type: 'string' },
      'webhook-url': { type: 'string' },
      'webhook-secret': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (Boolean(values['webhook-url']) !== Boolean(values['webhook-secret'])) throw new Error('--webhook-url and --webhook-secret go together');
  if (values['webhook-secret'] !== undefined && !values['webhook-secret'].startsWith('whsec_')) throw new Error('--webhook-secret must look like whsec_<base64>');
  const options: SimulatorOptions = {};
  const set = <K extends keyof SimulatorOptions>(key: K, value: SimulatorOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('port', positiveInt('port', values.port));
  set('npns', positiveInt('npns', values.npns));
  set('seed', positiveInt('seed', values.seed));
  set('clientId', values['client-id']);
  set('clientSecret', values['client-secret']);
  set('tokenLifetimeSeconds', positiveInt('token-lifetime', values['token-lifetime']));
  set('startDate', values['start-date']);
  const rate = positiveInt('rate-limit', values['rate-limit']);
  if (rate !== undefined) options.rateLimit = { apiPerMinute: rate };
  if (values['webhook-url'] && values['webhook-secret']) options.webhook = { url: values['webhook-url'], secret: values['webhook-secret'] };
  return { help: values.help, options };
}

export async function run(args: string[]): Promise<number> {
  const { help, options } = parseSimArgs(args);
  if (help) return (console.log(HELP), 0);
  const sim = await startSimulator(options);
  console.log(
    [
      'ProducerSync simulator running',
      `  API base URL:  ${sim.apiBaseUrl}`,
      `  Token URL:     ${sim.tokenUrl}`,
      `  Client id:     ${options.clientId ?? 'local'}`,
      `  Client secret: ${options.clientSecret ?? 'local'}`,
      `  Today:         ${sim.today}`,
      `  NPNs:          ${sim.subscribedNpns().length} subscribed (sandbox 15645555, 19855109)`,
      options.webhook ? `  Webhooks to:   ${options.webhook.url}` : '  Webhooks:      off',
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`\n${signal}: stopping the simulator`);
  await sim.close();
  return 0;
}
