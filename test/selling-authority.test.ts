import { describe, expect, it } from 'vitest';
import { producerView, type StoredItem } from '#read/producer-view';
import { matchesLine, sellingAuthority, type SellingQuestion } from '#read/selling-authority';
import { itemsOf } from './support/stored-items.ts';

const NPN = '18551108';
const TODAY = '2025-07-24';
const { item, status: statusItem } = itemsOf(NPN);
const entity = (record: Record<string, unknown> = {}, extra: Partial<StoredItem> = {}) => item('entities', 1, { type: 'INDIVIDUAL', firstName: 'Jeff', lastName: 'Android', ...record }, extra);
const license = (id: number, record: Record<string, unknown>, extra: Partial<StoredItem> = {}) =>
  item('licenses', id, { forState: 'TX', licenseNum: `L${id}`, active: true, expirationDate: '2026-04-22', licenseLoas: [], ...record }, extra);
const loa = (id: number, name: string, code: string, status = 'Active', extra: Record<string, unknown> = {}) => ({ id, loa: name, loaCode: code, status, niprDeleted: false, ...extra });
const status = (value: 'ACTIVE' | 'DEACTIVATED'): StoredItem => statusItem(value, '2025-07-20');

const ask = (items: StoredItem[], question: Partial<SellingQuestion> = {}) =>
  sellingAuthority(NPN, producerView(NPN, items, TODAY), { state: 'TX', line: 'Property', today: TODAY, ...question });
const propertyInTx = [entity(), license(10, { licenseLoas: [loa(100, 'Property', '12'), loa(101, 'Accident & Health', '14')] })];

