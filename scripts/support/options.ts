/**
 * The option kinds of the CLI: each turns the text after a flag (or from the environment, or a file)
 * into a checked value, or throws a UsageError naming the flag. Commands declare their options with
 * these builders (scripts/support/command.ts parses, documents and checks them identically everywhere).
 */
import { isCalendarDate } from '#commons/calendar-date';
import { readInput, type CliIo } from './cli-io.ts';
import { InvalidNpnListError, parseNpnList } from './npn-list.ts';

/** Bad input from the operator: exit code 2 with the command's usage; nothing has started. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ParseContext {
  /** How the value was given, for messages: `--run-date`, or `PRODUCERSYNC_API_BASE_URL`. */
  readonly flag: string;
  readonly io: CliIo;
}

export interface Option<T> {
  /** `flag`: present or not (`--wait`); `value`: takes one value (`--limit 20`). */
  readonly kind: 'flag' | 'value';
  readonly description: string;
  /** The value's placeholder in the usage (`--run-date YYYY-MM-DD`). */
  readonly placeholder?: string;
  /** One-letter alias (`-h`). */
  readonly short?: string;
  /** Environment variable read when the flag is absent. */
  readonly env?: string;
  /** A secret: also readable from `--<name>-file F` (`-` = stdin); never printed, redacted from all output. */
  readonly secret?: boolean;
  readonly required?: boolean;
  /** Left out of the usage (an alias kept for old scripts). */
  readonly hidden?: boolean;
  /** The value is a file to read (`-` = stdin). */
  readonly readsFile?: boolean;
  /** The value when the option is absent (a required option never is). */
  readonly absent: T;
  parse(raw: string, context: ParseContext): T | Promise<T>;
}

export type Options = Record<string, Option<unknown>>;
export type Values<O extends Options> = { [K in keyof O]: O[K] extends Option<infer T> ? T : never };

interface BaseSpec {
  description: string;
  placeholder?: string;
  short?: string;
  env?: string;
  hidden?: boolean;
  required?: boolean;
}
/** The value type given the spec: required or defaulted options always have one. */
type Valued<S, T> = S extends { required: true } ? T : S extends { default: T } ? T : T | undefined;

function valueOption<S extends BaseSpec & { default?: unknown }, T>(spec: S, parse: (raw: string, context: ParseContext) => T | Promise<T>, extra: Partial<Option<T>> = {}): Option<Valued<S, T>> {
  return {
    kind: 'value',
    description: spec.description,
    placeholder: spec.placeholder ?? 'VALUE',
    ...(spec.short ? { short: spec.short } : {}),
    ...(spec.env ? { env: spec.env } : {}),
    ...(spec.hidden ? { hidden: true } : {}),
    ...(spec.required ? { required: true } : {}),
    absent: spec.default as Valued<S, T>,
    parse: parse as Option<Valued<S, T>>['parse'],
    ...(extra as Partial<Option<Valued<S, T>>>),
  };
}

const shown = (raw: string): string => JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw);

/** `--wait`: true when given. */
export function flag(spec: { description: string; short?: string; hidden?: boolean }): Option<boolean> {
  return { kind: 'flag', description: spec.description, ...(spec.short ? { short: spec.short } : {}), ...(spec.hidden ? { hidden: true } : {}), absent: false, parse: () => true };
}

interface TextSpec extends BaseSpec {
  default?: string;
  /** A rule the value must follow, and how to say it: `{test: (v) => ..., expected: 'letters and digits'}`. */
  rule?: { test: (value: string) => boolean; expected: string };
}

/** Any non-empty text, optionally checked by `rule`. */
export function text<S extends TextSpec>(spec: S): Option<Valued<S, string>> {
  return valueOption(spec, (raw, { flag: name }) => {
    const value = raw.trim();
    if (value === '') throw new UsageError(`${name} must not be empty`);
    if (spec.rule && !spec.rule.test(value)) throw new UsageError(`${name} must be ${spec.rule.expected}, got ${shown(value)}`);
    return value;
  });
}

interface IntegerSpec extends BaseSpec {
  default?: number;
  min?: number;
  max?: number;
}

