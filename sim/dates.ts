/** Simulated calendar: days are integers (days since 1970-01-01 UTC) and travel as yyyy-MM-dd. */
const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseDay(value: string): number | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const date = new Date(ms);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

export function requireDay(value: string): number {
  const day = parseDay(value);
  if (day === undefined) throw new Error(`Not a yyyy-MM-dd date: ${value}`);
  return day;
}

// Records carry many dates from a small range, so formatted days are memoised.
const formatted = new Map<number, string>();

export function formatDay(day: number): string {
  let text = formatted.get(day);
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (formatted.size < 100_000) formatted.set(day, text);
  }
  return text;
}
