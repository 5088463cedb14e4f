import type { EndpointName } from '#producersync/endpoints';
import { formatDay } from './dates.ts';
import {
  CITIES, COMPANIES, FIRM_SUFFIXES, FIRM_WORDS, FIRST_NAMES, LAST_NAMES, LOA_KINDS, REGULATORY_VALUES, STATES,
  STREETS, TERMINATION_REASONS,
} from './catalogue.ts';
import { chance, digits, hashInts, intBetween, pick, rngFrom, uuidFrom, type Rng } from './random.ts';

/**
 * The stored state of one record: identity, ownership and history only. Field values are
 * rebuilt on demand from (seed, type, id, version), which keeps 20,000 NPNs in a few MB.
 */
export interface Slot {
  readonly id: number;
  readonly npnIdx: number;
  /** Parent license id (licenseLoas), else 0. */
  readonly parentId: number;
  /** Chosen at creation: state index (forState) for stateful types, LOA kind index for licenseLoas. */
  readonly attr: number;
  readonly createdDay: number;
  updatedDay: number;
  /** Bumped by every field edit; the editable fields are drawn from it. */
  version: number;
  deleted: boolean;
}

export type AppointmentStatusStyle = 'title' | 'upper';

export interface BuildContext {
  readonly seed: number;
  readonly baseUrl: string;
  readonly linksKey: 'links' | '_links';
  readonly appointmentStatus: AppointmentStatusStyle;
  npnOf(idx: number): string;
  residentStateOf(idx: number): number;
  loasOf(licenseId: number): readonly Slot[];
}

export type SimRecord = Record<string, unknown>;

const TYPE_CODE: Record<EndpointName, number> = {
  entities: 1, licenses: 2, licenseLoas: 3, appointments: 4, addresses: 5, contactInfos: 6, otherNames: 7, regulatoryActions: 8,
};

/** The sandbox fixture documented in the quick start. */
const SANDBOX_ENTITY = { npn: '15645555', id: 158583, firstName: 'Joe', middleName: 'A', lastName: 'Producer' } as const;

const baseRng = (ctx: BuildContext, type: EndpointName, slot: Slot): Rng => rngFrom(hashInts(ctx.seed, TYPE_CODE[type], slot.id));
const versionRng = (ctx: BuildContext, type: EndpointName, slot: Slot): Rng =>
  rngFrom(hashInts(ctx.seed, TYPE_CODE[type], slot.id, slot.version, 0x5eed));

const state = (index: number): string => STATES[index % STATES.length] ?? 'CO';
const day = formatDay;
const between = (rng: Rng, from: number, to: number) => (to <= from ? from : intBetween(rng, from, to));

function common(ctx: BuildContext, slot: Slot, vr: Rng, selfPath: string): { head: SimRecord; tail: SimRecord } {
  return {
    head: { id: slot.id, npn: ctx.npnOf(slot.npnIdx), transactionId: uuidFrom(vr) },
    tail: {
      createdAt: day(slot.createdDay),
      updatedAt: day(slot.updatedDay),
      niprDeleted: slot.deleted,
      [ctx.linksKey]: { self: { href: `${ctx.baseUrl}${selfPath}` } },
    },
  };
}

function buildEntity(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'entities', slot);
  const vr = versionRng(ctx, 'entities', slot);
  const npn = ctx.npnOf(slot.npnIdx);
  const sandbox = npn === SANDBOX_ENTITY.npn;
  const firm = !sandbox && chance(br, 0.1);
  const base = `${ctx.baseUrl}/v2/entities/${npn}`;
  const firstName = sandbox ? SANDBOX_ENTITY.firstName : pick(br, FIRST_NAMES);
  const middle = sandbox ? SANDBOX_ENTITY.middleName : String.fromCharCode(65 + intBetween(br, 0, 25));
  const lastName = sandbox ? SANDBOX_ENTITY.lastName : pick(br, LAST_NAMES);
  const birth = slot.createdDay - intBetween(br, 25 * 365, 60 * 365);
  return {
    id: slot.id,
    npn,
    transactionId: uuidFrom(vr),
    type: firm ? 'FIRM' : 'INDIVIDUAL',
    feinId: firm ? digits(br, 9) : null,
    companyName: firm ? `${pick(br, FIRM_WORDS)} ${pick(br, FIRM_SUFFIXES)}` : null,
    firstName: firm ? null : firstName,
    middleName: firm ? null : middle,
    // An edit can be a name change (marriage, correction): the version decides.
    lastName: firm ? null : slot.version > 0 && chance(vr, 0.5) ? pick(vr, LAST_NAMES) : lastName,
    dateOfBirth: firm ? null : day(birth),
    createdAt: day(slot.createdDay),
    updatedAt: day(slot.updatedDay),
    noLicenses: false,
    subscriptionCount: intBetween(vr, 1, 6),
    niprDeleted: slot.deleted,
    [ctx.linksKey]: {
      self: { href: base },
      addresses: { href: `${base}/addresses` },
      contactInfos: { href: `${base}/contactInfos` },
      appointments: { href: `${base}/appointments` },
      licenses: { href: `${base}/licenses` },
      residentLicense: { href: `${base}/licenses?states=${state(ctx.residentStateOf(slot.npnIdx))}` },
    },
  };
}

