/**
 * "May this producer sell this line in this state today?", answered from the copy (a ProducerView),
 * with the reason. The rule, in order; the first check that fails is the answer's reason:
 *
 * 1. producer: the copy has the NPN's entity, it is current (not soft-deleted, not missing from the
 *    source), and the NPN is not DEACTIVATED (no status item counts as active: synced while subscribed);
 * 2. license: a license for the state that is current, `active` in the source, and not expired on the
 *    day asked about (an expiration date on or after that day, or none: perpetual);
 * 3. line of authority: on such a license, an LOA that is current, has status Active, and matches the
 *    line by name (case-insensitive, `&` = `and`) or by code;
 * 4. carrier (only when one is asked about): an appointment with that NAIC company code in the state,
 *    current, Appointed/Active, for the same line where the appointment names one (by the question's
 *    words or by the name or code of the LOA that passed check 3).
 *
 * Not checked (the answer lists them): carrier appointments unless a carrier is given, continuing
 * education, regulatory actions (shown by the view, not judged), renewal grace periods, and how fresh
 * the copy is (it answers as of its last sync).
 */
import type { AppointmentView, LicenseView, LoaView, ProducerView } from './producer-view.ts';
import { todayUtc } from './producer-view.ts';

export interface SellingQuestion {
  /** Two-letter state, e.g. `TX`. */
  state: string;
  /** The line of authority, by name (`Property`, `Accident & Health`) or code (`12`). */
  line: string;
  /** NAIC company code of the carrier to check the appointment with. @default not checked */
  carrier?: string;
  /** The day asked about (yyyy-MM-dd). @default today, UTC */
  today?: string;
}

export type SellingCheck = 'producer' | 'license' | 'line' | 'carrier';

export interface SellingAnswer {
  npn: string;
  allowed: boolean;
  /** One sentence: the failed check, or what grants the authority. */
  reason: string;
  question: Required<Pick<SellingQuestion, 'state' | 'line' | 'today'>> & Pick<SellingQuestion, 'carrier'>;
  /** The checks made, in order, up to the first that failed. */
  checks: Array<{ check: SellingCheck; passed: boolean; detail: string }>;
  /** What the answer does not cover. */
  notChecked: string[];
  /** What grants it, when allowed. */
  basis?: { licenseId?: number; licenseNum?: string; expirationDate: string | null; loa?: string; loaCode?: string; appointmentId?: number };
}

const normalizeLine = (line: string): string => line.toLowerCase().replace(/&/g, ' and ').replace(/\s+/g, ' ').trim();

/** The line named by `name` or `code` is the one asked about. */
export function matchesLine(asked: string, name: string | undefined, code: string | undefined): boolean {
  return (name !== undefined && normalizeLine(name) === normalizeLine(asked)) || (code !== undefined && code.trim() === asked.trim());
}

const licenseLabel = (license: LicenseView): string => `license ${license.licenseNum ?? license.id ?? '?'}`;
const loaLabel = (loa: LoaView): string => [loa.name, loa.code ? `(${loa.code})` : undefined].filter(Boolean).join(' ') || `LOA ${loa.id ?? '?'}`;

function whyNotActive(license: LicenseView): string {
  switch (license.status) {
    case 'expired':
      return `${licenseLabel(license)} expired ${license.expirationDate}`;
    case 'inactive':
      return `${licenseLabel(license)} is inactive`;
    case 'soft-deleted':
      return `${licenseLabel(license)} is deleted in NIPR`;
    case 'missing-from-source':
      return `${licenseLabel(license)} is no longer returned by ProducerSync${license.missingFromSource?.since ? ` (since ${license.missingFromSource.since})` : ''}`;
    default:
      return `${licenseLabel(license)} is active`;
  }
}

function producerCheck(view: ProducerView): { passed: boolean; detail: string } {
  const { entity, subscription, npn } = view;
  if (!entity) return { passed: false, detail: `the copy has no entity record for NPN ${npn}` };
  if (entity.standing === 'soft-deleted') return { passed: false, detail: `NPN ${npn} is deleted in NIPR` };
  if (entity.standing === 'missing-from-source') return { passed: false, detail: `NPN ${npn} is no longer returned by ProducerSync` };
  if (subscription.status === 'DEACTIVATED') {
    return { passed: false, detail: `NPN ${npn} was deactivated${subscription.statusDate ? ` on ${subscription.statusDate}` : ''}: the copy no longer receives its updates` };
  }
  return { passed: true, detail: `NPN ${npn} is active (${subscription.status === 'ACTIVE' ? 'subscription ACTIVE' : 'no deactivation recorded'})` };
}