/** A whole number within [min, max]. */
export function integer<S extends IntegerSpec>(spec: S): Option<Valued<S, number>> {
  const min = spec.min ?? Number.MIN_SAFE_INTEGER;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const range = spec.max !== undefined ? `an integer from ${min} to ${max}` : spec.min === 0 ? 'a non-negative integer' : spec.min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
  return valueOption({ placeholder: 'N', ...spec }, (raw, { flag: name }) => {
    const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${name} must be ${range}, got ${shown(raw)}`);
    return value;
  });
}

/** A real calendar date YYYY-MM-DD (`2025-02-30` is refused), by the sync's own rule. */
export function calendarDate<S extends BaseSpec & { default?: string }>(spec: S): Option<Valued<S, string>> {
  return valueOption({ placeholder: 'YYYY-MM-DD', ...spec }, (raw, { flag: name }) => {
    if (!isCalendarDate(raw.trim())) throw new UsageError(`${name} must be a calendar date YYYY-MM-DD, got ${shown(raw)}`);
    return raw.trim();
  });
}

/** An absolute http(s) URL, trailing slashes dropped. */
export function httpUrl<S extends BaseSpec & { default?: string }>(spec: S): Option<Valued<S, string>> {
  return valueOption({ placeholder: 'URL', ...spec }, (raw, { flag: name }) => {
    const protocol = URL.parse(raw.trim())?.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') throw new UsageError(`${name} must be an absolute http(s) URL, got ${shown(raw)}`);
    return raw.trim().replace(/\/+$/, '');
  });
}

/** One of a fixed list of words. */
export function choice<C extends string, S extends BaseSpec & { default?: C }>(choices: readonly C[], spec: S): Option<Valued<S, C>> {
  return valueOption({ placeholder: choices.join('|'), ...spec }, (raw, { flag: name }) => {
    if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`${name} must be one of ${choices.join(', ')}, got ${shown(raw)}`);
    return raw as C;
  });
}

/** NPNs by the one NPN-list rule, or a UsageError naming where they came from. */
export function npnsOrUsageError(text: string, name: string, allowHeader: boolean): string[] {
  try {
    return parseNpnList(text, { allowHeader });
  } catch (error) {
    if (error instanceof InvalidNpnListError) throw new UsageError(`${name}: ${error.message}`);
    throw error;
  }
}

/** `--npns 1,2,3`: NPNs by the one NPN-list rule (a typo is an error, never silently dropped); [] when absent. */
export function npnList(spec: Omit<BaseSpec, 'required'>): Option<string[]> {
  return valueOption({ placeholder: 'N1,N2,...', ...spec, default: [] as string[] }, (raw, { flag: name }) => npnsOrUsageError(raw, name, false));
}

/** `--file F`: NPNs from a file (`-` = stdin), one per line or a CSV with an "npn" column; [] when absent. */
export function npnFile(spec: Omit<BaseSpec, 'required'>): Option<string[]> {
  const read = async (raw: string, context: ParseContext): Promise<string[]> => npnsOrUsageError(await readText(raw, context), `${context.flag} ${raw}`, true);
  return valueOption({ placeholder: 'FILE', ...spec, default: [] as string[] }, read, { readsFile: true });
}

/** A secret (`--client-secret S`, `--client-secret-file F`, or `env`); `rule` checks its shape without ever echoing it. */
export function secret<S extends BaseSpec & { rule?: { test: (value: string) => boolean; expected: string } }>(spec: S): Option<Valued<S, string>> {
  return valueOption(
    { placeholder: 'SECRET', ...spec },
    (raw, { flag: name }) => {
      const value = raw.trim();
      if (value === '') throw new UsageError(`${name} must not be empty`);
      if (spec.rule && !spec.rule.test(value)) throw new UsageError(`${name} must be ${spec.rule.expected}`);
      return value;
    },
    { secret: true },
  );
}

/** A file's text for an option, or a UsageError saying why it cannot be read. */
export async function readText(path: string, { flag: name, io }: ParseContext): Promise<string> {
  try {
    return await readInput(path, io);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`cannot read ${name} ${path}: ${reason}`);
  }
}