export function buildLicenseLoa(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'licenseLoas', slot);
  const vr = versionRng(ctx, 'licenseLoas', slot);
  const kind = LOA_KINDS[slot.attr % LOA_KINDS.length] ?? LOA_KINDS[0]!;
  const status = slot.version === 0 ? 'Active' : pick(vr, ['Active', 'Active', 'Inactive', 'Cancelled'] as const);
  const { head, tail } = common(ctx, slot, vr, `/v1/licenseLoas/${slot.id}`);
  return {
    id: slot.id,
    licenseId: slot.parentId,
    npn: head.npn,
    transactionId: head.transactionId,
    loa: kind.loa,
    loaCode: kind.loaCode,
    issueDate: day(slot.createdDay - intBetween(br, 0, 3000)),
    status,
    statusReasonDate: day(slot.version === 0 ? slot.createdDay : slot.updatedDay),
    ceCompliance: pick(vr, ['IN COMPLIANCE', 'IN COMPLIANCE', 'EXEMPT', 'N/A', 'NOT IN COMPLIANCE', null] as const),
    ceCreditsRequired: intBetween(vr, 0, 24),
    loaMapping: { categories: [...kind.categories] },
    ...tail,
  };
}

function buildLicense(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'licenses', slot);
  const vr = versionRng(ctx, 'licenses', slot);
  const { head, tail } = common(ctx, slot, vr, `/v1/licenses/${slot.id}`);
  const resident = slot.attr === ctx.residentStateOf(slot.npnIdx);
  const issued = slot.createdDay - intBetween(br, 0, 3650);
  // Renewal terms are two years; an edit is typically a renewal that moves expiry forward.
  const expiration = issued + 730 * (1 + Math.ceil(Math.max(0, slot.updatedDay - issued) / 730)) + slot.version * 730;
  const renewalType = pick(br, ['RENEWAL_REQUIRED', 'RENEWAL_REQUIRED', 'RENEWAL_REQUIRED', 'PERPETUAL', 'NO_RENEWAL_INFORMATION_AVAILABLE'] as const);
  const window = (from: number, to: number) => ({ startDate: day(from), endDate: day(to) });
  return {
    ...head,
    forState: state(slot.attr),
    branchId: null,
    niprDateUpdated: day(Math.max(slot.createdDay, slot.updatedDay - intBetween(vr, 0, 2))),
    licenseNum: digits(br, intBetween(br, 6, 9)),
    originalIssueDate: day(issued),
    expirationDate: renewalType === 'PERPETUAL' ? null : day(expiration),
    licenseClass: 'Insurance Producer',
    licenseClassCode: '3',
    residencyStatus: resident ? 'R' : 'NR',
    active: slot.deleted ? false : !chance(vr, 0.08),
    licenseLoas: ctx.loasOf(slot.id).map((loa) => buildLicenseLoa(ctx, loa)),
    agentTypes: ['Producer'],
    renewalPeriods:
      renewalType === 'RENEWAL_REQUIRED'
        ? {
            renewalType,
            renewal: window(expiration - 90, expiration),
            lateRenewal: window(expiration + 1, expiration + 60),
            reinstatement: window(expiration + 61, expiration + 365),
          }
        : { renewalType, renewal: null, lateRenewal: null, reinstatement: null },
    ...tail,
  };
}

function buildAppointment(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'appointments', slot);
  const vr = versionRng(ctx, 'appointments', slot);
  const { head, tail } = common(ctx, slot, vr, `/v1/appointments/${slot.id}`);
  const company = pick(br, COMPANIES);
  const kind = pick(br, LOA_KINDS);
  const terminated = slot.version === 0 ? chance(br, 0.2) : chance(vr, 0.5);
  const status = terminated ? 'Terminated' : 'Appointed';
  return {
    ...head,
    forState: state(slot.attr),
    branchId: null,
    companyName: company.companyName,
    feinId: company.feinId,
    coCode: company.coCode,
    loa: kind.loa,
    loaCode: kind.loaCode,
    status: ctx.appointmentStatus === 'upper' ? status.toUpperCase() : status,
    statusReasonDate: day(slot.version === 0 ? between(br, slot.createdDay, slot.updatedDay) : slot.updatedDay),
    terminationReason: terminated ? pick(vr, TERMINATION_REASONS) : null,
    countyCode: chance(br, 0.3) ? digits(br, 3) : null,
    loaMapping: { categories: [...kind.categories] },
    ...tail,
  };
}

