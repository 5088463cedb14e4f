/**
 * The CLI's one command framework. A command declares its options once (builders from ./options.ts)
 * and gets, identically to every other command:
 * - usage errors (unknown flag, missing or malformed value, extra argument, a `check` that fails):
 *   the message and the command's usage on stderr, exit 2, before anything has started;
 * - `-h`/`--help` (usage on stdout, exit 0) and `--version`;
 * - `--output json|text`: `result(document, text)` writes one JSON document or the text to stdout;
 *   `log` (progress, warnings) always goes to stderr;
 * - with `aws: true`, `--profile` and `--region` in `ctx.aws` (spread into every SDK client);
 *   with `deployment: true`, also `--stage` in `ctx.deployment` (lib/names.ts picks the stacks);
 * - secrets (`secret()` options) readable from a flag, `--<name>-file F|-` or the environment, and
 *   redacted from everything the command writes;
 * - a runtime failure: one line `producersync <command>: <reason>` on stderr, exit 1.
 * Groups (`subscriptions list|add|...`) hold subcommands, each a command of its own.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { deploymentNames, STAGE_PATTERN, type DeploymentNames } from '#lib/names';
import { awsClientConfig, describeAwsError, REGION_PATTERN, type AwsClientConfig } from './aws-config.ts';
import { memoryIo, type CliIo } from './cli-io.ts';
import { choice, flag, npnsOrUsageError, readText, text, UsageError, type Option, type Options, type Values } from './options.ts';

export type OutputFormat = 'json' | 'text';

/** The deployment a command acts on (`--stage`). */
export interface DeploymentTarget {
  readonly names: DeploymentNames;
  /** True when `--stage` was given: the stage's stack outputs then win over PRODUCERSYNC_* variables. */
  readonly staged: boolean;
}

export interface CommandContext<O extends Options> {
  readonly values: Values<O>;
  readonly positionals: readonly string[];
  readonly output: OutputFormat;
  /** `{profile?, region?}` for every AWS SDK client (empty unless the command has `aws` and they were given). */
  readonly aws: AwsClientConfig;
  readonly deployment: DeploymentTarget;
  readonly io: CliIo;
  /** The command's result, once: json → the document on stdout; text → `text` on stdout (nothing more when left out). */
  result(document: unknown, text?: string | (() => string)): void;
  /** A line for people along the way: stdout in text mode, stderr in json mode (stdout holds only the document). */
  info(line: string): void;
  /** Progress and warnings: stderr in both modes. */
  log(line: string): void;
  /** `text` with every secret option's value replaced by [redacted]. */
  redact(text: string): string;
}

export interface PositionalSpec {
  /** As shown in the usage: `NPN...`, `NPN`. */
  readonly placeholder: string;
  readonly min?: number;
  readonly max?: number;
  /** The arguments are NPNs: checked and deduplicated by the one NPN-list rule. */
  readonly npns?: boolean;
}

export interface CommandSpec<O extends Options> {
  /** One line; top-level commands take theirs from the registry in scripts/cli.ts. */
  readonly summary?: string;
  /** What follows `producersync <name>` in the usage line; generated from the options when left out. */
  readonly synopsis?: string;
  /** Paragraphs after the usage line. */
  readonly description?: string;
  readonly options: O;
  /** Positional arguments; none are accepted when left out. */
  readonly positionals?: PositionalSpec;
  /** Old spellings rewritten before parsing, documented in the usage: `{ json: ['--output', 'json'] }`. */
  readonly aliases?: Readonly<Record<string, readonly string[]>>;
  /** The command makes AWS SDK clients: `--profile`, `--region`. */
  readonly aws?: boolean;
  /** The command acts on a deployment: `--stage` (implies `aws`). */
  readonly deployment?: boolean;
  /** `--output json` writes the document on one line (a ready line that programs read line by line); default indented. */
  readonly jsonLine?: boolean;
  /** Rules between options; throw UsageError. Runs before `run`, so a bad usage never starts anything. */
  check?(values: Values<O>, positionals: readonly string[]): void;
  /** The exit code (default 0). */
  run(context: CommandContext<O>): Promise<number | void>;
}

export interface Command<O extends Options = Options> extends CommandSpec<O> {
  readonly kind: 'command';
}

export interface CommandGroup {
  readonly kind: 'group';
  readonly summary?: string;
  readonly description?: string;
  readonly subcommands: Readonly<Record<string, Command>>;
}

