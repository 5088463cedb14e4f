import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_LIMITS, type EndpointName } from '#producersync/endpoints';
import { handleApi, type ApiContext } from './api.ts';
import { SimDataset } from './data.ts';
import { formatDay, requireDay } from './dates.ts';
import { FaultInjector, type FaultPlan, type RequestKind } from './faults.ts';
import { gzipAsync, JSON_TYPE, readBody, sleep, springError, type Reply } from './http.ts';
import { rateLimitHeaders, retryAfterSeconds, SlidingWindowLimiter, type RateLimitHeaderStyle } from './rate-limit.ts';
import type { AppointmentStatusStyle } from './records.ts';
import { SubscriptionJobs } from './subscriptions.ts';
import { TokenService } from './tokens.ts';
import { sendSignedWebhook, type WebhookTarget } from './webhook-sender.ts';

export type { FaultPlan } from './faults.ts';

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
  /** Base latency per API response, default 0. */
  latencyMs?: number;
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
}

export interface AdvanceDayResult {
  runDate: string;
  changed: number;
  added: number;
  deleted: number;
  webhookStatus?: number;
  eventId?: string;
}

export interface Simulator {
  readonly url: string;
  readonly apiBaseUrl: string;
  readonly tokenUrl: string;
  readonly today: string;
  /** The exact records the API returns for subscribed NPNs (includeDeleted=true), in id order, as fresh copies. */
  groundTruth(endpoint: EndpointName, opts?: { updatedSince?: string; npns?: string[] }): Record<string, unknown>[];
  subscribedNpns(): string[];
  advanceDay(opts?: { changeFraction?: number; deliverWebhook?: boolean }): Promise<AdvanceDayResult>;
  sendWebhook(type: string, data: unknown, opts?: { eventId?: string; timestamp?: Date }): Promise<{ status: number; eventId: string }>;
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
  private baseUrl = '';

  constructor(private readonly options: SimulatorOptions) {
    this.now = options.clock ?? Date.now;
    const envelope = options.envelope ?? 'embedded';
    const linksKey = envelope === '_embedded' ? '_links' : 'links';
    this.dataset = new SimDataset(
      {
        seed: options.seed ?? 1,
        npns: options.npns ?? 200,
        today: requireDay(options.startDate ?? '2025-07-24'),
        linksKey,
        appointmentStatus: options.appointmentStatus ?? 'title',
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
          this.notifyNpns('producersync.npn.activated', activated);
          this.notifyNpns('producersync.npn.deactivated', deactivated);
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
      autoSubscribed: (npn) => this.notifyNpns('producersync.npn.activated', [npn]),
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

  async advanceDay(opts: { changeFraction?: number; deliverWebhook?: boolean } = {}): Promise<AdvanceDayResult> {
    const changes = this.dataset.advanceDay(opts.changeFraction ?? this.options.changeFraction ?? 0.02);
    const result: AdvanceDayResult = { runDate: this.today, ...changes };
    if (this.options.webhook && opts.deliverWebhook !== false) {
      const delivery = await this.sendWebhook('producersync.updates_available', { runDate: this.today });
      result.webhookStatus = delivery.status;
      result.eventId = delivery.eventId;
    }
    return result;
  }

  async sendWebhook(type: string, data: unknown, opts: { eventId?: string; timestamp?: Date } = {}): Promise<{ status: number; eventId: string }> {
    if (!this.options.webhook) throw new Error('The simulator has no webhook configured (SimulatorOptions.webhook)');
    const delivery = sendSignedWebhook(this.options.webhook, type, data, opts);
    this.pendingWebhooks.add(delivery);
    try {
      return await delivery;
    } finally {
      this.pendingWebhooks.delete(delivery);
    }
  }

  /** npn.activated / npn.deactivated: `{npn}` for one NPN, `{npns}` for several. Fire and forget; close() waits for them. */
  private notifyNpns(type: string, npns: string[]): void {
    if (!this.options.webhook || npns.length === 0) return;
    void this.sendWebhook(type, npns.length === 1 ? { npn: npns[0] } : { npns });
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