function buildAddress(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'addresses', slot);
  const vr = versionRng(ctx, 'addresses', slot);
  const { head, tail } = common(ctx, slot, vr, `/v1/addresses/${slot.id}`);
  return {
    ...head,
    type: pick(br, ['BUSINESS', 'MAILING', 'RESIDENCE'] as const),
    forState: state(slot.attr),
    branchId: null,
    niprDateUpdated: day(Math.max(slot.createdDay, slot.updatedDay - intBetween(vr, 0, 2))),
    line1: `${intBetween(vr, 1, 9999)} ${pick(vr, STREETS)}`,
    city: pick(vr, CITIES),
    state: state(slot.version === 0 ? slot.attr : intBetween(vr, 0, STATES.length - 1)),
    zip: digits(vr, 5),
    country: 'U.S.A.',
    ...tail,
  };
}

function buildContactInfo(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'contactInfos', slot);
  const vr = versionRng(ctx, 'contactInfos', slot);
  const { head, tail } = common(ctx, slot, vr, `/v1/contactInfos/${slot.id}`);
  const type = pick(br, ['BUSINESS_PHONE', 'BUSINESS_EMAIL', 'FAX'] as const);
  const value =
    type === 'BUSINESS_EMAIL'
      ? `${pick(vr, FIRST_NAMES).toLowerCase()}.${digits(vr, 4)}@example.com`
      : `${digits(vr, 3)}-${digits(vr, 3)}-${digits(vr, 4)}`;
  return {
    ...head,
    type,
    forState: state(slot.attr),
    branchId: null,
    niprDateUpdated: day(Math.max(slot.createdDay, slot.updatedDay - intBetween(vr, 0, 2))),
    value,
    ...tail,
  };
}

function buildOtherName(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'otherNames', slot);
  const vr = versionRng(ctx, 'otherNames', slot);
  const { head, tail } = common(ctx, slot, vr, `/v1/otherNames/${slot.id}`);
  return {
    ...head,
    type: pick(br, ['ALIAS', 'FIRM_BRANCH', 'PREVIOUS'] as const),
    forState: state(slot.attr),
    branchId: null,
    stateCoId: digits(br, 6),
    name: `${pick(vr, FIRM_WORDS)} ${pick(vr, FIRM_SUFFIXES)}`,
    ...tail,
  };
}

/** Regulatory action values live inside their action; ids are derived so they stay unique and resolvable. */
export const REGULATORY_VALUE_TYPES = ['DISPOSITION', 'ORIGIN', 'REASON'] as const;
export const regulatoryValueId = (actionId: number, index: number): number => actionId * 10 + index + 1;
export const actionIdOfValue = (valueId: number): number => Math.floor(valueId / 10);

function buildRegulatoryAction(ctx: BuildContext, slot: Slot): SimRecord {
  const br = baseRng(ctx, 'regulatoryActions', slot);
  const vr = versionRng(ctx, 'regulatoryActions', slot);
  const { head, tail } = common(ctx, slot, vr, `/v1/regulatoryActions/${slot.id}`);
  const actionDay = slot.createdDay - intBetween(br, 30, 2000);
  const values = REGULATORY_VALUE_TYPES.map((type, index) => ({
    id: regulatoryValueId(slot.id, index),
    regulatoryActionId: slot.id,
    transactionId: uuidFrom(vr),
    type,
    value: pick(index === 0 && slot.version > 0 ? vr : br, REGULATORY_VALUES[type]),
    createdAt: day(slot.createdDay),
    updatedAt: day(slot.updatedDay),
  }));
  return {
    ...head,
    forState: state(slot.attr),
    actionId: digits(br, 8),
    actionDate: day(actionDay),
    effectiveDate: day(actionDay + intBetween(br, 0, 30)),
    enterDate: day(actionDay + intBetween(br, 30, 240)),
    penaltyFineForfeiture: intBetween(vr, 0, 20) * 50,
    lengthOfOrder: pick(br, [0, 30, 60, 90, 365] as const),
    regulatoryActionValues: { regulatoryActionValues: values },
    ...tail,
  };
}

const BUILDERS: Record<EndpointName, (ctx: BuildContext, slot: Slot) => SimRecord> = {
  entities: buildEntity,
  licenses: buildLicense,
  licenseLoas: buildLicenseLoa,
  appointments: buildAppointment,
  addresses: buildAddress,
  contactInfos: buildContactInfo,
  otherNames: buildOtherName,
  regulatoryActions: buildRegulatoryAction,
};

export const buildRecord = (type: EndpointName, ctx: BuildContext, slot: Slot): SimRecord => BUILDERS[type](ctx, slot);

export const SANDBOX_NPNS = ['15645555', '19855109'] as const;
export const SANDBOX_ENTITY_ID = SANDBOX_ENTITY.id;
