/**
 * One producer as the copy holds it: every item of the NPN's partition (docs/STREAM-CONTRACT.md §1)
 * turned into a typed view for downstream code: the entity, licenses with their LOAs grouped by state,
 * appointments grouped by carrier, addresses, regulatory actions, contact details and other names,
 * each record with its standing in the source (current, soft-deleted, missing from the source), and
 * the NPN's subscription status. Pure: the items come from a ProducerStore.
 *
 * Field names inside `record` follow /work/shared/producersync-api.md; where the API documentation
 * is unsure of a name (LOA code and status), the documented spelling is read first and the likely
 * alternatives after it.
 */

/** A data-table item as stored (unmarshalled), new optional attributes included. */
export interface StoredItem {
  pk: string;
  sk: string;
  recordType: string;
  npn: string;
  id?: number;
  updatedAt?: string;
  deleted?: boolean;
  contentHash?: string;
  /** ISO time of the item's last real change (written by the sync; absent on items written before it existed). */
  changedAt?: string;
  /** Set by a reconcile pass when the API no longer returns the record (soft: the item is kept). */
  missingFromSource?: MissingFromSource;
  record?: Record<string, unknown>;
  /** NPN status items only. */
  status?: string;
  statusDate?: string;
  [attribute: string]: unknown;
}

/** The reconcile mark of an item the API stopped returning. */
export interface MissingFromSource {
  reason?: string;
  /** When the reconcile pass found it missing. */
  since?: string;
  runId?: string;
}

/**
 * Where a record stands in the source: `current`; `soft-deleted` (NIPR deleted it: `niprDeleted`, item
 * kept); `missing-from-source` (a reconcile pass no longer got it from the API; item kept and marked).
 */
export type RecordStanding = 'current' | 'soft-deleted' | 'missing-from-source';

/** What every record view carries about its item. */
export interface RecordMeta {
  /** The source record id. */
  id: number | undefined;
  /** Source `updatedAt` (yyyy-MM-dd). */
  updatedAt: string | undefined;
  /** When the copy last changed this item (ISO), where the item has it. */
  changedAt: string | undefined;
  standing: RecordStanding;
  missingFromSource?: MissingFromSource;
}

export interface EntityView extends RecordMeta {
  /** `INDIVIDUAL` or `FIRM`. */
  type: string | undefined;
  /** Person's full name, or the firm's name. */
  name: string | undefined;
  firstName: string | undefined;
  middleName: string | undefined;
  lastName: string | undefined;
  companyName: string | undefined;
  dateOfBirth: string | undefined;
}

export interface LoaView extends RecordMeta {
  /** The line of authority's name, e.g. `Property`. */
  name: string | undefined;
  /** Its code, e.g. `12`. */
  code: string | undefined;
  /** The source status (`Active`, `Inactive`, `Cancelled`, ...). */
  status: string | undefined;
  /** Status `Active` and the LOA itself current. */
  active: boolean;
  issueDate: string | undefined;
}

/**
 * A license's standing today: `active`; `inactive` (the source says `active: false`); `expired`
 * (expiration date before today); or the record is not current (`soft-deleted`, `missing-from-source`).
 */
export type LicenseStatus = 'active' | 'inactive' | 'expired' | 'soft-deleted' | 'missing-from-source';

export interface LicenseView extends RecordMeta {
  state: string | undefined;
  licenseNum: string | undefined;
  licenseClass: string | undefined;
  /** `R` resident or `NR` non-resident. */
  residencyStatus: string | undefined;
  /** The source's own `active` flag. */
  activeInSource: boolean;
  /** yyyy-MM-dd; null = no expiry (perpetual). */
  expirationDate: string | null;
  status: LicenseStatus;
  loas: LoaView[];
}

export interface AppointmentView extends RecordMeta {
  state: string | undefined;
  coCode: string | undefined;
  companyName: string | undefined;
  /** The appointment's line of authority (name, code), where the record names one. */
  line: string | undefined;
  lineCode: string | undefined;
  /** The source status (`Appointed`, `APPOINTED`, `Terminated`, ...). */
  status: string | undefined;
  /** Appointed (or Active) and the record current. */
  active: boolean;
  statusReasonDate: string | undefined;
  terminationReason: string | undefined;
}