/** The answer to `question` for the producer of `view` (undefined: the copy has nothing for `npn`). */
export function sellingAuthority(npn: string, view: ProducerView | undefined, question: SellingQuestion): SellingAnswer {
  const state = question.state.trim().toUpperCase();
  const line = question.line.trim();
  const today = question.today ?? todayUtc();
  const carrier = question.carrier?.trim();
  const notChecked = [
    ...(carrier ? [] : ['carrier appointments (ask with a carrier to check one)']),
    'continuing-education compliance',
    'regulatory actions (listed with the producer, not judged)',
    'renewal grace periods (a license past its expiration date counts as expired)',
    'how fresh the copy is (it answers as of its last sync)',
  ];
  const checks: SellingAnswer['checks'] = [];
  const answer = (allowed: boolean, reason: string, basis?: SellingAnswer['basis']): SellingAnswer => ({
    npn,
    allowed,
    reason,
    question: { state, line, today, ...(carrier ? { carrier } : {}) },
    checks,
    notChecked,
    ...(basis ? { basis } : {}),
  });
  const fail = (check: SellingCheck, detail: string): SellingAnswer => {
    checks.push({ check, passed: false, detail });
    return answer(false, detail);
  };
  const pass = (check: SellingCheck, detail: string): void => void checks.push({ check, passed: true, detail });

  if (!view) return fail('producer', `NPN ${npn} is not in the copy`);
  const producer = producerCheck(view);
  if (!producer.passed) return fail('producer', producer.detail);
  pass('producer', producer.detail);

  const licenses = view.licensesByState.find((group) => group.state.toUpperCase() === state)?.licenses ?? [];
  if (licenses.length === 0) return fail('license', `NPN ${npn} holds no license for ${state}`);
  const active = licenses.filter((license) => license.status === 'active');
  if (active.length === 0) return fail('license', `no active license for ${state}: ${licenses.map(whyNotActive).join('; ')}`);
  pass('license', `${active.map((license) => `${licenseLabel(license)} (${license.expirationDate ? `expires ${license.expirationDate}` : 'no expiry'})`).join(', ')} active in ${state}`);

  const matching = active.flatMap((license) => license.loas.filter((loa) => matchesLine(line, loa.name, loa.code)).map((loa) => ({ license, loa })));
  const granted = matching.find(({ loa }) => loa.active);
  if (!granted) {
    if (matching.length > 0) {
      return fail('line', matching.map(({ license, loa }) => `${loaLabel(loa)} on ${licenseLabel(license)} is ${loa.standing === 'current' ? (loa.status ?? 'without a status') : loa.standing}`).join('; '));
    }
    const held = [...new Set(active.flatMap((license) => license.loas.map(loaLabel)))];
    return fail('line', `no line of authority matching "${line}" on the active ${state} license${active.length > 1 ? 's' : ''}${held.length ? ` (it holds: ${held.join(', ')})` : ' (it lists none)'}`);
  }
  pass('line', `${loaLabel(granted.loa)} is active on ${licenseLabel(granted.license)}`);

  let appointment: AppointmentView | undefined;
  if (carrier) {
    const ofCarrier = view.appointmentsByCarrier.find((group) => group.coCode === carrier)?.appointments.filter((a) => a.state?.toUpperCase() === state) ?? [];
    // The appointment may name the line differently from the question (code for name): the granting LOA links both.
    const { loa: granting } = granted;
    const sameLine = (a: AppointmentView): boolean =>
      (a.line === undefined && a.lineCode === undefined) ||
      matchesLine(line, a.line, a.lineCode) ||
      (granting.name !== undefined && matchesLine(granting.name, a.line, undefined)) ||
      (granting.code !== undefined && a.lineCode?.trim() === granting.code.trim());
    const forLine = ofCarrier.filter(sameLine);
    appointment = forLine.find((a) => a.active);
    if (!appointment) {
      if (ofCarrier.length === 0) return fail('carrier', `no appointment with carrier ${carrier} in ${state}`);
      if (forLine.length === 0) return fail('carrier', `carrier ${carrier}'s ${state} appointments are for other lines (${ofCarrier.map((a) => a.line ?? a.lineCode).join(', ')})`);
      return fail('carrier', `the appointment with carrier ${carrier} in ${state} is ${forLine.map((a) => (a.standing === 'current' ? (a.status ?? 'without a status') : a.standing)).join(', ')}`);
    }
    pass('carrier', `appointed by ${appointment.companyName ?? carrier} (${carrier}) in ${state}`);
  }

  const { license, loa } = granted;
  const reason =
    `yes: ${licenseLabel(license)} is active in ${state}${license.expirationDate ? ` until ${license.expirationDate}` : ''} with ${loaLabel(loa)} active` +
    (appointment ? `, appointed by ${appointment.companyName ?? carrier}` : '');
  return answer(true, reason, {
    ...(license.id !== undefined ? { licenseId: license.id } : {}),
    ...(license.licenseNum ? { licenseNum: license.licenseNum } : {}),
    expirationDate: license.expirationDate,
    ...(loa.name ? { loa: loa.name } : {}),
    ...(loa.code ? { loaCode: loa.code } : {}),
    ...(appointment?.id !== undefined ? { appointmentId: appointment.id } : {}),
  });
}
