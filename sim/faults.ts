import type { EndpointName } from '#producersync/endpoints';

export type RequestKind = 'token' | 'api';

/** Where a fault applies: API requests unless `on: 'token'`. */
interface Counted {
  count: number;
  /** Skip this many requests of the kind (counted from setFaults) before injecting. */
  afterRequests?: number;
  on?: RequestKind;
}

export interface FaultPlan {
  burst429?: Counted & { retryAfterSeconds?: number | null };
  status5xx?: Counted & { status?: 500 | 502 | 503 };
  slowMs?: Counted & { delayMs: number };
  dropConnection?: Counted;
  /** Invalidate every token issued so far, once, after N API requests: the next calls get 401. */
  expireTokensAfterRequests?: number;
  /** 200 with a truncated JSON body. */
  malformedBody?: Counted;
  /** One invalid record (missing id/npn, wrong types) appended to each of the next `count` pages of the endpoint. Not in groundTruth. */
  badRecord?: { endpoint: EndpointName; count: number };
  /**
   * A cursor cycle (issue 12.8): in one pass over the endpoint (one query, its filters without the
   * token), the first data page that has `length` token-carrying pages behind it (the first page
   * has none) links `next.href` back to the token of the page `length − 1` before it:
   * A→B→A for length 2 (default), A→A for 1, A→B→C→A for 3. The loop then holds every time that
   * page is served while the plan lasts, so a client without cycle detection pages forever.
   * `afterPages` (default 0) skips that many data pages of the pass first.
   */
  cursorCycle?: { endpoint: EndpointName; length?: number; afterPages?: number };
}

/** What to do to one request, decided before it is handled. */
export interface FaultDecision {
  drop: boolean;
  status429?: { retryAfterSeconds: number | null };
  status5xx?: number;
  delayMs: number;
  /** Ask `consumeMalformed` after the handler, so only a real 200 counts as one malformed response. */
  malformedEligible: boolean;
  expireTokensNow: boolean;
}

/** A few shapes of broken record a real feed could carry. */
const BAD_RECORDS: ReadonlyArray<(n: number) => unknown> = [
  (n) => ({ npn: '15645555', transactionId: `bad-${n}`, updatedAt: '2025-07-24', niprDeleted: false }),
  (n) => ({ id: `not-a-number-${n}`, npn: '15645555', updatedAt: '2025-07-24', niprDeleted: false }),
  (n) => ({ id: 900_000_000 + n, updatedAt: '2025-07-24', niprDeleted: false }),
  (n) => ({ id: 900_000_000 + n, npn: 'ABC', updatedAt: 20250724, niprDeleted: 'no' }),
  () => 'not an object',
];

/**
 * Deterministic fault injection: every fault counts requests of its kind since the plan was set,
 * so a test can say "the 3rd API call gets a 503" without timing.
 */
export class FaultInjector {
  private plan: FaultPlan = {};
  private seen: Record<RequestKind, number> = { token: 0, api: 0 };
  private injected = new Map<keyof FaultPlan, number>();
  private tokensExpired = false;
  /** Per pass key: data pages served, recent request tokens, and the loop once placed. */
  private passes = new Map<string, { pages: number; recent: number[] }>();
  private loop: { pass: string; from: number; to: number } | undefined;

  set(plan: FaultPlan): void {
    const length = plan.cursorCycle?.length ?? 2;
    if (plan.cursorCycle && !(Number.isInteger(length) && length >= 1)) throw new Error(`cursorCycle.length must be an integer >= 1, got ${length}`);
    this.plan = plan;
    this.seen = { token: 0, api: 0 };
    this.injected = new Map();
    this.tokensExpired = false;
    this.passes = new Map();
    this.loop = undefined;
  }

  private fires(name: 'burst429' | 'status5xx' | 'slowMs' | 'dropConnection' | 'malformedBody', kind: RequestKind, consume: boolean): boolean {
    const spec = this.plan[name];
    if (!spec || (spec.on ?? 'api') !== kind) return false;
    const used = this.injected.get(name) ?? 0;
    if (used >= spec.count || this.seen[kind] <= (spec.afterRequests ?? 0)) return false;
    if (consume) this.injected.set(name, used + 1);
    return true;
  }

  /** Counts the request and decides its faults. Terminal faults (drop, 429, 5xx) are exclusive, in that order. */
  decide(kind: RequestKind): FaultDecision {
    const expireAfter = this.plan.expireTokensAfterRequests;
    const expireTokensNow = kind === 'api' && expireAfter !== undefined && !this.tokensExpired && this.seen.api >= expireAfter;
    if (expireTokensNow) this.tokensExpired = true;
    this.seen[kind]++;
    const decision: FaultDecision = { drop: false, delayMs: 0, malformedEligible: false, expireTokensNow };
    if (this.fires('slowMs', kind, true)) decision.delayMs = this.plan.slowMs?.delayMs ?? 0;
    if (this.fires('dropConnection', kind, true)) decision.drop = true;
    else if (this.fires('burst429', kind, true)) {
      const retry = this.plan.burst429?.retryAfterSeconds;
      decision.status429 = { retryAfterSeconds: retry === undefined ? 1 : retry };
    } else if (this.fires('status5xx', kind, true)) decision.status5xx = this.plan.status5xx?.status ?? 503;
    else decision.malformedEligible = this.fires('malformedBody', kind, false);
    return decision;
  }

  consumeMalformed(kind: RequestKind): boolean {
    return this.fires('malformedBody', kind, true);
  }

  /**
   * The token `next.href` of a data page carries: `naturalNext` (the last id served) unless the
   * cursorCycle fault bends it back. `pass` identifies the query (path and filters, no token).
   */
  nextToken(endpoint: EndpointName, pass: string, requestToken: number, naturalNext: number): number {
    const spec = this.plan.cursorCycle;
    if (!spec || spec.endpoint !== endpoint) return naturalNext;
    if (this.loop) return this.loop.pass === pass && this.loop.from === requestToken ? this.loop.to : naturalNext;
    const length = spec.length ?? 2;
    let state = this.passes.get(pass);
    if (!state) this.passes.set(pass, (state = { pages: 0, recent: [] }));
    state.pages++;
    if (requestToken === 0) return naturalNext;
    state.recent.push(requestToken);
    if (state.recent.length > length) state.recent.shift();
    if (state.pages <= (spec.afterPages ?? 0) || state.recent.length < length) return naturalNext;
    this.loop = { pass, from: requestToken, to: state.recent[0]! };
    return this.loop.to;
  }

  /** Bad records to append to a page of `endpoint` (one per page while the plan's count lasts). */
  takeBadRecords(endpoint: EndpointName): unknown[] {
    const spec = this.plan.badRecord;
    if (!spec || spec.endpoint !== endpoint) return [];
    const used = this.injected.get('badRecord') ?? 0;
    if (used >= spec.count) return [];
    this.injected.set('badRecord', used + 1);
    return [BAD_RECORDS[used % BAD_RECORDS.length]!(used)];
  }
}