export interface AddressView extends RecordMeta {
  /** `BUSINESS`, `MAILING` or `RESIDENCE`. */
  type: string | undefined;
  /** The state the address is on file for. */
  forState: string | undefined;
  line1: string | undefined;
  city: string | undefined;
  /** The state of the address itself. */
  state: string | undefined;
  zip: string | undefined;
  country: string | undefined;
}

export interface RegulatoryActionView extends RecordMeta {
  state: string | undefined;
  actionId: string | undefined;
  actionDate: string | undefined;
  effectiveDate: string | undefined;
  penaltyFineForfeiture: number | undefined;
  lengthOfOrder: number | undefined;
  /** The action's values by type (`DISPOSITION`, `ORIGIN`, `REASON`). */
  values: Record<string, string>;
}

/** Contact details and other names: their kind, the state they are on file for, and the value. */
export interface DetailView extends RecordMeta {
  type: string | undefined;
  forState: string | undefined;
  value: string | undefined;
}

/**
 * The NPN's subscription as the webhooks reported it (`npnStatus` item). `unknown`: no activation or
 * deactivation event was ever recorded (an NPN synced while subscribed), which counts as active.
 */
export interface SubscriptionView {
  status: 'ACTIVE' | 'DEACTIVATED' | 'unknown';
  statusDate: string | undefined;
}

export interface ProducerView {
  npn: string;
  subscription: SubscriptionView;
  entity: EntityView | undefined;
  /** By state (alphabetical), each state's licenses newest expiry first. */
  licensesByState: Array<{ state: string; licenses: LicenseView[] }>;
  /** By carrier (NAIC company code), each carrier's appointments by state. */
  appointmentsByCarrier: Array<{ coCode: string; companyName: string | undefined; appointments: AppointmentView[] }>;
  addresses: AddressView[];
  regulatoryActions: RegulatoryActionView[];
  contactInfos: DetailView[];
  otherNames: DetailView[];
  /** How many items of the partition the view was built from. */
  itemCount: number;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
/** The first of `names` that `record` has a value for. */
const field = (record: Record<string, unknown>, ...names: string[]): string | undefined => {
  for (const name of names) {
    const value = text(record[name]);
    if (value !== undefined) return value;
  }
  return undefined;
};
const sameText = (a: string | undefined, b: string): boolean => a !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
const recordOf = (item: StoredItem): Record<string, unknown> => (item.record && typeof item.record === 'object' ? item.record : {});

function metaOf(item: StoredItem, record = recordOf(item)): RecordMeta {
  const softDeleted = item.deleted === true || record.niprDeleted === true;
  const missing = item.missingFromSource && typeof item.missingFromSource === 'object' ? item.missingFromSource : undefined;
  return {
    id: num(item.id) ?? num(record.id),
    updatedAt: text(item.updatedAt) ?? text(record.updatedAt),
    changedAt: text(item.changedAt),
    // Missing from the source says more than the last deleted flag it sent.
    standing: missing ? 'missing-from-source' : softDeleted ? 'soft-deleted' : 'current',
    ...(missing ? { missingFromSource: missing } : {}),
  };
}

function loaView(record: Record<string, unknown>, meta: RecordMeta): LoaView {
  const status = field(record, 'status', 'loaStatus');
  return {
    ...meta,
    name: field(record, 'loa', 'loaName', 'name'),
    code: field(record, 'loaCode', 'code'),
    status,
    active: meta.standing === 'current' && sameText(status, 'active'),
    issueDate: field(record, 'issueDate'),
  };
}

/** A license's status on `today` (yyyy-MM-dd): the record's standing first, then the source flag, then expiry. */
function licenseStatus(meta: RecordMeta, activeInSource: boolean, expirationDate: string | null, today: string): LicenseStatus {
  if (meta.standing !== 'current') return meta.standing;
  if (!activeInSource) return 'inactive';
  return expirationDate !== null && expirationDate < today ? 'expired' : 'active';
}

function licenseView(item: StoredItem, separateLoas: readonly LoaView[], today: string): LicenseView {
  const record = recordOf(item);
  const meta = metaOf(item, record);
  const embedded = Array.isArray(record.licenseLoas) ? (record.licenseLoas as unknown[]) : [];
  const loas = new Map<string, LoaView>();
  for (const loa of embedded) {
    if (!loa || typeof loa !== 'object') continue;
    const loaRecord = loa as Record<string, unknown>;
    const view = loaView(loaRecord, metaOf({ pk: item.pk, sk: item.sk, recordType: 'licenseLoas', npn: item.npn, record: loaRecord }, loaRecord));
    loas.set(String(view.id ?? loas.size), view);
  }
  // LOAs synced from /v2/licenseLoas (opt-in) replace the embedded copy when they are at least as new.
  for (const loa of separateLoas) {
    const key = String(loa.id);
    const known = loas.get(key);
    if (!known || (loa.updatedAt ?? '') >= (known.updatedAt ?? '')) loas.set(key, loa);
  }
  const activeInSource = record.active === true;
  const rawExpiry = record.expirationDate;
  const expirationDate = typeof rawExpiry === 'string' && rawExpiry !== '' ? rawExpiry : null;
  return {
    ...meta,
    state: field(record, 'forState'),
    licenseNum: field(record, 'licenseNum'),
    licenseClass: field(record, 'licenseClass'),
    residencyStatus: field(record, 'residencyStatus'),
    activeInSource,
    expirationDate,
    status: licenseStatus(meta, activeInSource, expirationDate, today),
    loas: [...loas.values()].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '')),
  };
}

