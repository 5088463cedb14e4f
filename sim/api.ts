import { ENDPOINTS, isEndpointName, type EndpointName } from '#producersync/endpoints';
import { isNpn } from '#producersync/npn';
import type { SimDataset } from './data.ts';
import type { FaultInjector } from './faults.ts';
import { HAL_JSON, JSON_TYPE, springError, type Reply } from './http.ts';
import type { PageSizer } from './page-size.ts';
import { parseListQuery, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from './query.ts';
import { actionIdOfValue, type SimRecord } from './records.ts';
import { subscriptionListReply, type SubscriptionListContext } from './subscription-list.ts';
import { countResults, type SubscriptionJobs, type SubscriptionOperation } from './subscriptions.ts';

export interface ApiContext extends SubscriptionListContext {
  readonly jobs: SubscriptionJobs;
  readonly faults: FaultInjector;
  /** How many of the asked records a page holds (short pages). */
  readonly pageSizer: PageSizer;
  /** A per-NPN read subscribed a new NPN (AgentSync auto-subscribes on those endpoints). */
  autoSubscribed(npn: string): void;
}

export interface ApiRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  body: string;
}

const hal = (body: unknown): Reply => ({ status: 200, contentType: HAL_JSON, body });

/** Absolute link to the same path and filters with the given continuation token. */
function pageHref(ctx: ApiContext, path: string, params: URLSearchParams, token: number): string {
  const next = new URLSearchParams(params);
  next.delete('continuationToken');
  next.append('continuationToken', String(token));
  return `${ctx.url}${path}?${next.toString()}`;
}

/**
 * One v2 page with ProducerSync's documented end rules: a data page links to the next token
 * (the last id, so never 0); a request past the end gets no `embedded` and next token 0;
 * a query without any result gets self and next both at 0. A page may hold fewer records than
 * asked (pageSizer); the cursorCycle fault may bend the next token back.
 */
function listPage(ctx: ApiContext, type: EndpointName, req: ApiRequest, scope: { npnIdxs?: number[]; subscribedOnly: boolean }): Reply {
  const parsed = parseListQuery(type, req.params, { allowNpns: scope.npnIdxs === undefined });
  if (!parsed.ok) return springError(400, parsed.message, req.path);
  const q = parsed.value;
  let npnIdxs = scope.npnIdxs;
  if (q.npns) npnIdxs = q.npns.map((npn) => ctx.dataset.npnIdx(npn)).filter((idx): idx is number => idx !== undefined);
  const records = ctx.dataset.query(
    type,
    {
      ...(npnIdxs ? { npnIdxs } : {}),
      ...(q.updatedSinceDay !== undefined ? { updatedSinceDay: q.updatedSinceDay } : {}),
      includeDeleted: q.includeDeleted,
      subscribedOnly: scope.subscribedOnly,
      ...(q.recordFilter ? { recordFilter: q.recordFilter } : {}),
    },
    q.afterId,
    ctx.pageSizer.served(q.size, `${req.path}?${req.params.toString()}`),
  );
  const self = { href: pageHref(ctx, req.path, req.params, q.afterId) };
  const last = records.at(-1);
  if (!last) return { ...hal({ [ctx.linksKey]: { self, next: { href: pageHref(ctx, req.path, req.params, 0) } } }), records: 0 };
  const page: unknown[] = [...records, ...ctx.faults.takeBadRecords(type)];
  const next = ctx.faults.nextToken(type, passKey(req), q.afterId, last.id as number);
  return {
    ...hal({
      [ctx.embeddedKey]: { [type]: page },
      [ctx.linksKey]: { self, next: { href: pageHref(ctx, req.path, req.params, next) } },
    }),
    records: page.length,
  };
}

/** A pass over a list: its path and filters without the continuation token. */
function passKey(req: ApiRequest): string {
  const params = new URLSearchParams(req.params);
  params.delete('continuationToken');
  return `${req.path}?${params.toString()}`;
}

function pageSize(params: URLSearchParams): number | undefined {
  const raw = params.get('size');
  const size = raw === null ? DEFAULT_PAGE_SIZE : Number(raw);
  return Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : undefined;
}

function parseNpnList(body: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined;
    return parsed.map((v) => String(v).trim());
  } catch {
    return undefined;
  }
}

function subscriptionRoutes(ctx: ApiContext, req: ApiRequest, rest: string[]): Reply {
  const jobHref = (id: string) => `${ctx.url}/v1/accounts/subscriptions/status/${id}`;
  if (rest.length === 0) {
    if (req.method === 'GET') return subscriptionListReply(ctx, req.path, req.params);
    const operations: Record<string, SubscriptionOperation> = { PUT: 'append', POST: 'replace', DELETE: 'remove' };
    const operation = operations[req.method];
    if (!operation) return springError(405, `Request method '${req.method}' is not supported`, req.path);
    const npns = parseNpnList(req.body);
    if (!npns) return springError(400, 'Request body must be a JSON array of NPN strings', req.path);
    const job = ctx.jobs.submit(operation, npns);
    return {
      status: operation === 'remove' ? 202 : 200,
      contentType: JSON_TYPE,
      body: { success: true, message: 'Job is in progress', job_id: job.id, [ctx.linksKey]: { self: { href: jobHref(job.id) } } },
    };
  }
  if (rest[0] !== 'status' || !rest[1] || rest.length > 3 || (rest[2] !== undefined && rest[2] !== 'details')) {
    return springError(404, 'No static resource found', req.path);
  }
  if (req.method !== 'GET') return springError(405, `Request method '${req.method}' is not supported`, req.path);
  const job = ctx.jobs.get(rest[1]);
  if (!job) return springError(404, `Job ${rest[1]} not found`, req.path);
  if (rest[2] === 'details') {
    return hal({ [ctx.embeddedKey]: { results: job.results.map((r) => ({ ...r })) }, [ctx.linksKey]: { self: { href: `${jobHref(job.id)}/details` } } });
  }
  return hal({
    id: job.id,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    details: { status: job.status, ...countResults(job) },
    [ctx.linksKey]: { self: { href: jobHref(job.id) }, details: { href: `${jobHref(job.id)}/details` } },
  });
}

