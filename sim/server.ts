import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_LIMITS, type EndpointName } from '#producersync/endpoints';
import { handleApi, type ApiContext } from './api.ts';
import { SimDataset, type DayChanges, type NewNpnData, type RecordRef } from './data.ts';
import { formatDay, requireDay } from './dates.ts';
import {
  activationData, EXAMPLE_UPDATES_AVAILABLE, NPN_ACTIVATED, NPN_DEACTIVATED, UPDATES_AVAILABLE, WebhookLoss,
  type ActivationPayloadShape, type WebhookLossOptions,
} from './events.ts';
import { FaultInjector, type FaultPlan, type RequestKind } from './faults.ts';
import { gzipAsync, JSON_TYPE, readBody, sleep, springError, type Reply } from './http.ts';
import { LatencyModel, type LatencyOptions } from './latency.ts';
import { PageSizer } from './page-size.ts';
import { rateLimitHeaders, retryAfterSeconds, SlidingWindowLimiter, type RateLimitHeaderStyle } from './rate-limit.ts';
import type { AppointmentStatusStyle } from './records.ts';
import type { SubscriptionListShape } from './subscription-list.ts';
import { SubscriptionJobs } from './subscriptions.ts';
import { TokenService } from './tokens.ts';
import {
  deliverWebhook, newEventId, newMessageId, sendSignedWebhook, signWebhook,
  type SignedWebhook, type WebhookDelivery, type WebhookTarget,
} from './webhook-sender.ts';

export type { FaultPlan } from './faults.ts';
export type { LatencyOptions } from './latency.ts';
export type { ActivationPayloadShape, WebhookLossOptions } from './events.ts';
export type { NewNpnData, RecordRef } from './data.ts';
export type { SubscriptionListShape } from './subscription-list.ts';
export type { SignedWebhook, WebhookDelivery } from './webhook-sender.ts';

export interface SimulatorOptions {
  /** 0 = random. */
  port?: number;
  /** Population size, default 200; always includes the sandbox NPNs 15645555 and 19855109. */
  npns?: number;
  /** Deterministic data, default 1. */
  seed?: number;
  clientId?: string;
  clientSecret?: string;
  tokenLifetimeSeconds?: number;
  /** The simulator's "today", yyyy-MM-dd, default '2025-07-24'. */
  startDate?: string;
  /** Fraction of records changed per advanceDay, default 0.02. */
  changeFraction?: number;
  rateLimit?: { apiPerMinute?: number; tokenPerMinute?: number; headers?: RateLimitHeaderStyle };
  /** Envelope spelling: `embedded`/`links` (default) or `_embedded`/`_links` (the documented variants). */
  envelope?: 'embedded' | '_embedded';
  /** Svix signing secret 'whsec_...'. */
  webhook?: WebhookTarget;
  /** Constant extra latency on every API response, default 0 (added to the latency model's). */
  latencyMs?: number;
  /** The latency model (sim/latency.ts): size-dependent, seeded, with a tail. Off by default. */
  latency?: LatencyOptions;
  /** Never more than this many records a page, whatever `size` asked. Default: as asked. */
  pageSizeCap?: number;
  /** Share of pages served short (a seeded 1..size−1 records, fixed per request URL), default 0. */
  shortPageFraction?: number;
  /** Days whose updates_available is never delivered (seeded share and/or listed run dates). Default none. */
  webhookLoss?: WebhookLossOptions;
  /** Share of records whose content changes per advanceDay without an updatedAt bump, default 0. */
  noBumpFraction?: number;
  /** Records of NPNs subscribed after start once their data arrives: 'full' (default), 'minimal' (4 records) or 'none'. */
  newNpnData?: NewNpnData;
  /** `data` shape of npn.activated / npn.deactivated, default 'npn-or-npns' (`{npn}` for one, `{npns}` for several). */
  activationPayload?: ActivationPayloadShape;
  /** At most this many NPNs per activation event (more are sent as several events), default unlimited. */
  maxNpnsPerEvent?: number;
  /** Response shape of GET /v1/accounts/subscriptions, default 'embedded' (sim/subscription-list.ts). */
  subscriptionList?: SubscriptionListShape;
  /** Appointment status spelling in records: 'title' ("Terminated", the record example, default) or 'upper' ("TERMINATED", the filter values). */
  appointmentStatus?: AppointmentStatusStyle;
  /** How long an NPN management job stays IN_PROGRESS, default 50 ms. */
  subscriptionJobDelayMs?: number;
  /** Clock (epoch ms) for token expiry and the rate-limit window; tests inject one to move time without waiting. */
  clock?: () => number;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** 0 when the connection was dropped without a response. */
  status: number;
  authorized: boolean;
  kind: RequestKind;
  /** Records on a list page (bad records included), absent for other responses. */
  records?: number;
  /** With the latency model on: the latency it chose (ms, scale applied) and the quantile drawn. */
  latencyMs?: number;
  latencyQuantile?: number;
}

