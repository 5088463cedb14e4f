import { ENDPOINT_NAMES, type EndpointName } from '#producersync/endpoints';
import { LOA_KINDS, STATES } from './catalogue.ts';
import { buildRecord, SANDBOX_ENTITY_ID, SANDBOX_NPNS, type AppointmentStatusStyle, type BuildContext, type SimRecord, type Slot } from './records.ts';
import { chance, digits, hashInts, intBetween, rngFrom, type Rng } from './random.ts';

/**
 * Records AgentSync fetches for an NPN subscribed after start: `full` (like the population),
 * `minimal` (an entity, one resident license with one LOA, one address: 4 records) or `none`.
 */
export type NewNpnData = 'full' | 'minimal' | 'none';

export interface DatasetOptions {
  seed: number;
  npns: number;
  today: number;
  linksKey: 'links' | '_links';
  appointmentStatus: AppointmentStatusStyle;
  newNpnData: NewNpnData;
}

/** Filters shared by every list endpoint; record-level filters (states, active, ...) come as a predicate. */
export interface SlotFilter {
  npnIdxs?: readonly number[];
  updatedSinceDay?: number;
  includeDeleted: boolean;
  /** Only NPNs on the subscription list (the "for subscribed NPNs" endpoints); per-NPN reads ignore it. */
  subscribedOnly: boolean;
  recordFilter?: (record: SimRecord) => boolean;
}

/** A record named by endpoint and id. */
export interface RecordRef {
  endpoint: EndpointName;
  id: number;
}

export interface DayChanges {
  /** Records whose content changed, with today's updatedAt (edits, and licenses whose LOAs changed). */
  changed: number;
  /** Records that appeared: new ones, and those of NPNs whose data arrived today (see npnsLoaded). */
  added: number;
  /** Records newly marked niprDeleted. */
  deleted: number;
  /** NPNs (re)subscribed since the last day whose records appeared today, stamped with today. */
  npnsLoaded: number;
  /** Records whose content changed while updatedAt stayed as it was (only a full re-read sees them). */
  changedWithoutBump: number;
  withoutBump: RecordRef[];
}

const FIRST_IDS: Record<EndpointName, number> = {
  entities: SANDBOX_ENTITY_ID,
  licenses: 1_000_000,
  licenseLoas: 5_000_000,
  appointments: 20_000_000,
  addresses: 40_000_000,
  contactInfos: 50_000_000,
  otherNames: 60_000_000,
  regulatoryActions: 70_000_000,
};

/** Types a daily update may add a record to (entities exist once per NPN). */
const ADDABLE: readonly EndpointName[] = ['licenses', 'licenseLoas', 'appointments', 'appointments', 'addresses', 'contactInfos', 'otherNames', 'regulatoryActions'];

/**
 * The simulated ProducerSync database: the NPN population, the subscription list and one id-sorted
 * slot array per record type (ids only grow, so appends keep the order and a keyset token stays valid).
 */
export class SimDataset {
  today: number;
  private readonly npns: string[] = [];
  private readonly npnIndex = new Map<string, number>();
  private readonly residentState: number[] = [];
  private readonly subscribed: boolean[] = [];
  /** Records exist for the NPN (AgentSync fetched it from NIPR once). */
  private readonly loaded: boolean[] = [];
  /**
   * Subscribed since the last day: AgentSync fetches its data on the next daily cycle, so until
   * advanceDay its records stay out of the "for subscribed NPNs" endpoints and groundTruth.
   */
  private readonly awaitingData: boolean[] = [];
  private readonly slots = {} as Record<EndpointName, Slot[]>;
  private readonly byNpn: Array<Partial<Record<EndpointName, Slot[]>>> = [];
  private readonly loasByLicense = new Map<number, Slot[]>();
  private readonly nextId = {} as Record<EndpointName, number>;
  private readonly seed: number;
  private readonly idRng: Rng;
  readonly context: BuildContext;