export function defineCommand<O extends Options>(spec: CommandSpec<O>): Command<O> {
  return { kind: 'command', ...spec };
}

export function defineGroup(spec: Omit<CommandGroup, 'kind'>): CommandGroup {
  return { kind: 'group', ...spec };
}

/** A registry line: the one-line summary (shown without loading the module) and the module exporting `command`. */
export interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<{ command: Command | CommandGroup }>;
}
export type Registry = Readonly<Record<string, CommandEntry>>;

const PROGRAM = 'producersync';

// ---- common options ----

const HELP_OPTIONS = {
  help: flag({ short: 'h', description: 'print this usage and exit' }),
  version: flag({ description: 'print the version and exit' }),
};
const OUTPUT_OPTIONS = {
  output: choice(['json', 'text'] as const, {
    default: 'text',
    description: 'json: the result as one JSON document on stdout (progress stays on stderr); text: for people (default)',
  }),
};
const AWS_OPTIONS = {
  profile: text({ placeholder: 'P', description: 'AWS profile (default: the SDK chooses: AWS_PROFILE, else "default")' }),
  region: text({
    placeholder: 'R',
    rule: { test: (v) => REGION_PATTERN.test(v), expected: 'an AWS region such as us-east-1' },
    description: "AWS region (default: the SDK chooses: AWS_REGION, else the profile's region)",
  }),
};
const STAGE_OPTIONS = {
  stage: text({
    placeholder: 'S',
    rule: { test: (v) => STAGE_PATTERN.test(v), expected: '1-24 letters, digits or hyphens starting with a letter' },
    description: 'the deployment of this stage (its stacks ProducerSync-S-*); default: the unstaged deployment',
  }),
};

type CommonValues = { help: boolean; version: boolean; output: OutputFormat; profile?: string; region?: string; stage?: string };

function commonOptions(command: Command): Options {
  return { ...(command.deployment ? STAGE_OPTIONS : {}), ...(command.aws || command.deployment ? AWS_OPTIONS : {}), ...OUTPUT_OPTIONS, ...HELP_OPTIONS };
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

// ---- usage ----

const fileFlag = (name: string): string => `${name}-file`;

function optionLabel(name: string, option: Option<unknown>): string {
  const long = option.kind === 'flag' ? `--${name}` : `--${name} ${option.placeholder}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

function optionRows(options: Options): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const [name, option] of Object.entries(options)) {
    if (option.hidden) continue;
    const notes = [option.required ? 'required' : '', option.env ? `env ${option.env}` : ''].filter(Boolean);
    rows.push([optionLabel(name, option), `${option.description}${notes.length ? ` [${notes.join('; ')}]` : ''}`]);
    if (option.secret) rows.push([`--${fileFlag(name)} FILE`, `read ${`--${name}`} from FILE ("-" = stdin): keeps it out of the process list`]);
  }
  return rows;
}

/** Words of `text` in lines of at most `width` characters (existing line breaks kept). */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let current = '';
    for (const word of paragraph.split(' ')) {
      if (current && current.length + 1 + word.length > width) {
        lines.push(current);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    lines.push(current);
  }
  return lines;
}

const USAGE_WIDTH = 100;

function formatRows(rows: Array<[string, string]>): string {
  const width = Math.min(30, Math.max(...rows.map(([label]) => label.length)));
  const indent = ' '.repeat(width + 4);
  return rows
    .map(([label, description]) => {
      const [first = '', ...more] = wrapText(description, Math.max(40, USAGE_WIDTH - indent.length));
      const head = label.length > width ? `  ${label}\n${indent}${first}` : `  ${label.padEnd(width)}  ${first}`;
      return [head, ...more.map((l) => `${indent}${l}`)].join('\n');
    })
    .join('\n');
}

/** Breaks a usage line at spaces outside brackets, continuing lines under the command's arguments. */
function wrapSynopsis(head: string, synopsis: string, width = USAGE_WIDTH): string {
  const words: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of synopsis) {
    if (ch === '[' || ch === '(') depth++;
    if (ch === ']' || ch === ')') depth--;
    if (ch === ' ' && depth === 0) {
      if (current) words.push(current);
      current = '';
    } else current += ch;
  }
  if (current) words.push(current);
  const indent = ' '.repeat(Math.min(head.length + 1, 30));
  const lines: string[] = [];
  let line = head;
  for (const word of words) {
    if (line.length + 1 + word.length > width && line.trim() !== '' && line !== head) {
      lines.push(line);
      line = `${indent}${word}`;
    } else line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

function generatedSynopsis(command: Command): string {
  const parts = Object.entries(command.options)
    .filter(([, option]) => !option.hidden)
    .map(([name, option]) => {
      const label = option.kind === 'flag' ? `--${name}` : `--${name} ${option.placeholder}`;
      return option.required ? label : `[${label}]`;
    });
  const positional = command.positionals;
  if (positional) parts.push((positional.min ?? 0) > 0 ? positional.placeholder : `[${positional.placeholder}]`);
  return [...parts, '[common options]'].join(' ');
}

export function commandUsage(path: readonly string[], command: Command): string {
  const head = `usage: ${PROGRAM} ${path.join(' ')}`;
  const sections = [wrapSynopsis(head, command.synopsis ? `${command.synopsis} [common options]` : generatedSynopsis(command))];
  // The summary is the top-level usage's line; a description, when there is one, says it better.
  const intro = command.description ?? (command.summary ? `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.` : '');
  if (intro) sections.push(intro);
  const own = optionRows(command.options);
  const aliases = Object.entries(command.aliases ?? {}).map(([name, replacement]): [string, string] => [`--${name}`, `same as ${replacement.join(' ')}`]);
  if (own.length || aliases.length) sections.push(`options:\n${formatRows([...own, ...aliases])}`);
  sections.push(`common options:\n${formatRows(optionRows(commonOptions(command)))}`);
  return sections.join('\n\n');
}

function groupUsage(path: readonly string[], group: CommandGroup): string {
  const names = Object.keys(group.subcommands);
  const rows = Object.entries(group.subcommands).map(([name, command]): [string, string] => [name, command.summary ?? '']);
  return [
    `usage: ${PROGRAM} ${path.join(' ')} <${names.join('|')}> [options]`,
    ...(group.summary || group.description ? [[group.summary ? `${group.summary[0]!.toUpperCase()}${group.summary.slice(1)}.` : '', group.description ?? ''].filter(Boolean).join('\n\n')] : []),
    `subcommands:\n${formatRows(rows)}`,
    `Run "${PROGRAM} ${path.join(' ')} <subcommand> --help" for a subcommand's options.`,
  ].join('\n\n');
}

