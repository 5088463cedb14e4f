import type { EndpointName } from '#producersync/endpoints';
import { canonicalJson, sha256Hex } from '#sync/content-hash';
import { dataKey, type DataItem } from '#sync/record-store';

export type ValidationResult = { ok: true; item: DataItem } | { ok: false; reason: string };

/**
 * `updatedAt` stored for a record that arrives without one. It sorts before every real date, so
 * any dated version supersedes it, while a content change with the date still missing is still written.
 */
export const MISSING_UPDATED_AT = '0000-00-00';

/** DynamoDB items are capped at 400 KB; leave room for the keys and the other attributes. */
export const MAX_RECORD_JSON_BYTES = 350_000;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DIGITS = /^\d+$/;

export function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function normaliseNpn(value: unknown): string | undefined {
  if (typeof value === 'string') return DIGITS.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/** Checks one source record of an endpoint and builds its data item, or says why it cannot be stored. */
export function validateRecord(endpoint: EndpointName, raw: unknown): ValidationResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'record is not a JSON object' };
  const record = raw as Record<string, unknown>;

  const { id } = record;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return { ok: false, reason: 'id is not an integer number' };

  const npn = normaliseNpn(record.npn);
  if (npn === undefined) return { ok: false, reason: 'npn is missing or not a string of digits' };

  let updatedAt = MISSING_UPDATED_AT;
  if (record.updatedAt !== undefined && record.updatedAt !== null) {
    if (typeof record.updatedAt !== 'string' || !isCalendarDate(record.updatedAt)) {
      return { ok: false, reason: 'updatedAt is not a yyyy-MM-dd date' };
    }
    updatedAt = record.updatedAt;
  }

  const canonical = canonicalJson(record);
  if (Buffer.byteLength(canonical) > MAX_RECORD_JSON_BYTES) {
    return { ok: false, reason: `record is larger than ${MAX_RECORD_JSON_BYTES} bytes of JSON` };
  }

  return {
    ok: true,
    item: {
      ...dataKey(npn, endpoint, id),
      recordType: endpoint,
      npn,
      id,
      updatedAt,
      deleted: record.niprDeleted === true,
      contentHash: sha256Hex(canonical),
      record,
    },
  };
}