export interface AdvanceDayResult extends DayChanges {
  runDate: string;
  /** The webhookLoss option dropped the day's updates_available (eventId names the event that was never delivered). */
  webhookLost: boolean;
  webhookStatus?: number;
  eventId?: string;
}

export interface AdvanceDayOptions {
  /** Default: SimulatorOptions.changeFraction, else 0.02. */
  changeFraction?: number;
  /** Default: SimulatorOptions.noBumpFraction, else 0. */
  noBumpFraction?: number;
  /** false: send no updates_available at all (not reported as lost). */
  deliverWebhook?: boolean;
}

export type NpnChange = 'activated' | 'deactivated';

export interface Simulator {
  readonly url: string;
  readonly apiBaseUrl: string;
  readonly tokenUrl: string;
  readonly today: string;
  /** The exact records the API returns for subscribed NPNs (includeDeleted=true), in id order, as fresh copies. */
  groundTruth(endpoint: EndpointName, opts?: { updatedSince?: string; npns?: string[] }): Record<string, unknown>[];
  /** The subscription list, including NPNs whose data arrives with the next advanceDay. */
  subscribedNpns(): string[];
  advanceDay(opts?: AdvanceDayOptions): Promise<AdvanceDayResult>;
  /** Content changes to these records without an updatedAt bump; returns every record that changed (an LOA's license too). */
  changeWithoutBump(endpoint: EndpointName, ids: readonly number[]): RecordRef[];
  sendWebhook(type: string, data: unknown, opts?: { eventId?: string; timestamp?: Date }): Promise<WebhookDelivery>;
  /** The portal's "Send Example": the documented updates_available example verbatim (old runDate, body id whe_000012345), a new svix-id each call. */
  sendTestEvent(): Promise<WebhookDelivery>;
  /** The signed npn.activated / npn.deactivated events for these NPNs (activationPayload, maxNpnsPerEvent), without sending them or touching the list. */
  npnEvents(change: NpnChange, npns: readonly string[]): SignedWebhook[];
  /** Delivers npnEvents(change, npns) one after the other. */
  notifyNpns(change: NpnChange, npns: readonly string[]): Promise<WebhookDelivery[]>;
  /** Replaces the fault plan; setFaults({}) clears it. */
  setFaults(faults: FaultPlan): void;
  readonly requests: RequestLogEntry[];
  clearRequests(): void;
  tokensIssued(): number;
  /** The access tokens issued so far (secrets: tests check that none reaches a log). */
  issuedTokens(): string[];
  close(): Promise<void>;
}

const TOKEN_PATHS = new Set(['/oauth2/token', '/oauth/token']);

class SimulatorServer implements Simulator {
  readonly requests: RequestLogEntry[] = [];
  private readonly server: Server;
  private readonly dataset: SimDataset;
  private readonly faults = new FaultInjector();
  private readonly tokens: TokenService;
  private readonly jobs: SubscriptionJobs;
  private readonly apiLimiter: SlidingWindowLimiter;
  private readonly tokenLimiter: SlidingWindowLimiter;
  private readonly pendingWebhooks = new Set<Promise<unknown>>();
  private readonly now: () => number;
  private readonly api: ApiContext;
  private readonly latency: LatencyModel | undefined;
  private readonly webhookLoss: WebhookLoss;
  private apiInFlight = 0;
  private baseUrl = '';

