/**
 * The checks a source record passes before it becomes a data item (docs/SYNC.md, "Records and the
 * write rule"); a record that fails is quarantined with the reason, the rest of its page goes on.
 */
import { isCalendarDate } from '#commons/calendar-date';
import type { EndpointName } from '#producersync/endpoints';
import { sha256Hex } from '#commons/sha256';
import { typeShardOf } from '#sync/change-index';
import { canonicalJson } from '#sync/content-hash';
import { dataKey, type DataItem } from '#sync/record-store';

/** The data item of a valid record, or why the record cannot be stored. */
export type ValidationResult = { ok: true; item: DataItem } | { ok: false; reason: string };

/**
 * `updatedAt` stored for a record that arrives without one. It sorts before every real date, so
 * any dated version supersedes it, while a content change with the date still missing is still written.
 */
export const MISSING_UPDATED_AT = '0000-00-00';

/** DynamoDB items are capped at 400 KB; leave room for the keys and the other attributes. */
export const MAX_RECORD_JSON_BYTES = 350_000;

/**
 * A record's own `npn` may be any digit string: the sync stores what the source holds (docs/SYNC.md),
 * while NPNs we send (#producersync/npn) must be 1-10 digits.
 */
const DIGITS = /^\d+$/;

/** @deprecated The calendar-date rule lives in `#commons/calendar-date`; re-exported for scripts/commands/sync.ts until it imports that. */

function normaliseNpn(value: unknown): string | undefined {
  if (typeof value === 'string') return DIGITS.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/** The data-table key of a source record (its id and NPN by the rules below), undefined when it has none. */
export function recordKey(endpoint: EndpointName, raw: unknown): { pk: string; sk: string } | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { id, npn } = raw as Record<string, unknown>;
  const digits = normaliseNpn(npn);
  return typeof id === 'number' && Number.isSafeInteger(id) && digits !== undefined ? dataKey(digits, endpoint, id) : undefined;
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
    if (!isCalendarDate(record.updatedAt)) {
      return { ok: false, reason: 'updatedAt is not a yyyy-MM-dd date' };
    }
    updatedAt = record.updatedAt;
  }

  const canonical = canonicalJson(record);
  if (Buffer.byteLength(canonical) > MAX_RECORD_JSON_BYTES) {
    return { ok: false, reason: `record is larger than ${MAX_RECORD_JSON_BYTES} bytes of JSON` };
  }

  const key = dataKey(npn, endpoint, id);
  return {
    ok: true,
    item: {
      ...key,
      recordType: endpoint,
      npn,
      id,
      updatedAt,
      deleted: record.niprDeleted === true,
      contentHash: sha256Hex(canonical),
      typeShard: typeShardOf(endpoint, key.pk, key.sk),
      record,
    },
  };
}
