import { describe, expect, it } from 'vitest';
import { isCalendarDate } from '#commons/calendar-date';

describe('isCalendarDate', () => {
  it.each(['2025-07-24', '2024-02-29', '2000-02-29', '1999-12-31', '0001-01-01'])('accepts %s', (value) => {
    expect(isCalendarDate(value)).toBe(true);
  });

  it.each([
    ['2025-02-30', 'a day that does not exist'],
    ['2025-02-29', 'February 29 outside a leap year'],
    ['1900-02-29', 'a century that is not a leap year'],
    ['2025-13-01', 'month 13'],
    ['2025-00-10', 'month 0'],
    ['0000-00-00', 'the missing-date sentinel'],
    ['2025-7-24', 'a one-digit month'],
    ['2025-07-24T00:00:00Z', 'a timestamp'],
    [' 2025-07-24', 'surrounding space'],
    [20250724, 'a number'],
    [null, 'null'],
  ] as [unknown, string][])('rejects %j (%s)', (value) => {
    expect(isCalendarDate(value)).toBe(false);
  });
});