describe('sellingAuthority', () => {
  it('says yes with the license and LOA that grant it, and lists what it did not check', () => {
    const answer = ask(propertyInTx);
    expect(answer).toMatchObject({
      npn: NPN,
      allowed: true,
      reason: 'yes: license L10 is active in TX until 2026-04-22 with Property (12) active',
      question: { state: 'TX', line: 'Property', today: TODAY },
      basis: { licenseId: 10, licenseNum: 'L10', expirationDate: '2026-04-22', loa: 'Property', loaCode: '12' },
    });
    expect(answer.checks.map((c) => [c.check, c.passed])).toEqual([['producer', true], ['license', true], ['line', true]]);
    expect(answer.notChecked).toEqual(expect.arrayContaining([expect.stringMatching(/carrier appointments/), expect.stringMatching(/continuing-education/), expect.stringMatching(/regulatory actions/)]));
  });

  it('matches the line by name (any case, & = and) or by code, and the state in any case', () => {
    expect(ask(propertyInTx, { line: 'accident and health', state: 'tx' }).allowed).toBe(true);
    expect(ask(propertyInTx, { line: '14' }).allowed).toBe(true);
    expect(matchesLine('Accident & Health', 'ACCIDENT  and health', undefined)).toBe(true);
    expect(matchesLine('Prop', 'Property', '12')).toBe(false);
  });

  it.each([
    ['the NPN is not in the copy', [], 'producer', /NPN 18551108 is not in the copy/],
    ['the entity is missing', [license(10, { licenseLoas: [loa(100, 'Property', '12')] })], 'producer', /no entity record/],
    ['the entity is deleted in NIPR', [entity({ niprDeleted: true }), ...propertyInTx.slice(1)], 'producer', /deleted in NIPR/],
    ['the entity is missing from the source', [entity({}, { missingFromSource: { since: '2025-07-20' } }), ...propertyInTx.slice(1)], 'producer', /no longer returned by ProducerSync/],
    ['the NPN is deactivated', [...propertyInTx, status('DEACTIVATED')], 'producer', /deactivated on 2025-07-20/],
    ['no license for the state', [entity(), license(10, { forState: 'AL', licenseLoas: [loa(100, 'Property', '12')] })], 'license', /holds no license for TX/],
    ['the license expired yesterday', [entity(), license(10, { expirationDate: '2025-07-23', licenseLoas: [loa(100, 'Property', '12')] })], 'license', /license L10 expired 2025-07-23/],
    ['the license is inactive', [entity(), license(10, { active: false, licenseLoas: [loa(100, 'Property', '12')] })], 'license', /license L10 is inactive/],
    ['the license is deleted', [entity(), license(10, { niprDeleted: true, licenseLoas: [loa(100, 'Property', '12')] })], 'license', /license L10 is deleted in NIPR/],
    ['the license is missing from the source', [entity(), license(10, { licenseLoas: [loa(100, 'Property', '12')] }, { missingFromSource: { since: '2025-07-21' } })], 'license', /no longer returned by ProducerSync \(since 2025-07-21\)/],
    ['the LOA is inactive', [entity(), license(10, { licenseLoas: [loa(100, 'Property', '12', 'Cancelled')] })], 'line', /Property \(12\) on license L10 is Cancelled/],
    ['the LOA is deleted', [entity(), license(10, { licenseLoas: [loa(100, 'Property', '12', 'Active', { niprDeleted: true })] })], 'line', /Property \(12\) on license L10 is soft-deleted/],
    ['no LOA matches', [entity(), license(10, { licenseLoas: [loa(101, 'Life', '16')] })], 'line', /no line of authority matching "Property".*it holds: Life \(16\)/],
  ] as const)('says no when %s', (_, items, check, reason) => {
    const answer = ask([...items]);
    expect(answer.allowed).toBe(false);
    expect(answer.reason).toMatch(reason);
    expect(answer.checks.at(-1)).toMatchObject({ check, passed: false });
    expect(answer.basis).toBeUndefined();
  });

  it('counts a subscription that was never reported (synced while subscribed) and a perpetual license as valid', () => {
    const answer = ask([entity(), license(10, { expirationDate: null, licenseLoas: [loa(100, 'Property', '12')] })]);
    expect(answer.allowed).toBe(true);
    expect(answer.checks[0]!.detail).toMatch(/no deactivation recorded/);
    expect(answer.reason).toBe('yes: license L10 is active in TX with Property (12) active');
  });

  it('uses any active license of the state when an old one expired', () => {
    const answer = ask([entity(), license(10, { expirationDate: '2020-01-01', licenseLoas: [loa(100, 'Property', '12')] }), license(11, { licenseLoas: [loa(110, 'Property', '12')] })]);
    expect(answer).toMatchObject({ allowed: true, basis: { licenseId: 11 } });
  });

  describe('with a carrier', () => {
    const appointment = (id: number, record: Record<string, unknown>) => item('appointments', id, { forState: 'TX', coCode: '98765', companyName: 'My Insurance Company', loa: 'Property', status: 'Appointed', ...record });

    it('needs an active appointment with that carrier in the state for the line', () => {
      const answer = ask([...propertyInTx, appointment(20, {})], { carrier: '98765' });
      expect(answer).toMatchObject({ allowed: true, basis: { appointmentId: 20 }, question: { carrier: '98765' } });
      expect(answer.reason).toMatch(/appointed by My Insurance Company$/);
      expect(answer.notChecked.join(' ')).not.toMatch(/carrier appointments/);
      expect(ask([...propertyInTx, appointment(20, { status: 'APPOINTED', loa: undefined, loaCode: '12' })], { carrier: '98765' }).allowed).toBe(true);
    });

    it.each([
      ['no appointment with the carrier', [], /no appointment with carrier 98765 in TX/],
      ['the appointment is in another state', [appointment(20, { forState: 'AL' })], /no appointment with carrier 98765 in TX/],
      ['the appointment is terminated', [appointment(20, { status: 'Terminated' })], /is Terminated/],
      ['the appointment is for another line', [appointment(20, { loa: 'Life', loaCode: '16' })], /for other lines \(Life\)/],
    ] as const)('says no when %s', (_, appointments, reason) => {
      const answer = ask([...propertyInTx, ...appointments], { carrier: '98765' });
      expect(answer).toMatchObject({ allowed: false });
      expect(answer.reason).toMatch(reason);
      expect(answer.checks.at(-1)).toMatchObject({ check: 'carrier', passed: false });
    });
  });
});