  constructor(private readonly options: DatasetOptions, baseUrl: () => string) {
    this.seed = options.seed;
    this.today = options.today;
    this.idRng = rngFrom(hashInts(options.seed, 0x1d));
    for (const type of ENDPOINT_NAMES) {
      this.slots[type] = [];
      this.nextId[type] = FIRST_IDS[type];
    }
    const dataset = this;
    this.context = {
      seed: options.seed,
      get baseUrl() {
        return baseUrl();
      },
      linksKey: options.linksKey,
      appointmentStatus: options.appointmentStatus,
      npnOf: (idx) => dataset.npns[idx] ?? '',
      residentStateOf: (idx) => dataset.residentState[idx] ?? 0,
      loasOf: (licenseId) => dataset.loasByLicense.get(licenseId) ?? [],
    };
    this.generatePopulation(Math.max(options.npns, SANDBOX_NPNS.length));
  }

  private generatePopulation(count: number): void {
    const rng = rngFrom(hashInts(this.seed, 0xa0));
    const population: string[] = [...SANDBOX_NPNS];
    const seen = new Set<string>(population);
    while (population.length < count) {
      const npn = digits(rng, chance(rng, 0.6) ? 8 : 9);
      if (!seen.has(npn)) (seen.add(npn), population.push(npn));
    }
    for (const npn of population) {
      const idx = this.addNpn(npn);
      this.subscribed[idx] = true;
      this.loadNpn(idx, true);
    }
  }

  private addNpn(npn: string): number {
    const existing = this.npnIndex.get(npn);
    if (existing !== undefined) return existing;
    const idx = this.npns.length;
    this.npns.push(npn);
    this.npnIndex.set(npn, idx);
    this.residentState.push(hashInts(this.seed, 0x57, idx) % STATES.length);
    this.subscribed.push(false);
    this.loaded.push(false);
    this.awaitingData.push(false);
    this.byNpn.push({});
    return idx;
  }

  private allocateId(type: EndpointName): number {
    const id = this.nextId[type];
    this.nextId[type] = id + intBetween(this.idRng, 1, 5);
    return id;
  }

  private insert(type: EndpointName, slot: Slot): Slot {
    this.slots[type].push(slot);
    (this.byNpn[slot.npnIdx]![type] ??= []).push(slot);
    if (type === 'licenseLoas') {
      const siblings = this.loasByLicense.get(slot.parentId);
      if (siblings) siblings.push(slot);
      else this.loasByLicense.set(slot.parentId, [slot]);
    }
    return slot;
  }

  private newSlot(type: EndpointName, npnIdx: number, rng: Rng, opts: { initial: boolean; parentId?: number; attr: number; notBefore?: number }): Slot {
    const created = opts.initial ? Math.max(this.today - intBetween(rng, 30, 2500), opts.notBefore ?? -Infinity) : this.today;
    // Most history is old; a tail of recent updates makes updatedSince filters return something on day one.
    const updated = opts.initial
      ? chance(rng, 0.05) ? this.today - intBetween(rng, 0, 2) : created + Math.floor((this.today - created) * rng() * rng())
      : this.today;
    const slot: Slot = {
      id: this.allocateId(type),
      npnIdx,
      parentId: opts.parentId ?? 0,
      attr: opts.attr,
      createdDay: created,
      updatedDay: Math.min(Math.max(updated, created), this.today),
      version: 0,
      deleted: opts.initial && type !== 'entities' && chance(rng, 0.03),
    };
    return this.insert(type, slot);
  }

  private addLicense(npnIdx: number, stateIdx: number, rng: Rng, initial: boolean): number {
    const license = this.newSlot('licenses', npnIdx, rng, { initial, attr: stateIdx });
    const loaCount = intBetween(rng, 1, 3);
    const first = intBetween(rng, 0, LOA_KINDS.length - 1);
    for (let i = 0; i < loaCount; i++) {
      // An LOA record cannot predate its license record.
      const loa = this.newSlot('licenseLoas', npnIdx, rng, { initial, parentId: license.id, attr: first + i, notBefore: license.createdDay });
      if (loa.updatedDay > license.updatedDay) license.updatedDay = loa.updatedDay;
    }
    return 1 + loaCount;
  }