/** `Appointed` / `APPOINTED` / `Active`: the forms producersync-api.md §3.5 leaves open. */
const isAppointedStatus = (status: string | undefined): boolean => sameText(status, 'appointed') || sameText(status, 'active');

function appointmentView(item: StoredItem): AppointmentView {
  const record = recordOf(item);
  const meta = metaOf(item, record);
  const status = field(record, 'status');
  return {
    ...meta,
    state: field(record, 'forState'),
    coCode: field(record, 'coCode'),
    companyName: field(record, 'companyName'),
    line: field(record, 'loa'),
    lineCode: field(record, 'loaCode'),
    status,
    active: meta.standing === 'current' && isAppointedStatus(status),
    statusReasonDate: field(record, 'statusReasonDate'),
    terminationReason: field(record, 'terminationReason'),
  };
}

function entityView(item: StoredItem): EntityView {
  const record = recordOf(item);
  const [firstName, middleName, lastName, companyName] = ['firstName', 'middleName', 'lastName', 'companyName'].map((name) => field(record, name));
  const person = [firstName, middleName, lastName].filter(Boolean).join(' ');
  return {
    ...metaOf(item, record),
    type: field(record, 'type'),
    name: companyName ?? (person || undefined),
    firstName,
    middleName,
    lastName,
    companyName,
    dateOfBirth: field(record, 'dateOfBirth'),
  };
}

function addressView(item: StoredItem): AddressView {
  const record = recordOf(item);
  return {
    ...metaOf(item, record),
    type: field(record, 'type'),
    forState: field(record, 'forState'),
    line1: field(record, 'line1'),
    city: field(record, 'city'),
    state: field(record, 'state'),
    zip: field(record, 'zip'),
    country: field(record, 'country'),
  };
}