export function topUsage(registry: Registry): string {
  const rows = Object.entries(registry).map(([name, entry]): [string, string] => [name, entry.summary]);
  return [
    `usage: ${PROGRAM} <command> [options]`,
    `commands:\n${formatRows(rows)}`,
    [
      'common options (every command):',
      formatRows([
        ['--output json|text', 'json: one JSON document on stdout; text: for people (default). Progress goes to stderr.'],
        ['-h, --help', "the command's usage"],
        ['--version', 'the version'],
      ]),
      'Commands that call AWS also take --profile P and --region R (default: the SDK\'s own resolution);',
      'commands that act on a deployment take --stage S.',
    ].join('\n'),
    `Run "${PROGRAM} help <command>" or "${PROGRAM} <command> --help" for a command's options.\n` +
      'Exit codes: 0 success, 1 failure (one line on stderr says why), 2 bad usage (with the usage).',
  ].join('\n\n');
}

// ---- parsing ----

interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
  common: CommonValues;
  secrets: string[];
}

function applyAliases(argv: readonly string[], aliases: CommandSpec<Options>['aliases']): string[] {
  if (!aliases) return [...argv];
  const out: string[] = [];
  let terminated = false;
  for (const arg of argv) {
    if (arg === '--') terminated = true;
    const replacement = !terminated && arg.startsWith('--') ? aliases[arg.slice(2)] : undefined;
    out.push(...(replacement ?? [arg]));
  }
  return out;
}

/** `--help` or `--version` anywhere before `--` wins over every other problem of the command line. */
function wantsInfo(argv: readonly string[], options: Options): 'help' | 'version' | undefined {
  const { tokens } = parseArgs({ args: [...argv], options: parseArgsConfig(options), strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option' && token.name === 'help') return 'help';
    if (token.kind === 'option' && token.name === 'version') return 'version';
  }
  return undefined;
}

function parseArgsConfig(options: Options): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = { type: option.kind === 'flag' ? 'boolean' : 'string', ...(option.short ? { short: option.short } : {}) };
    if (option.secret) config[fileFlag(name)] = { type: 'string' };
  }
  return config;
}

