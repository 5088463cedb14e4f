import { describe, expect, it } from 'vitest';
import { sha256Hex } from '#commons/sha256';
import { canonicalJson, contentHash } from '#sync/content-hash';

/**
 * Records and the hashes the product stored for them before the `__proto__` fix (computed with the
 * code of commit db86039). A changed hash would re-emit every stored item as a MODIFY, so these
 * must never change.
 */
const PINNED: Array<[name: string, record: unknown, hash: string]> = [
  [
    'entity',
    { npn: '15645555', id: 15645555, updatedAt: '2025-07-24', firstName: 'Ada', lastName: 'Lovelace', niprDeleted: false },
    '1bde6898118f78d41eb2d8eda9b3e49abbe9b4591b6212b2cd63dd179531ea9c',
  ],
  [
    'license with embedded LOAs',
    {
      id: 1234567,
      npn: '15645555',
      updatedAt: '2025-07-23',
      state: 'CA',
      licenseNumber: '0A12345',
      active: true,
      licenseLoas: [
        { loa: 'Life', status: 'Active', id: 2 },
        { id: 1, status: 'Inactive', loa: 'Health' },
      ],
      expirationDate: null,
    },
    '04eed3dbbc16ad3799f63b1cef6a6d84075ec02c02c10b010d2a810b371fa762',
  ],
  [
    'the same license with its keys reordered',
    {
      updatedAt: '2025-07-23',
      npn: '15645555',
      id: 1234567,
      licenseNumber: '0A12345',
      state: 'CA',
      active: true,
      expirationDate: null,
      licenseLoas: [
        { status: 'Active', id: 2, loa: 'Life' },
        { loa: 'Health', id: 1, status: 'Inactive' },
      ],
    },
    '04eed3dbbc16ad3799f63b1cef6a6d84075ec02c02c10b010d2a810b371fa762',
  ],
  [
    'nesting, empty values, unicode, large numbers',
    { z: { b: [3, 2, 1], a: { d: 1.5, c: -0.25 } }, a: '', m: [], n: {}, u: 'Zürich – “quoted” \u2028', big: 9007199254740991, e: 1e21 },
    '1e4f4874ef62822653cfaa77c760a0ac8c72210950548f9f7cfab36dc202ea8e',
  ],
  ['an array of scalars and objects', [null, true, 0, 'x', [{ b: 1, a: 2 }]], '98aa9101bae26307ab74bf42e48e3560d21dde9b44dd9a6781ae06f6e42d4bbd'],
  [
    'integer-like keys (JavaScript puts them first, in numeric order)',
    JSON.parse('{"10":"ten","2":"two","a":{"01":1,"1":2,"b":3},"-1":4,"4294967295":5,"4294967294":6}'),
    '474410ad0a47158eba1337c6bcae4aaf32922fafb91fed16abfcd03b96fbea15',
  ],
];

describe('contentHash', () => {
  it.each(PINNED)('keeps the stored hash of %s', (_name, record, hash) => {
    expect(contentHash(record)).toBe(hash);
  });

  it('ignores key order at every depth but not array order or values', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(contentHash({ a: [1, 2] })).not.toBe(contentHash({ a: [2, 1] }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: '1' }));
    expect(contentHash({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps an own "__proto__" key in the hash, so a change to it is a change', () => {
    const withProto = JSON.parse('{"id":1,"__proto__":{"x":1}}') as unknown;
    const changed = JSON.parse('{"id":1,"__proto__":{"x":2}}') as unknown;
    expect(canonicalJson(withProto)).toBe('{"__proto__":{"x":1},"id":1}');
    expect(contentHash(withProto)).not.toBe(contentHash({ id: 1 }));
    expect(contentHash(changed)).not.toBe(contentHash(withProto));
    expect(canonicalJson(JSON.parse('{"a":{"__proto__":[1]}}'))).toBe('{"a":{"__proto__":[1]}}');
  });

  it('is the sha256 hex of the canonical JSON', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(contentHash({ b: 1, a: 2 })).toBe(sha256Hex('{"a":2,"b":1}'));
  });
});