function regulatoryActionView(item: StoredItem): RegulatoryActionView {
  const record = recordOf(item);
  const wrapper = record.regulatoryActionValues;
  // The API nests the list in a wrapper object ({regulatoryActionValues: [...]}); tolerate a bare list too.
  const list = Array.isArray(wrapper) ? wrapper : Array.isArray((wrapper as { regulatoryActionValues?: unknown })?.regulatoryActionValues) ? (wrapper as { regulatoryActionValues: unknown[] }).regulatoryActionValues : [];
  const values: Record<string, string> = {};
  for (const value of list) {
    const entry = value as Record<string, unknown> | null;
    const type = entry ? text(entry.type) : undefined;
    const content = entry ? text(entry.value) : undefined;
    if (type && content) values[type] = content;
  }
  return {
    ...metaOf(item, record),
    state: field(record, 'forState'),
    actionId: field(record, 'actionId'),
    actionDate: field(record, 'actionDate'),
    effectiveDate: field(record, 'effectiveDate'),
    penaltyFineForfeiture: num(record.penaltyFineForfeiture),
    lengthOfOrder: num(record.lengthOfOrder),
    values,
  };
}

function detailView(item: StoredItem, valueField: string): DetailView {
  const record = recordOf(item);
  return { ...metaOf(item, record), type: field(record, 'type'), forState: field(record, 'forState'), value: field(record, valueField) };
}

function subscriptionOf(item: StoredItem | undefined): SubscriptionView {
  const status = item?.status === 'ACTIVE' || item?.status === 'DEACTIVATED' ? item.status : 'unknown';
  return { status, statusDate: text(item?.statusDate) };
}

function groupBy<T, K extends string>(values: readonly T[], keyOf: (value: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const value of values) {
    const key = keyOf(value);
    groups.set(key, [...(groups.get(key) ?? []), value]);
  }
  return new Map([...groups].sort(([a], [b]) => a.localeCompare(b)));
}

/** Today in UTC as yyyy-MM-dd: the day expiry is judged against unless the caller gives one. */
export const todayUtc = (now: Date = new Date()): string => now.toISOString().slice(0, 10);

/**
 * The view of one producer from the items of its partition (`NPN#<npn>`). Returns undefined when the
 * copy holds nothing for the NPN. `today` (yyyy-MM-dd) decides which licenses have expired.
 */
export function producerView(npn: string, items: readonly StoredItem[], today: string = todayUtc()): ProducerView | undefined {
  if (items.length === 0) return undefined;
  const ofType = (type: string): StoredItem[] => items.filter((item) => item.recordType === type);
  const separateLoas = groupBy(
    ofType('licenseLoas').map((item) => ({ licenseId: num(recordOf(item).licenseId), view: loaView(recordOf(item), metaOf(item)) })),
    (loa) => String(loa.licenseId),
  );
  const licenses = ofType('licenses').map((item) => licenseView(item, (separateLoas.get(String(recordOf(item).id ?? item.id)) ?? []).map((loa) => loa.view), today));
  const appointments = ofType('appointments').map(appointmentView);
  // One entity per NPN; should the copy hold two (a re-issued id), the current one speaks for the producer.
  const entities = ofType('entities');
  const entityItem = entities.find((item) => metaOf(item).standing === 'current') ?? entities[0];
  const newestExpiryFirst = (a: LicenseView, b: LicenseView): number => (b.expirationDate ?? '9999-12-31').localeCompare(a.expirationDate ?? '9999-12-31');
  return {
    npn,
    subscription: subscriptionOf(items.find((item) => item.recordType === 'npnStatus')),
    entity: entityItem ? entityView(entityItem) : undefined,
    licensesByState: [...groupBy(licenses, (license) => license.state ?? '?')].map(([state, list]) => ({ state, licenses: list.sort(newestExpiryFirst) })),
    appointmentsByCarrier: [...groupBy(appointments, (appointment) => appointment.coCode ?? '?')].map(([coCode, list]) => ({
      coCode,
      companyName: list.find((a) => a.companyName)?.companyName,
      appointments: list.sort((a, b) => (a.state ?? '').localeCompare(b.state ?? '')),
    })),
    addresses: ofType('addresses').map(addressView),
    regulatoryActions: ofType('regulatoryActions').map(regulatoryActionView).sort((a, b) => (b.actionDate ?? '').localeCompare(a.actionDate ?? '')),
    contactInfos: ofType('contactInfos').map((item) => detailView(item, 'value')),
    otherNames: ofType('otherNames').map((item) => detailView(item, 'name')),
    itemCount: items.length,
  };
}