  /** Generates one NPN's records; returns how many were created. */
  private loadNpn(idx: number, initial: boolean, profile: NewNpnData = 'full'): number {
    if (this.loaded[idx]) return 0;
    this.loaded[idx] = true;
    if (profile === 'none') return 0;
    const rng = rngFrom(hashInts(this.seed, 0xda7a, idx));
    const resident = this.residentState[idx] ?? 0;
    const randomState = () => intBetween(rng, 0, STATES.length - 1);
    let created = 0;
    created += (this.newSlot('entities', idx, rng, { initial, attr: resident }), 1);
    if (profile === 'minimal') {
      const license = this.newSlot('licenses', idx, rng, { initial, attr: resident });
      this.newSlot('licenseLoas', idx, rng, { initial, parentId: license.id, attr: intBetween(rng, 0, LOA_KINDS.length - 1) });
      this.newSlot('addresses', idx, rng, { initial, attr: resident });
      return created + 3;
    }
    const licenseStates = new Set([resident]);
    const nonResident = intBetween(rng, 0, 4);
    for (let i = 0; i < nonResident; i++) licenseStates.add(randomState());
    for (const stateIdx of licenseStates) created += this.addLicense(idx, stateIdx, rng, initial);
    const appointments = intBetween(rng, 0, 6);
    for (let i = 0; i < appointments; i++) created += (this.newSlot('appointments', idx, rng, { initial, attr: chance(rng, 0.6) ? resident : randomState() }), 1);
    const addresses = intBetween(rng, 1, 3);
    for (let i = 0; i < addresses; i++) created += (this.newSlot('addresses', idx, rng, { initial, attr: resident }), 1);
    const contacts = intBetween(rng, 1, 3);
    for (let i = 0; i < contacts; i++) created += (this.newSlot('contactInfos', idx, rng, { initial, attr: resident }), 1);
    if (chance(rng, 0.3)) created += (this.newSlot('otherNames', idx, rng, { initial, attr: resident }), 1);
    if (chance(rng, 0.06)) created += (this.newSlot('regulatoryActions', idx, rng, { initial, attr: randomState() }), 1);
    return created;
  }

  // ---- NPNs and subscriptions ----

  npnIdx(npn: string): number | undefined {
    return this.npnIndex.get(npn);
  }

  subscribedNpns(): string[] {
    return this.npns.filter((_, idx) => this.subscribed[idx]);
  }

  /** Up to `limit` subscribed NPNs after position `afterPosition` (list order), and the position of the last one. */
  subscribedNpnsAfter(afterPosition: number, limit: number): { npns: string[]; last: number } {
    const npns: string[] = [];
    let last = afterPosition;
    for (let idx = Math.max(0, afterPosition); idx < this.npns.length && npns.length < limit; idx++) {
      if (!this.subscribed[idx]) continue;
      npns.push(this.npns[idx]!);
      last = idx + 1;
    }
    return { npns, last };
  }

  isSubscribed(npn: string): boolean {
    const idx = this.npnIndex.get(npn);
    return idx !== undefined && this.subscribed[idx] === true;
  }

  /**
   * Adds the NPN to the subscription list; returns true if it was not on it. Its data appears on
   * the next advanceDay, stamped with that day (also for an NPN subscribed before: AgentSync
   * fetches it again), so an incremental run with that runDate sees all of it.
   */
  subscribe(npn: string): boolean {
    const idx = this.addNpn(npn);
    if (this.subscribed[idx]) return false;
    this.subscribed[idx] = true;
    this.awaitingData[idx] = true;
    return true;
  }

  /** Takes the NPN off the list; its records leave the "for subscribed NPNs" endpoints at once. */
  unsubscribe(npn: string): boolean {
    const idx = this.npnIndex.get(npn);
    if (idx === undefined || !this.subscribed[idx]) return false;
    this.subscribed[idx] = false;
    this.awaitingData[idx] = false;
    return true;
  }

  // ---- reads ----

  record(type: EndpointName, slot: Slot): SimRecord {
    return buildRecord(type, this.context, slot);
  }

  findSlot(type: EndpointName, id: number): Slot | undefined {
    const list = this.slots[type];
    const at = lowerBound(list, id);
    const slot = list[at];
    return slot?.id === id ? slot : undefined;
  }

  npnOfSlot(slot: Slot): string {
    return this.context.npnOf(slot.npnIdx);
  }

  /** Subscribed and its data fetched: its records show on the "for subscribed NPNs" endpoints and by id. */
  isVisibleIdx(idx: number): boolean {
    return this.subscribed[idx] === true && !this.awaitingData[idx];
  }

  loasOf(licenseId: number): readonly Slot[] {
    return this.context.loasOf(licenseId);
  }

