import { describe, expect, it } from 'vitest';
import { producerView, todayUtc, type StoredItem } from '#read/producer-view';
import { itemsOf } from './support/stored-items.ts';

const NPN = '18551108';
const { item, status } = itemsOf(NPN);
const loa = (id: number, licenseId: number, loa: string, loaCode: string, status: string, extra: Record<string, unknown> = {}) => ({
  id, licenseId, npn: NPN, loa, loaCode, status, updatedAt: '2025-01-01', niprDeleted: false, ...extra,
});

describe('producerView', () => {
  it('is undefined when the copy holds nothing for the NPN', () => {
    expect(producerView(NPN, [])).toBeUndefined();
  });

  it('groups licenses by state with their LOAs and today\'s status, appointments by carrier, and shows each record\'s standing', () => {
    const items: StoredItem[] = [
      item('entities', 1, { type: 'INDIVIDUAL', firstName: 'Jeff', middleName: 'L', lastName: 'Android', dateOfBirth: '1983-12-15' }),
      item('licenses', 10, { forState: 'TX', licenseNum: 'TX-10', active: true, expirationDate: '2026-04-22', residencyStatus: 'R', licenseLoas: [loa(100, 10, 'Property', '12', 'Active'), loa(101, 10, 'Casualty', '13', 'Inactive')] }),
      item('licenses', 11, { forState: 'TX', licenseNum: 'TX-11', active: true, expirationDate: '2020-01-31', licenseLoas: [] }),
      item('licenses', 12, { forState: 'AL', licenseNum: 'AL-12', active: false, expirationDate: null }),
      item('licenses', 13, { forState: 'CO', licenseNum: 'CO-13', active: true, expirationDate: null, niprDeleted: true }),
      item('licenses', 14, { forState: 'NY', licenseNum: 'NY-14', active: true, expirationDate: '2030-01-01' }, { missingFromSource: { reason: 'notReturnedBySource', since: '2025-07-20', runId: 'reconcile-1' } }),
      item('appointments', 20, { forState: 'TX', coCode: '98765', companyName: 'My Insurance Company', loa: 'Property', status: 'Appointed' }),
      item('appointments', 21, { forState: 'AL', coCode: '98765', companyName: 'My Insurance Company', loa: 'Property', status: 'TERMINATED', terminationReason: 'Not for Cause' }),
      item('appointments', 22, { forState: 'TX', coCode: '24740', companyName: 'Acme Mutual Insurance', loa: 'Life', status: 'APPOINTED' }),
      item('addresses', 30, { type: 'BUSINESS', forState: 'TX', line1: '789 S Washington Ave', city: 'Denver', state: 'CO', zip: '80211', country: 'U.S.A.' }),
      item('regulatoryActions', 40, { forState: 'TX', actionId: '13537078', actionDate: '2017-07-10', penaltyFineForfeiture: 150, regulatoryActionValues: { regulatoryActionValues: [{ type: 'DISPOSITION', value: 'Fined' }, { type: 'REASON', value: 'Late Renewal' }] } }),
      item('contactInfos', 50, { type: 'BUSINESS_EMAIL', forState: 'TX', value: 'jeff@example.com' }),
      item('otherNames', 60, { type: 'ALIAS', forState: 'TX', name: 'Jeff L Android' }),
      status('ACTIVE', '2025-07-01'),
    ];
    const view = producerView(NPN, items, '2025-07-24')!;
    expect(view.itemCount).toBe(items.length);
    expect(view.subscription).toEqual({ status: 'ACTIVE', statusDate: '2025-07-01' });
    expect(view.entity).toMatchObject({ name: 'Jeff L Android', type: 'INDIVIDUAL', standing: 'current', dateOfBirth: '1983-12-15' });

    expect(view.licensesByState.map((g) => g.state)).toEqual(['AL', 'CO', 'NY', 'TX']);
    const tx = view.licensesByState.find((g) => g.state === 'TX')!.licenses;
    expect(tx.map((l) => [l.licenseNum, l.status])).toEqual([['TX-10', 'active'], ['TX-11', 'expired']]);
    expect(tx[0]!.loas.map((l) => [l.name, l.code, l.status, l.active])).toEqual([['Casualty', '13', 'Inactive', false], ['Property', '12', 'Active', true]]);
    const licenseIn = (state: string) => view.licensesByState.find((g) => g.state === state)!.licenses[0]!;
    expect(licenseIn('AL')).toMatchObject({ status: 'inactive', expirationDate: null, activeInSource: false });
    expect(licenseIn('CO')).toMatchObject({ status: 'soft-deleted', standing: 'soft-deleted' });
    expect(licenseIn('NY')).toMatchObject({ status: 'missing-from-source', missingFromSource: { since: '2025-07-20' } });

    expect(view.appointmentsByCarrier.map((c) => [c.coCode, c.companyName, c.appointments.map((a) => `${a.state}:${a.active}`)])).toEqual([
      ['24740', 'Acme Mutual Insurance', ['TX:true']],
      ['98765', 'My Insurance Company', ['AL:false', 'TX:true']],
    ]);
    expect(view.addresses[0]).toMatchObject({ type: 'BUSINESS', forState: 'TX', state: 'CO', city: 'Denver' });
    expect(view.regulatoryActions[0]).toMatchObject({ actionId: '13537078', penaltyFineForfeiture: 150, values: { DISPOSITION: 'Fined', REASON: 'Late Renewal' } });
    expect(view.contactInfos[0]).toMatchObject({ type: 'BUSINESS_EMAIL', value: 'jeff@example.com' });
    expect(view.otherNames[0]).toMatchObject({ type: 'ALIAS', value: 'Jeff L Android' });
  });

  it('merges LOAs synced from /v2/licenseLoas into their license, the newer copy winning', () => {
    const items: StoredItem[] = [
      item('licenses', 10, { forState: 'TX', active: true, expirationDate: '2030-01-01', licenseLoas: [loa(100, 10, 'Property', '12', 'Active', { updatedAt: '2025-01-01' })] }),
      item('licenseLoas', 100, loa(100, 10, 'Property', '12', 'Cancelled', { updatedAt: '2025-06-01' })),
      item('licenseLoas', 102, loa(102, 10, 'Life', '16', 'Active')),
      item('licenseLoas', 103, loa(103, 99, 'Surety', '20', 'Active')),
    ];
    const [license] = producerView(NPN, items, '2025-07-24')!.licensesByState[0]!.licenses;
    expect(license!.loas.map((l) => [l.id, l.name, l.status])).toEqual([[102, 'Life', 'Active'], [100, 'Property', 'Cancelled']]);
  });

  it('shows a deactivated NPN, a firm by its company name, and no subscription item as unknown', () => {
    const deactivated = producerView(NPN, [
      item('entities', 1, { type: 'FIRM', companyName: 'Acme Insurance Group', firstName: null }),
      status('DEACTIVATED', '2025-07-24'),
    ])!;
    expect(deactivated.subscription).toEqual({ status: 'DEACTIVATED', statusDate: '2025-07-24' });
    expect(deactivated.entity).toMatchObject({ type: 'FIRM', name: 'Acme Insurance Group' });
    expect(producerView(NPN, [item('entities', 1, { firstName: 'Joe' })])!.subscription).toEqual({ status: 'unknown', statusDate: undefined });
  });

  it('judges expiry against today in UTC by default', () => {
    expect(todayUtc(new Date('2025-07-24T23:59:59-05:00'))).toBe('2025-07-25');
    const license = (expirationDate: string) => producerView(NPN, [item('licenses', 1, { forState: 'TX', active: true, expirationDate })], '2025-07-24')!.licensesByState[0]!.licenses[0]!.status;
    expect(license('2025-07-24')).toBe('active');
    expect(license('2025-07-23')).toBe('expired');
  });
});
