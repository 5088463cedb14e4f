import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nextFiring, parseSchedule, startScheduler } from '#local/schedules';
import type { ScheduleRule } from '#local/wiring';

const at = (iso: string) => new Date(iso);
const next = (expression: string, after: string) => nextFiring(parseSchedule(expression), at(after))?.toISOString();

describe('schedule expressions', () => {
  it('rate(...) fires every period', () => {
    expect(parseSchedule('rate(1 hour)')).toEqual({ kind: 'rate', everyMs: 3_600_000 });
    expect(parseSchedule('rate(5 minutes)')).toEqual({ kind: 'rate', everyMs: 300_000 });
    expect(next('rate(2 days)', '2026-01-01T00:00:00Z')).toBe('2026-01-03T00:00:00.000Z');
  });

  it('cron(...) follows EventBridge: six fields, UTC, 1 = Sunday, names, lists, ranges and steps', () => {
    // 2026-12-02 is a Wednesday: the weekly reconcile runs the coming Sunday at 06:00 UTC.
    expect(next('cron(0 6 ? * SUN *)', '2026-12-02T10:00:00Z')).toBe('2026-12-06T06:00:00.000Z');
    expect(next('cron(0 6 ? * 1 *)', '2026-12-06T06:00:00Z')).toBe('2026-12-13T06:00:00.000Z');
    expect(next('cron(0/15 * * * ? *)', '2026-12-02T10:07:30Z')).toBe('2026-12-02T10:15:00.000Z');
    expect(next('cron(30 9 1 JAN-MAR ? *)', '2026-03-01T09:30:00Z')).toBe('2027-01-01T09:30:00.000Z');
    expect(next('cron(0 8,20 ? * MON-FRI *)', '2026-12-04T20:00:00Z')).toBe('2026-12-07T08:00:00.000Z');
    expect(next('cron(0 0 1 1 ? 2020)', '2026-01-01T00:00:00Z')).toBeUndefined();
  });

  it('refuses what it cannot evaluate, naming it', () => {
    expect(() => parseSchedule('cron(0 6 L * ? *)')).toThrow('day-of-month "L": L, W and # are not supported locally');
    expect(() => parseSchedule('cron(0 6 * * * *)')).toThrow('exactly one of day-of-month and day-of-week must be "?"');
    expect(() => parseSchedule('cron(0 6 ? * SUN)')).toThrow('expected rate(N unit) or cron(');
    expect(() => parseSchedule('cron(61 6 ? * SUN *)')).toThrow('minutes "61": 61 is not in 0-59');
    expect(() => parseSchedule('rate(0 hours)')).toThrow('the rate must be positive');
    expect(() => parseSchedule('every hour')).toThrow('expected rate(N unit)');
  });
});

describe('the scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'schedules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fires once what fell due while nothing ran, with the rule input; a failing target is logged and the others go on', async () => {
    const stateFile = join(dir, 'schedules.json');
    const now = Date.parse('2026-12-02T10:00:00Z');
    writeFileSync(stateFile, JSON.stringify({ 'Hourly/DispatcherFunction': '2026-12-02T08:00:00.000Z', 'Broken/DispatcherFunction': '2026-12-02T09:00:00.000Z' }));
    const rules: ScheduleRule[] = [
      { ruleId: 'Hourly', expression: 'rate(1 hour)', functionId: 'DispatcherFunction', input: { source: 'producersync.schedule', action: 'retry-pending-activations' } },
      { ruleId: 'Broken', expression: 'rate(1 hour)', functionId: 'DispatcherFunction', input: { source: 'producersync.schedule', action: 'not-yet-known' } },
      { ruleId: 'Weekly', expression: 'cron(0 6 ? * SUN *)', functionId: 'DispatcherFunction', input: { action: 'reconcile' } },
      { ruleId: 'Odd', expression: 'cron(0 6 L * ? *)', functionId: 'DispatcherFunction', input: {} },
    ];
    const received: unknown[] = [];
    const lines: string[] = [];
    let fired!: () => void;
    const bothFired = new Promise<void>((resolve) => (fired = resolve));
    const scheduler = startScheduler({
      rules,
      stateFile,
      now: () => now,
      log: (line) => lines.push(line),
      handlers: {
        DispatcherFunction: async (event) => {
          received.push(event);
          if (received.length === 2) fired();
          if ((event as { action: string }).action === 'not-yet-known') throw new Error('unknown scheduled action not-yet-known');
          return {};
        },
      },
    });
    await bothFired;
    await scheduler.stop();
    expect(received).toEqual(expect.arrayContaining([rules[0]!.input, rules[1]!.input]));
    expect(received).toHaveLength(2);
    expect(lines).toContain('schedule Broken (rate(1 hour)) → DispatcherFunction failed: unknown scheduled action not-yet-known');
    expect(lines.some((line) => line.startsWith('schedule Odd is not run locally:'))).toBe(true);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({
      'Hourly/DispatcherFunction': '2026-12-02T11:00:00.000Z',
      'Broken/DispatcherFunction': '2026-12-02T11:00:00.000Z',
      'Weekly/DispatcherFunction': '2026-12-06T06:00:00.000Z',
    });
  });
});