  /**
   * Records of `type` with id > afterId that pass the filter, in id order, at most `limit`
   * (Infinity for all). Returns the built records.
   */
  query(type: EndpointName, filter: SlotFilter, afterId: number, limit: number): SimRecord[] {
    const out: SimRecord[] = [];
    if (limit <= 0) return out;
    for (const slot of this.candidates(type, filter, afterId)) {
      if (filter.subscribedOnly && !this.isVisibleIdx(slot.npnIdx)) continue;
      if (filter.updatedSinceDay !== undefined && slot.updatedDay < filter.updatedSinceDay) continue;
      if (!filter.includeDeleted && slot.deleted) continue;
      const record = this.record(type, slot);
      if (filter.recordFilter && !filter.recordFilter(record)) continue;
      out.push(record);
      if (out.length >= limit) break;
    }
    return out;
  }

  private *candidates(type: EndpointName, filter: SlotFilter, afterId: number): Generator<Slot> {
    if (filter.npnIdxs) {
      const merged = filter.npnIdxs.flatMap((idx) => this.byNpn[idx]?.[type] ?? []).filter((s) => s.id > afterId);
      merged.sort((a, b) => a.id - b.id);
      yield* merged;
      return;
    }
    const list = this.slots[type];
    for (let i = lowerBound(list, afterId + 1); i < list.length; i++) yield list[i]!;
  }

  // ---- the daily update ----

  /**
   * One NIPR day: today += 1; the data of NPNs subscribed since the last day arrives; then edits,
   * soft deletes and additions on `changeFraction` of the records, and content changes without
   * an updatedAt bump on `noBumpFraction` of them.
   */
  advanceDay(changeFraction: number, noBumpFraction = 0): DayChanges {
    this.today += 1;
    const rng = rngFrom(hashInts(this.seed, 0xd4, this.today));
    const changes: DayChanges = { changed: 0, added: 0, deleted: 0, npnsLoaded: 0, changedWithoutBump: 0, withoutBump: [] };
    for (let idx = 0; idx < this.npns.length; idx++) {
      if (!this.subscribed[idx] || !this.awaitingData[idx]) continue;
      this.awaitingData[idx] = false;
      changes.npnsLoaded++;
      changes.added += this.loaded[idx] ? this.restamp(idx) : this.loadNpn(idx, false, this.options.newNpnData);
    }
    const total = ENDPOINT_NAMES.reduce((sum, type) => sum + this.slots[type].length, 0);
    const target = changeFraction > 0 ? Math.max(1, Math.round(total * changeFraction)) : 0;
    let attempts = 0;
    let done = 0;
    while (done < target && attempts < target * 20) {
      attempts++;
      const roll = rng();
      if (roll < 0.15) {
        const added = this.addRandomRecord(rng);
        if (added.added > 0) (changes.added += added.added, changes.changed += added.changed, done++);
        continue;
      }
      const picked = this.randomSlot(rng, total);
      if (!picked || picked.slot.deleted || picked.slot.updatedDay === this.today || !this.subscribed[picked.slot.npnIdx]) continue;
      const { type, slot } = picked;
      if (roll < 0.25 && type !== 'entities') {
        slot.deleted = true;
        changes.deleted++;
      } else {
        slot.version++;
        changes.changed++;
      }
      slot.updatedDay = this.today;
      changes.changed += this.touchParent(type, slot);
      done++;
    }
    if (noBumpFraction > 0) this.changeRandomWithoutBump(Math.max(1, Math.round(total * noBumpFraction)), changes.withoutBump);
    changes.changedWithoutBump = changes.withoutBump.length;
    return changes;
  }

  /** Every record of a re-subscribed NPN gets today's updatedAt (AgentSync fetched it again). */
  private restamp(idx: number): number {
    let count = 0;
    for (const list of Object.values(this.byNpn[idx] ?? {})) {
      for (const slot of list) (slot.updatedDay = this.today), count++;
    }
    return count;
  }