/** The command line's values and arguments, checked (including the command's own `check`), or a UsageError. */
async function parseCommandLine(command: Command, argv: readonly string[], io: CliIo): Promise<Parsed> {
  const options: Options = { ...command.options, ...commonOptions(command) };
  const { tokens } = parseArgs({ args: [...argv], options: parseArgsConfig(options), strict: false, allowPositionals: true, tokens: true });
  const raw = new Map<string, string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const secretOf = token.name.endsWith('-file') ? token.name.slice(0, -'-file'.length) : undefined;
    const option = options[token.name] ?? (secretOf && options[secretOf]?.secret ? options[secretOf] : undefined);
    if (!option) throw new UsageError(`unknown option ${token.rawName}`);
    const isFile = option !== options[token.name];
    if (option.kind === 'flag') {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
      raw.set(token.name, 'true');
      continue;
    }
    const wanted = isFile ? 'FILE' : option.placeholder;
    if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value (${wanted})`);
    if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-') {
      const known = token.value.replace(/^-+/, '').split('=')[0]! in options;
      throw new UsageError(`${token.rawName} needs a value (${wanted})${known ? '' : `; to give one starting with "-", write ${token.rawName}=${token.value}`}`);
    }
    raw.set(token.name, token.value);
  }

  const spec = command.positionals;
  if (!spec && positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (spec && spec.max !== undefined && positionals.length > spec.max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[spec.max])}`);
  if (spec && positionals.length < (spec.min ?? 0)) throw new UsageError(`missing ${spec.placeholder}`);
  const args = spec?.npns ? npnsOrUsageError(positionals.join('\n'), spec.placeholder, false) : positionals;

  const values: Record<string, unknown> = {};
  const secrets: string[] = [];
  let stdinUsers = 0;
  for (const [name, option] of Object.entries(options)) {
    if ((option.readsFile && raw.get(name) === '-') || (option.secret && raw.get(fileFlag(name)) === '-')) {
      if (++stdinUsers > 1) throw new UsageError('only one option can read stdin ("-")');
    }
    let given = raw.get(name);
    let label = `--${name}`;
    if (option.secret && raw.has(fileFlag(name))) {
      if (given !== undefined) throw new UsageError(`give --${name} or --${fileFlag(name)}, not both`);
      const path = raw.get(fileFlag(name))!;
      label = `--${fileFlag(name)}`;
      given = (await readText(path, { flag: label, io })).replace(/\r?\n$/, '');
    }
    if (given === undefined && option.env && io.env[option.env]) {
      given = io.env[option.env]!;
      label = option.env;
    }
    if (given === undefined) {
      if (option.required) throw new UsageError(`missing --${name} ${option.placeholder}`);
      values[name] = option.absent;
      continue;
    }
    if (option.secret) secrets.push(given.trim());
    values[name] = await option.parse(given, { flag: label, io });
  }
  command.check?.(values as Values<Options>, args);
  return { values, positionals: args, common: values as unknown as CommonValues, secrets };
}

/** A command line's checked values, as `run` would get them (UsageError otherwise); for tests and embedding. */
export async function parseCommand<O extends Options>(command: Command<O>, argv: readonly string[], io: CliIo = memoryIo()): Promise<{ values: Values<O>; positionals: readonly string[] }> {
  const parsed = await parseCommandLine(command as unknown as Command, applyAliases(argv, command.aliases), io);
  return { values: parsed.values as Values<O>, positionals: parsed.positionals };
}

// ---- running ----

function redactor(secrets: readonly string[]): (text: string) => string {
  // Very short values would blank out ordinary words; real secrets are longer than this.
  const hidden = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => hidden.reduce((out, value) => out.replaceAll(value, '[redacted]'), text);
}

const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

