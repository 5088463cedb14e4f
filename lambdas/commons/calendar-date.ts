/**
 * The one calendar-date rule of the product: `yyyy-MM-dd` naming a real day (no 2025-02-30).
 * Used for webhook run dates, execution inputs, source records' `updatedAt` and the CLI.
 */

const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a `yyyy-MM-dd` string that names a real calendar day (UTC, proleptic Gregorian). */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || !CALENDAR_DATE.test(value)) return false;
  // Parsed as an ISO date-time, a day that does not exist rolls over (02-30 → 03-02) or fails.
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** The `yyyy-MM-dd` (UTC) of an epoch-ms time, `days` later. */
export function utcDay(ms: number, days = 0): string {
  return new Date(ms + days * 86_400_000).toISOString().slice(0, 10);
}
