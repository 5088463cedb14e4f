import { describe, expect, it } from 'vitest';
import { contentHash } from '#sync/content-hash';
import { typeShardOf } from '#sync/change-index';
import { MISSING_UPDATED_AT, recordKey, validateRecord } from '#sync/record-validation';

const license = { id: 1234567, npn: '18551108', forState: 'AL', updatedAt: '2024-12-02', niprDeleted: false, licenseLoas: [{ id: 1, loa: 'Property' }] };

describe('validateRecord', () => {
  it('builds the data item of docs/ARCHITECTURE.md', () => {
    const result = validateRecord('licenses', license);
    expect(result).toEqual({
      ok: true,
      item: {
        pk: 'NPN#18551108',
        sk: 'licenses#1234567',
        recordType: 'licenses',
        npn: '18551108',
        id: 1234567,
        updatedAt: '2024-12-02',
        deleted: false,
        contentHash: contentHash(license),
        typeShard: typeShardOf('licenses', 'NPN#18551108', 'licenses#1234567'),
        record: license,
      },
    });
    expect(typeShardOf('licenses', 'NPN#18551108', 'licenses#1234567')).toMatch(/^licenses#(0\d|1[0-5])$/);
  });

  it('reads the key of a record by the same rules, or none', () => {
    expect(recordKey('licenses', license)).toEqual({ pk: 'NPN#18551108', sk: 'licenses#1234567' });
    expect(recordKey('entities', { id: 5, npn: 15645555 })).toEqual({ pk: 'NPN#15645555', sk: 'entities#5' });
    expect(recordKey('licenses', { ...license, id: '1234567' })).toBeUndefined();
    expect(recordKey('licenses', { ...license, npn: '12A4' })).toBeUndefined();
    expect(recordKey('licenses', null)).toBeUndefined();
  });

  it('maps niprDeleted to deleted, a numeric npn to its digits, and a missing updatedAt to the sentinel', () => {
    const result = validateRecord('entities', { id: 5, npn: 15645555, niprDeleted: true });
    expect(result.ok && result.item).toMatchObject({ pk: 'NPN#15645555', npn: '15645555', deleted: true, updatedAt: MISSING_UPDATED_AT });
  });

  it.each([
    ['not an object', ['x'], 'record is not a JSON object'],
    ['null', null, 'record is not a JSON object'],
    ['id as a string', { ...license, id: '1234567' }, 'id is not an integer number'],
    ['fractional id', { ...license, id: 1.5 }, 'id is not an integer number'],
    ['missing npn', { id: 1, updatedAt: '2024-01-01' }, 'npn is missing or not a string of digits'],
    ['npn with letters', { ...license, npn: '12A4' }, 'npn is missing or not a string of digits'],
    ['empty npn', { ...license, npn: '' }, 'npn is missing or not a string of digits'],
    ['impossible date', { ...license, updatedAt: '2024-02-30' }, 'updatedAt is not a yyyy-MM-dd date'],
    ['timestamp instead of date', { ...license, updatedAt: '2024-02-03T10:00:00Z' }, 'updatedAt is not a yyyy-MM-dd date'],
  ])('rejects %s', (_case, raw, reason) => {
    expect(validateRecord('licenses', raw)).toEqual({ ok: false, reason });
  });

  it('rejects a record too large for one DynamoDB item', () => {
    const result = validateRecord('licenses', { ...license, blob: 'x'.repeat(360_000) });
    expect(result.ok).toBe(false);
  });
});
