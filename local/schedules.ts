/**
 * The EventBridge schedules of the templates, run locally: `rate(...)` and six-field `cron(...)` expressions
 * (UTC, as EventBridge evaluates rules), each invoking its target function with the rule's input. A target that
 * fails is logged and the schedule goes on, as EventBridge does after its retries. The next firing of each rule
 * can be kept in a file, so a local deployment started again fires what fell due while it was down, once.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { lambdaContext } from '#local/lambda-context';
import type { LambdaHandler } from '#local/state-machine';
import type { ScheduleRule } from '#local/wiring';

const MINUTE_MS = 60_000;
const RATE_UNITS: Record<string, number> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 24 * 60 * MINUTE_MS };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  /** Allowed values; undefined for `?` (no constraint from this field). */
  values?: Set<number>;
}

interface Cron {
  minutes: CronField;
  hours: CronField;
  dayOfMonth: CronField;
  month: CronField;
  /** 1 = Sunday ... 7 = Saturday, as EventBridge numbers them. */
  dayOfWeek: CronField;
  year: CronField;
}

export type Schedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; cron: Cron };

function parseField(text: string, min: number, max: number, names: string[] | undefined, what: string): CronField {
  if (text === '?') return {};
  if (/[LW#]/.test(text)) throw new Error(`${what} "${text}": L, W and # are not supported locally`);
  const value = (token: string): number => {
    const index = names?.indexOf(token.toUpperCase()) ?? -1;
    const n = index >= 0 ? index + 1 : Number(token);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what} "${text}": ${token} is not in ${min}-${max}`);
    return n;
  };
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${what} "${text}": bad step`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [min, max];
    else if (range.includes('-')) [from, to] = range.split('-').map(value) as [number, number];
    else [from, to] = [value(range), stepText === undefined ? value(range) : max];
    if (from > to) throw new Error(`${what} "${text}": range runs backwards`);
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return { values };
}

/** Parses `rate(5 minutes)` / `rate(1 hour)` / `cron(0 6 ? * SUN *)`; anything else is a clear error. */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression);
  if (rate) {
    const every = Number(rate[1]);
    if (every < 1) throw new Error(`${expression}: the rate must be positive`);
    return { kind: 'rate', everyMs: every * (RATE_UNITS[(rate[2] ?? '').replace(/s$/, '')] ?? 0) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression)?.[1]?.trim().split(/\s+/);
  if (!cron || cron.length !== 6) throw new Error(`${expression}: expected rate(N unit) or cron(minutes hours day-of-month month day-of-week year)`);
  const [minutes, hours, dom, month, dow, year] = cron as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) throw new Error(`${expression}: exactly one of day-of-month and day-of-week must be "?"`);
  return {
    kind: 'cron',
    cron: {
      minutes: parseField(minutes, 0, 59, undefined, 'minutes'),
      hours: parseField(hours, 0, 23, undefined, 'hours'),
      dayOfMonth: parseField(dom, 1, 31, undefined, 'day-of-month'),
      month: parseField(month, 1, 12, MONTHS, 'month'),
      dayOfWeek: parseField(dow, 1, 7, DAYS, 'day-of-week'),
      year: parseField(year, 1970, 2199, undefined, 'year'),
    },
  };
}

const allows = (field: CronField, value: number): boolean => !field.values || field.values.has(value);
const sorted = (field: CronField, min: number, max: number): number[] =>
  field.values ? [...field.values].sort((a, b) => a - b) : Array.from({ length: max - min + 1 }, (_, i) => min + i);

/** The first firing strictly after `after` (a rate schedule fires every period counted from `after`). */
export function nextFiring(schedule: Schedule, after: Date): Date | undefined {
  if (schedule.kind === 'rate') return new Date(after.getTime() + schedule.everyMs);
  const { cron } = schedule;
  const start = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const hours = sorted(cron.hours, 0, 23);
  const minutes = sorted(cron.minutes, 0, 59);
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  // Five years of days is enough for any expression that fires at all (a year field can end it sooner).
  for (let i = 0; i < 366 * 5; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    if (!allows(cron.year, day.getUTCFullYear()) || !allows(cron.month, day.getUTCMonth() + 1)) continue;
    if (!allows(cron.dayOfMonth, day.getUTCDate()) || !allows(cron.dayOfWeek, day.getUTCDay() + 1)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const at = new Date(day.getTime() + hour * 60 * MINUTE_MS + minute * MINUTE_MS);
        if (at >= start) return at;
      }
    }
  }
  return undefined;
}

export interface SchedulerOptions {
  rules: ScheduleRule[];
  /** Handlers by function id. */
  handlers: Record<string, LambdaHandler>;
  /** Keep each rule's next firing here (JSON), so a restart fires what fell due meanwhile, once. */
  stateFile?: string;
  log?: (message: string) => void;
  now?: () => number;
}

export interface Scheduler {
  /** The next firing of each rule (key `<ruleId>/<functionId>`). */
  next(): Record<string, Date | undefined>;
  stop(): Promise<void>;
}

/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const saved = options.stateFile && existsSync(options.stateFile) ? (JSON.parse(readFileSync(options.stateFile, 'utf8')) as Record<string, string>) : {};
  const next: Record<string, Date | undefined> = {};
  const timers = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const save = (): void => {
    if (!options.stateFile) return;
    const state = Object.fromEntries(Object.entries(next).flatMap(([key, at]) => (at ? [[key, at.toISOString()]] : [])));
    mkdirSync(dirname(options.stateFile), { recursive: true });
    writeFileSync(`${options.stateFile}.tmp`, JSON.stringify(state));
    renameSync(`${options.stateFile}.tmp`, options.stateFile);
  };

  const arm = (key: string, rule: ScheduleRule, schedule: Schedule): void => {
    const at = next[key];
    if (stopped || !at) return;
    const wait = Math.max(0, at.getTime() - now());
    timers.set(
      key,
      setTimeout(() => {
        if (at.getTime() > now()) return arm(key, rule, schedule); // a long wait re-armed in steps
        next[key] = nextFiring(schedule, new Date(now()));
        save();
        const firing = fire(rule).finally(() => inFlight.delete(firing));
        inFlight.add(firing);
        arm(key, rule, schedule);
      }, Math.min(wait, MAX_TIMER_MS)),
    );
  };

  const fire = async (rule: ScheduleRule): Promise<void> => {
    const handler = options.handlers[rule.functionId];
    try {
      if (!handler) throw new Error(`no local handler for ${rule.functionId}`);
      await handler(rule.input, lambdaContext(rule.functionId));
      log(`schedule ${rule.ruleId} (${rule.expression}) → ${rule.functionId}: done`);
    } catch (error) {
      // The dispatcher refuses actions it does not know yet (they arrive from other work): say so and go on.
      log(`schedule ${rule.ruleId} (${rule.expression}) → ${rule.functionId} failed: ${(error as Error).message}`);
    }
  };

  for (const rule of options.rules) {
    const key = `${rule.ruleId}/${rule.functionId}`;
    let schedule: Schedule;
    try {
      schedule = parseSchedule(rule.expression);
    } catch (error) {
      log(`schedule ${rule.ruleId} is not run locally: ${(error as Error).message}`);
      continue;
    }
    const previous = saved[key] ? new Date(saved[key]) : undefined;
    // A firing that fell due while nothing ran happens now, once; otherwise the next one as if the rule was just made.
    next[key] = previous && !Number.isNaN(previous.getTime()) ? previous : nextFiring(schedule, new Date(now()));
    arm(key, rule, schedule);
  }
  save();

  return {
    next: () => ({ ...next }),
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