  constructor(private readonly options: SimulatorOptions) {
    this.now = options.clock ?? Date.now;
    const seed = options.seed ?? 1;
    this.latency = options.latency ? new LatencyModel(options.latency, seed) : undefined;
    this.webhookLoss = new WebhookLoss(options.webhookLoss ?? {}, seed);
    const envelope = options.envelope ?? 'embedded';
    const linksKey = envelope === '_embedded' ? '_links' : 'links';
    this.dataset = new SimDataset(
      {
        seed,
        npns: options.npns ?? 200,
        today: requireDay(options.startDate ?? '2025-07-24'),
        linksKey,
        appointmentStatus: options.appointmentStatus ?? 'title',
        newNpnData: options.newNpnData ?? 'full',
      },
      () => this.baseUrl,
    );
    this.tokens = new TokenService(
      options.clientId ?? 'local',
      options.clientSecret ?? 'local',
      options.tokenLifetimeSeconds ?? API_LIMITS.tokenLifetimeSeconds,
      this.now,
    );
    this.apiLimiter = new SlidingWindowLimiter(options.rateLimit?.apiPerMinute ?? API_LIMITS.apiRequestsPerMinute, this.now);
    this.tokenLimiter = new SlidingWindowLimiter(options.rateLimit?.tokenPerMinute ?? API_LIMITS.tokenRequestsPerMinute, this.now);
    this.jobs = new SubscriptionJobs(
      {
        today: () => this.today,
        subscribedNpns: () => this.dataset.subscribedNpns(),
        subscribe: (npn) => this.dataset.subscribe(npn),
        unsubscribe: (npn) => this.dataset.unsubscribe(npn),
        listChanged: (activated, deactivated) => {
          this.announce('activated', activated);
          this.announce('deactivated', deactivated);
        },
      },
      options.subscriptionJobDelayMs ?? 50,
    );
    const sim = this;
    this.api = {
      get url() {
        return sim.baseUrl;
      },
      dataset: this.dataset,
      jobs: this.jobs,
      faults: this.faults,
      embeddedKey: envelope,
      linksKey,
      subscriptionList: options.subscriptionList ?? 'embedded',
      pageSizer: new PageSizer({
        seed,
        ...(options.pageSizeCap !== undefined ? { cap: options.pageSizeCap } : {}),
        ...(options.shortPageFraction !== undefined ? { shortFraction: options.shortPageFraction } : {}),
      }),
      autoSubscribed: (npn) => this.announce('activated', [npn]),
    };
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': JSON_TYPE });
          res.end(JSON.stringify(springError(500, String(error), req.url ?? '/').body));
        } else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get url(): string {
    return this.baseUrl;
  }
  get apiBaseUrl(): string {
    return this.baseUrl;
  }
  get tokenUrl(): string {
    return `${this.baseUrl}/oauth2/token`;
  }
  get today(): string {
    return formatDay(this.dataset.today);
  }

  groundTruth(endpoint: EndpointName, opts: { updatedSince?: string; npns?: string[] } = {}): Record<string, unknown>[] {
    const npnIdxs = opts.npns?.map((npn) => this.dataset.npnIdx(npn)).filter((idx): idx is number => idx !== undefined);
    return this.dataset.query(
      endpoint,
      {
        ...(npnIdxs ? { npnIdxs } : {}),
        ...(opts.updatedSince !== undefined ? { updatedSinceDay: requireDay(opts.updatedSince) } : {}),
        includeDeleted: true,
        subscribedOnly: true,
      },
      0,
      Infinity,
    );
  }

  subscribedNpns(): string[] {
    return this.dataset.subscribedNpns();
  }

