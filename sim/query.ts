import type { EndpointName } from '#producersync/endpoints';
import { isNpn } from '#producersync/npn';
import { parseDay } from './dates.ts';
import type { SimRecord } from './records.ts';

export const DEFAULT_PAGE_SIZE = 250;
export const MAX_PAGE_SIZE = 1000;

export interface ListQuery {
  size: number;
  /** Keyset position: the last id already returned (0 = start). */
  afterId: number;
  npns?: string[];
  updatedSinceDay?: number;
  includeDeleted: boolean;
  recordFilter?: (record: SimRecord) => boolean;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

function parseBoolean(name: string, raw: string | null): ParseResult<boolean | undefined> {
  if (raw === null) return { ok: true, value: undefined };
  if (raw === 'true' || raw === 'false') return { ok: true, value: raw === 'true' };
  return { ok: false, message: `Failed to convert value of type 'java.lang.String' to required type 'boolean'; Invalid boolean value [${raw}] for ${name}` };
}

const anyOf = <T>(values: readonly T[] | undefined, wanted: ReadonlySet<T>): boolean => (values ?? []).some((v) => wanted.has(v));

function categoriesOf(record: SimRecord): string[] {
  const mapping = record.loaMapping as { categories?: string[] } | undefined;
  return mapping?.categories ?? [];
}

/**
 * Validates the query of a v2 list endpoint the way a Spring controller would (400 with a
 * message for a bad value) and turns the record-level filters into one predicate.
 */
export function parseListQuery(type: EndpointName, params: URLSearchParams, opts: { allowNpns: boolean }): ParseResult<ListQuery> {
  const sizeRaw = params.get('size');
  const size = sizeRaw === null ? DEFAULT_PAGE_SIZE : Number(sizeRaw);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    return { ok: false, message: `size must be between 1 and ${MAX_PAGE_SIZE}, got [${sizeRaw}]` };
  }
  const tokenRaw = params.get('continuationToken');
  const afterId = tokenRaw === null || tokenRaw === '' ? 0 : Number(tokenRaw);
  if (!Number.isSafeInteger(afterId) || afterId < 0) return { ok: false, message: `Invalid continuationToken [${tokenRaw}]` };

  const query: ListQuery = { size, afterId, includeDeleted: true };
  const includeDeleted = parseBoolean('includeDeleted', params.get('includeDeleted'));
  if (!includeDeleted.ok) return includeDeleted;
  query.includeDeleted = includeDeleted.value ?? true;

  const since = params.get('updatedSince');
  if (since !== null) {
    const day = parseDay(since);
    if (day === undefined) return { ok: false, message: `updatedSince must be a date in the format yyyy-MM-dd, got [${since}]` };
    query.updatedSinceDay = day;
  }

  const npnsRaw = params.get('npns');
  if (npnsRaw !== null && opts.allowNpns) {
    const npns = list(npnsRaw);
    const bad = npns.find((n) => !isNpn(n));
    if (bad !== undefined) return { ok: false, message: `Invalid NPN [${bad}] in npns` };
    query.npns = npns;
  }

  const predicates: ((r: SimRecord) => boolean)[] = [];
  const statesRaw = params.get('states');
  if (statesRaw !== null) {
    const states = list(statesRaw).map((s) => s.toUpperCase());
    const bad = states.find((s) => !/^[A-Z]{2}$/.test(s));
    if (bad !== undefined) return { ok: false, message: `Each state must be 2 characters, got [${bad}]` };
    const wanted = new Set(states);
    // Records without a forState (entities, LOAs) are not state-scoped, so the filter leaves them in.
    if (wanted.size > 0) predicates.push((r) => typeof r.forState !== 'string' || wanted.has(r.forState));
  }

  const categoriesRaw = params.get('loaCategories');
  if (categoriesRaw !== null && (type === 'licenses' || type === 'appointments')) {
    const wanted = new Set(list(categoriesRaw).map((c) => c.toLowerCase()));
    if (type === 'licenses') {
      predicates.push((r) => ((r.licenseLoas as SimRecord[] | undefined) ?? []).some((loa) => anyOf(categoriesOf(loa), wanted)));
    } else predicates.push((r) => anyOf(categoriesOf(r), wanted));
  }

  if (type === 'licenses') {
    const active = parseBoolean('active', params.get('active'));
    if (!active.ok) return active;
    if (active.value !== undefined) predicates.push((r) => r.active === active.value);
    const codesRaw = params.get('loaCodes');
    if (codesRaw !== null) {
      const codes = new Set(list(codesRaw));
      predicates.push((r) => ((r.licenseLoas as SimRecord[] | undefined) ?? []).some((loa) => codes.has(String(loa.loaCode))));
    }
  }

  if (type === 'appointments') {
    const coCodesRaw = params.get('coCodes');
    if (coCodesRaw !== null) {
      const codes = list(coCodesRaw);
      const bad = codes.find((c) => !/^\w{5}$/.test(c));
      if (bad !== undefined) return { ok: false, message: `Each coCode must be 5 characters, got [${bad}]` };
      const wanted = new Set(codes);
      predicates.push((r) => wanted.has(String(r.coCode)));
    }
    const status = params.get('status');
    if (status !== null) {
      const upper = status.toUpperCase();
      if (upper !== 'TERMINATED' && upper !== 'APPOINTED') {
        return { ok: false, message: `status must be one of [TERMINATED, APPOINTED], got [${status}]` };
      }
      // Records may spell the status in title case; the filter matches either spelling.
      predicates.push((r) => String(r.status).toUpperCase() === upper);
    }
  }

  if (predicates.length > 0) query.recordFilter = (r) => predicates.every((p) => p(r));
  return { ok: true, value: query };
}