  /** Content changes on `count` random visible records, updatedAt untouched (its own rng stream, so other draws stay as they were). */
  private changeRandomWithoutBump(count: number, out: RecordRef[]): void {
    const rng = rngFrom(hashInts(this.seed, 0xb0b, this.today));
    const total = ENDPOINT_NAMES.reduce((sum, type) => sum + this.slots[type].length, 0);
    const picked = new Set<Slot>();
    for (let attempts = 0; picked.size < count && attempts < count * 20; attempts++) {
      const candidate = this.randomSlot(rng, total);
      if (!candidate || picked.has(candidate.slot) || candidate.slot.deleted || candidate.slot.updatedDay === this.today || !this.isVisibleIdx(candidate.slot.npnIdx)) continue;
      picked.add(candidate.slot);
      out.push(...this.editWithoutBump(candidate.type, candidate.slot, true));
    }
  }

  /**
   * A new version of the record's fields with updatedAt kept; returns the records whose content
   * changed (an LOA's license too, which embeds it). Within advanceDay, a license already stamped
   * today is left out: the day's incremental run reads it after the change anyway.
   */
  private editWithoutBump(type: EndpointName, slot: Slot, withinDay: boolean): RecordRef[] {
    slot.version++;
    const changed: RecordRef[] = [{ endpoint: type, id: slot.id }];
    if (type === 'licenseLoas') {
      const license = this.findSlot('licenses', slot.parentId);
      if (license && !(withinDay && license.updatedDay === this.today)) changed.push({ endpoint: 'licenses', id: license.id });
    }
    return changed;
  }

  /** Explicit no-bump changes (see advanceDay): the records' content changes, their updatedAt does not. */
  changeWithoutBump(type: EndpointName, ids: readonly number[]): RecordRef[] {
    return ids.flatMap((id) => {
      const slot = this.findSlot(type, id);
      if (!slot) throw new Error(`changeWithoutBump: no ${type} record ${id}`);
      return this.editWithoutBump(type, slot, false);
    });
  }

  /** A license embeds its LOAs, so an LOA change is a change of the license too (or an incremental sync would miss it). */
  private touchParent(type: EndpointName, slot: Slot): number {
    if (type !== 'licenseLoas') return 0;
    const license = this.findSlot('licenses', slot.parentId);
    if (!license || license.updatedDay === this.today) return 0;
    license.updatedDay = this.today;
    return 1;
  }

  private randomSlot(rng: Rng, total: number): { type: EndpointName; slot: Slot } | undefined {
    let n = Math.floor(rng() * total);
    for (const type of ENDPOINT_NAMES) {
      const list = this.slots[type];
      if (n < list.length) {
        const slot = list[n];
        return slot ? { type, slot } : undefined;
      }
      n -= list.length;
    }
    return undefined;
  }

  private addRandomRecord(rng: Rng): { added: number; changed: number } {
    const none = { added: 0, changed: 0 };
    const subscribed = this.subscribedLoadedIdx(rng);
    if (subscribed === undefined) return none;
    const type = ADDABLE[Math.floor(rng() * ADDABLE.length)] ?? 'appointments';
    const state = intBetween(rng, 0, STATES.length - 1);
    if (type === 'licenses') return { added: this.addLicense(subscribed, state, rng, false), changed: 0 };
    if (type === 'licenseLoas') {
      const licenses = this.byNpn[subscribed]?.licenses ?? [];
      const license = licenses[Math.floor(rng() * licenses.length)];
      if (!license) return none;
      const loa = this.newSlot('licenseLoas', subscribed, rng, { initial: false, parentId: license.id, attr: intBetween(rng, 0, LOA_KINDS.length - 1) });
      return { added: 1, changed: this.touchParent('licenseLoas', loa) };
    }
    this.newSlot(type, subscribed, rng, { initial: false, attr: type === 'regulatoryActions' || type === 'appointments' ? state : (this.residentState[subscribed] ?? 0) });
    return { added: 1, changed: 0 };
  }

  private subscribedLoadedIdx(rng: Rng): number | undefined {
    for (let tries = 0; tries < 50; tries++) {
      const idx = Math.floor(rng() * this.npns.length);
      // An NPN loaded without records (newNpnData 'none') gets none later either.
      if (this.subscribed[idx] && this.loaded[idx] && this.byNpn[idx]?.entities) return idx;
    }
    return undefined;
  }

  /** Record counts per type (all NPNs, deleted included). */
  counts(): Record<EndpointName, number> {
    return Object.fromEntries(ENDPOINT_NAMES.map((type) => [type, this.slots[type].length])) as Record<EndpointName, number>;
  }
}

/** First index whose id is >= id. */
function lowerBound(list: readonly Slot[], id: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