  async advanceDay(opts: AdvanceDayOptions = {}): Promise<AdvanceDayResult> {
    const changes = this.dataset.advanceDay(
      opts.changeFraction ?? this.options.changeFraction ?? 0.02,
      opts.noBumpFraction ?? this.options.noBumpFraction ?? 0,
    );
    const result: AdvanceDayResult = { runDate: this.today, ...changes, webhookLost: false };
    if (opts.deliverWebhook === false) return result;
    if (this.webhookLoss.lost(this.dataset.today)) {
      result.webhookLost = true;
      // AgentSync created the event; nobody received it. A test may replay it with this id.
      result.eventId = newEventId();
    } else if (this.options.webhook) {
      const delivery = await this.sendWebhook(UPDATES_AVAILABLE, { runDate: this.today });
      result.webhookStatus = delivery.status;
      result.eventId = delivery.eventId;
    }
    return result;
  }

  changeWithoutBump(endpoint: EndpointName, ids: readonly number[]): RecordRef[] {
    return this.dataset.changeWithoutBump(endpoint, ids);
  }

  sendWebhook(type: string, data: unknown, opts: { eventId?: string; timestamp?: Date } = {}): Promise<WebhookDelivery> {
    return this.track(sendSignedWebhook(this.webhookTarget(), type, data, opts));
  }

  sendTestEvent(): Promise<WebhookDelivery> {
    return this.track(deliverWebhook(signWebhook(this.webhookTarget(), EXAMPLE_UPDATES_AVAILABLE, { messageId: newMessageId() })));
  }

  npnEvents(change: NpnChange, npns: readonly string[]): SignedWebhook[] {
    const target = this.webhookTarget();
    const type = change === 'activated' ? NPN_ACTIVATED : NPN_DEACTIVATED;
    const timestamp = new Date();
    return activationData(this.options.activationPayload ?? 'npn-or-npns', npns, this.options.maxNpnsPerEvent).map((data) =>
      signWebhook(target, { id: newEventId(), type, timestamp: timestamp.toISOString(), data }, { signedAt: timestamp }),
    );
  }

  notifyNpns(change: NpnChange, npns: readonly string[]): Promise<WebhookDelivery[]> {
    const events = this.npnEvents(change, npns);
    return this.track(
      (async () => {
        const deliveries: WebhookDelivery[] = [];
        for (const event of events) deliveries.push(await deliverWebhook(event));
        return deliveries;
      })(),
    );
  }

  /** A subscription change fires its events in the background (when a webhook is configured); close() waits for them. */
  private announce(change: NpnChange, npns: string[]): void {
    if (this.options.webhook && npns.length > 0) void this.notifyNpns(change, npns);
  }

  private webhookTarget(): WebhookTarget {
    if (!this.options.webhook) throw new Error('The simulator has no webhook configured (SimulatorOptions.webhook)');
    return this.options.webhook;
  }

  private async track<T>(delivery: Promise<T>): Promise<T> {
    this.pendingWebhooks.add(delivery);
    try {
      return await delivery;
    } finally {
      this.pendingWebhooks.delete(delivery);
    }
  }