/** A record by id, visible only while its NPN is subscribed. */
function byId(ctx: ApiContext, type: EndpointName, rawId: string, path: string): Reply {
  const id = Number(rawId);
  if (!Number.isSafeInteger(id)) return springError(400, `Failed to convert value of type 'java.lang.String' to required type 'long'; For input string: "${rawId}"`, path);
  const slot = ctx.dataset.findSlot(type, id);
  if (!slot || !ctx.dataset.isVisibleIdx(slot.npnIdx)) return springError(404, `${type} ${rawId} not found`, path);
  return hal(ctx.dataset.record(type, slot));
}

function regulatoryActionValues(ctx: ApiContext, actionId: number): SimRecord[] | undefined {
  const slot = ctx.dataset.findSlot('regulatoryActions', actionId);
  if (!slot || !ctx.dataset.isVisibleIdx(slot.npnIdx)) return undefined;
  const action = ctx.dataset.record('regulatoryActions', slot);
  return (action.regulatoryActionValues as { regulatoryActionValues: SimRecord[] }).regulatoryActionValues;
}

function entityRoutes(ctx: ApiContext, req: ApiRequest, npn: string, sub: string | undefined): Reply {
  if (!isNpn(npn)) return springError(400, `Invalid NPN [${npn}]`, req.path);
  if (sub === undefined) {
    const idx = ctx.dataset.npnIdx(npn);
    const records = idx === undefined ? [] : ctx.dataset.query('entities', { npnIdxs: [idx], includeDeleted: true, subscribedOnly: false }, 0, 1);
    const entity = records[0];
    return entity ? hal(entity) : springError(404, `Entity with NPN ${npn} not found`, req.path);
  }
  if (!isEndpointName(sub) || sub === 'entities') return springError(404, 'No static resource found', req.path);
  if (ctx.dataset.subscribe(npn)) ctx.autoSubscribed(npn);
  const idx = ctx.dataset.npnIdx(npn);
  return listPage(ctx, sub, req, { npnIdxs: idx === undefined ? [] : [idx], subscribedOnly: false });
}

/** Routes an authenticated API request. */
export function handleApi(ctx: ApiContext, req: ApiRequest): Reply {
  const parts = req.path.split('/').filter(Boolean);
  const [version, resource, a, b, ...more] = parts;
  if (version === 'v1' && resource === 'accounts' && a === 'subscriptions') return subscriptionRoutes(ctx, req, [b, ...more].filter((p): p is string => p !== undefined));
  if (req.method !== 'GET') return springError(405, `Request method '${req.method}' is not supported`, req.path);
  if (more.length > 0 || resource === undefined) return springError(404, 'No static resource found', req.path);

  if (version === 'v2') {
    if (a === undefined && isEndpointName(resource) && ENDPOINTS[resource].path === `/v2/${resource}`) {
      return listPage(ctx, resource, req, { subscribedOnly: true });
    }
    if (resource === 'entities' && a !== undefined) return entityRoutes(ctx, req, a, b);
    if (resource === 'licenses' && a !== undefined && b === 'licenseLoas') {
      const license = ctx.dataset.findSlot('licenses', Number(a));
      if (!license || !ctx.dataset.isVisibleIdx(license.npnIdx)) return springError(404, `License ${a} not found`, req.path);
      const size = pageSize(req.params);
      if (size === undefined) return springError(400, `size must be between 1 and ${MAX_PAGE_SIZE}`, req.path);
      const loas = ctx.dataset.loasOf(license.id).slice(0, size).map((slot) => ctx.dataset.record('licenseLoas', slot));
      return hal({ [ctx.embeddedKey]: { licenseLoas: loas }, [ctx.linksKey]: { self: { href: `${ctx.url}${req.path}` } } });
    }
    if (resource === 'regulatoryActions' && a !== undefined && b === 'regulatoryActionValues') {
      const size = pageSize(req.params);
      if (size === undefined) return springError(400, `size must be between 1 and ${MAX_PAGE_SIZE}`, req.path);
      const values = regulatoryActionValues(ctx, Number(a));
      if (!values) return springError(404, `Regulatory action ${a} not found`, req.path);
      return hal({ [ctx.embeddedKey]: { regulatoryActionValues: values.slice(0, size) } });
    }
  }

  if (version === 'v1' && a !== undefined && b === undefined) {
    if (isEndpointName(resource)) return byId(ctx, resource, a, req.path);
    if (resource === 'regulatoryActionValues') {
      const id = Number(a);
      const value = regulatoryActionValues(ctx, actionIdOfValue(id))?.find((v) => v.id === id);
      return value ? hal(value) : springError(404, `regulatoryActionValues ${a} not found`, req.path);
    }
  }
  return springError(404, 'No static resource found', req.path);
}