async function runCommand(path: readonly string[], command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  const name = `${PROGRAM} ${path.join(' ')}`;
  const args = applyAliases(argv, command.aliases);
  const all = { ...command.options, ...commonOptions(command) };
  const info = wantsInfo(args, all);
  if (info === 'help') return (io.stdout.write(line(commandUsage(path, command))), 0);
  if (info === 'version') return (io.stdout.write(line(packageVersion())), 0);

  let parsed: Parsed;
  try {
    parsed = await parseCommandLine(command, args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) return (io.stderr.write(`${name}: ${describeAwsError(error)}\n`), 1);
    io.stderr.write(`${name}: ${error.message}\n\n${line(commandUsage(path, command))}`);
    return 2;
  }

  const { common } = parsed;
  const redact = redactor(parsed.secrets);
  let resultWritten = false;
  const context: CommandContext<Options> = {
    values: parsed.values as Values<Options>,
    positionals: parsed.positionals,
    output: common.output,
    aws: awsClientConfig(common),
    deployment: { names: deploymentNames(common.stage), staged: common.stage !== undefined },
    io,
    result(document, text) {
      if (resultWritten) throw new Error(`${name} wrote its result twice`);
      resultWritten = true;
      const shown = common.output === 'json' ? JSON.stringify(document, null, command.jsonLine ? undefined : 2) : typeof text === 'function' ? text() : text;
      if (shown !== undefined) io.stdout.write(redact(line(shown)));
    },
    info: (text) => void (common.output === 'json' ? io.stderr : io.stdout).write(redact(line(text))),
    log: (text) => void io.stderr.write(redact(line(text))),
    redact,
  };
  try {
    return (await command.run(context)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${name}: ${redact(error.message)}\n\n${line(commandUsage(path, command))}`);
      return 2;
    }
    io.stderr.write(`${name}: ${redact(describeAwsError(error))}\n`);
    return 1;
  }
}

/** `producersync <argv...>`: dispatches to the registry's commands (and their subcommands); returns the exit code. */
export async function runCli(registry: Registry, argv: readonly string[], io: CliIo): Promise<number> {
  const usage = (): string => line(topUsage(registry));
  const [first, ...rest] = argv;
  if (first === undefined) return (io.stderr.write(usage()), 2);
  if (first === '-h' || first === '--help') return (io.stdout.write(usage()), 0);
  if (first === '--version') return (io.stdout.write(line(packageVersion())), 0);
  if (first === 'help') return help(registry, rest, io);
  if (first.startsWith('-')) return (io.stderr.write(`${PROGRAM}: unknown option ${first}; give the command first\n\n${usage()}`), 2);
  const entry = registry[first];
  if (!entry) return (io.stderr.write(`${PROGRAM}: unknown command ${JSON.stringify(first)}\n\n${usage()}`), 2);
  const { command } = await entry.load();
  if (command.kind === 'command') return runCommand([first], { ...command, summary: command.summary ?? entry.summary }, rest, io);

  const group = { ...command, summary: command.summary ?? entry.summary };
  const [sub, ...subArgs] = rest;
  const groupText = (): string => line(groupUsage([first], group));
  if (sub === undefined) return (io.stderr.write(`${PROGRAM} ${first}: give a subcommand\n\n${groupText()}`), 2);
  if (sub === '-h' || sub === '--help') return (io.stdout.write(groupText()), 0);
  if (sub === '--version') return (io.stdout.write(line(packageVersion())), 0);
  const subcommand = group.subcommands[sub];
  if (!subcommand) {
    const what = sub.startsWith('-') ? `give the subcommand before ${sub}` : `unknown subcommand ${JSON.stringify(sub)}`;
    return (io.stderr.write(`${PROGRAM} ${first}: ${what}\n\n${groupText()}`), 2);
  }
  return runCommand([first, sub], subcommand, subArgs, io);
}

/** `producersync help [command [subcommand]]`: that usage on stdout. */
async function help(registry: Registry, path: readonly string[], io: CliIo): Promise<number> {
  const [name, sub, ...extra] = path;
  if (name === undefined) return (io.stdout.write(line(topUsage(registry))), 0);
  const entry = registry[name];
  if (!entry || extra.length > 0) return (io.stderr.write(`${PROGRAM} help: unknown command ${JSON.stringify(path.join(' '))}\n\n${line(topUsage(registry))}`), 2);
  const { command } = await entry.load();
  if (command.kind === 'command') {
    if (sub !== undefined) return (io.stderr.write(`${PROGRAM} help: ${name} has no subcommands\n\n${line(commandUsage([name], { ...command, summary: command.summary ?? entry.summary }))}`), 2);
    return (io.stdout.write(line(commandUsage([name], { ...command, summary: command.summary ?? entry.summary }))), 0);
  }
  const group = { ...command, summary: command.summary ?? entry.summary };
  if (sub === undefined) return (io.stdout.write(line(groupUsage([name], group))), 0);
  const subcommand = group.subcommands[sub];
  if (!subcommand) return (io.stderr.write(`${PROGRAM} help: unknown subcommand ${JSON.stringify(`${name} ${sub}`)}\n\n${line(groupUsage([name], group))}`), 2);
  return (io.stdout.write(line(commandUsage([name, sub], subcommand))), 0);
}