  setFaults(faults: FaultPlan): void {
    this.faults.set(faults);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  tokensIssued(): number {
    return this.tokens.issuedCount();
  }

  issuedTokens(): string[] {
    return this.tokens.issued();
  }

  async close(): Promise<void> {
    this.jobs.close();
    await Promise.allSettled([...this.pendingWebhooks]);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- request pipeline ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = this.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const kind: RequestKind = TOKEN_PATHS.has(path) ? 'token' : 'api';
    // Other API requests still open when this one arrived (the latency model may use it).
    const inFlight = kind === 'api' ? this.apiInFlight++ : 0;
    if (kind === 'api') res.once('close', () => this.apiInFlight--);
    const body = await readBody(req);
    const entry: RequestLogEntry = { at, method, path, query: Object.fromEntries(url.searchParams), status: 0, authorized: false, kind };
    this.requests.push(entry);

    const fault = this.faults.decide(kind);
    if (fault.expireTokensNow) this.tokens.invalidateAll();
    const delay = fault.delayMs + (kind === 'api' ? (this.options.latencyMs ?? 0) : 0);
    if (delay > 0) await sleep(delay);
    if (fault.drop) {
      req.socket.destroy();
      return;
    }

    const tokenRequest = kind === 'token' ? TokenService.parseRequest(req.headers, url.searchParams, body) : undefined;
    const check = kind === 'api' ? this.tokens.check(req.headers.authorization) : undefined;
    entry.authorized = tokenRequest ? this.tokens.credentialsValid(tokenRequest) : check?.valid === true;
    const clientKey = tokenRequest?.clientId ?? check?.clientId ?? `anonymous:${req.socket.remoteAddress}`;

    // The limiter sees every request that reaches the server, before any work; injected faults stand in for upstream failures after it.
    const decision = (kind === 'token' ? this.tokenLimiter : this.apiLimiter).take(clientKey);
    const now = this.now();
    const headerStyle = this.options.rateLimit?.headers ?? 'ratelimit';
    let reply: Reply;
    if (!decision.allowed) {
      const retry = retryAfterSeconds(decision, now);
      reply = this.tooManyRequests(kind, path, retry, { 'retry-after': String(retry) });
    } else if (fault.status429) {
      const retry = fault.status429.retryAfterSeconds;
      reply = this.tooManyRequests(kind, path, retry ?? 1, retry === null ? {} : { 'retry-after': String(retry) });
      decision.remaining = 0;
    } else if (fault.status5xx) {
      reply = springError(fault.status5xx, 'Injected upstream failure', path);
    } else if (tokenRequest) {
      reply = method === 'POST' ? this.tokens.handle(tokenRequest) : springError(405, `Request method '${method}' is not supported`, path);
    } else if (check?.valid) {
      reply = handleApi(this.api, { method, path, params: url.searchParams, body });
    } else {
      reply = springError(401, check?.reason === 'expired' ? 'Access token expired' : 'Full authentication is required to access this resource', path, {
        'www-authenticate': 'Bearer error="invalid_token"',
      });
    }
    const headers = { ...rateLimitHeaders(decision, headerStyle, now), ...reply.headers };

    let text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    if (fault.malformedEligible && reply.status === 200 && this.faults.consumeMalformed(kind)) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    entry.status = reply.status;
    if (reply.records !== undefined) entry.records = reply.records;
    if (this.latency) {
      // After the work, before the answer: the client waits for the whole response, as it would upstream.
      const key = `${method} ${req.url ?? '/'}`;
      const choice = kind === 'api' ? this.latency.api(key, reply.records ?? 0, inFlight) : this.latency.token(key);
      entry.latencyMs = choice.ms;
      entry.latencyQuantile = choice.quantile;
      await sleep(choice.ms);
    }
    await this.send(req, res, reply.status, reply.contentType ?? JSON_TYPE, headers, text);
  }

  private tooManyRequests(kind: RequestKind, path: string, retryAfter: number, headers: Record<string, string>): Reply {
    const message = `You have exceeded the rate limit. Please retry after ${retryAfter} seconds.`;
    if (kind === 'token') return { status: 429, contentType: JSON_TYPE, headers, body: { error: 'rate_limit_exceeded', error_description: message, retry_after: retryAfter } };
    return springError(429, message, path, headers);
  }

  private async send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, headers: Record<string, string>, text: string): Promise<void> {
    let payload: Buffer = Buffer.from(text);
    const out: Record<string, string> = { ...headers };
    if (text !== '') out['content-type'] = contentType;
    if (text.length > 0 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      payload = await gzipAsync(payload);
      out['content-encoding'] = 'gzip';
      out.vary = 'Accept-Encoding';
    }
    out['content-length'] = String(payload.length);
    res.writeHead(status, out);
    res.end(payload);
  }
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = new SimulatorServer(opts);
  await simulator.listen(opts.port ?? 0);
  return simulator;
}
