import { describe, expect, it } from 'vitest';
import { isNpn, NPN_PATTERN } from '#producersync/npn';

describe('NPN rule', () => {
  it('is 1 to 10 digits', () => {
    expect(['1', '15645555', '1234567890'].every(isNpn)).toBe(true);
    expect(['', '12345678901', '12a', ' 1', '1.0', '-1'].some(isNpn)).toBe(false);
    expect(isNpn(15645555)).toBe(false);
    expect(NPN_PATTERN.test('0000000001')).toBe(true);
  });
});
