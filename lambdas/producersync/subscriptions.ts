/**
 * NPN management (producersync-api.md §2.2): the account's subscription list and its
 * asynchronous jobs. Parsing is tolerant (`job_id` or `jobId`, `embedded` or `_embedded`)
 * and keeps fields it does not know under `raw`.
 */
import { chunked } from '#commons/chunked';
import type { ProducerSyncClient } from '#producersync/client';

/** The subscription list's path. */
export const SUBSCRIPTIONS_PATH = '/v1/accounts/subscriptions';
/** NPNs per request; larger lists are sent in batches. */
export const SUBSCRIPTION_BATCH_SIZE = 10_000;

/** The answer to a list change: the job it started. */
export interface SubscriptionJobRef {
  jobId: string | undefined;
  success: boolean | undefined;
  message: string | undefined;
  /** HTTP status (DELETE answers 202 without a body). */
  status: number;
  npnCount: number;
  raw: Record<string, unknown> | null;
}

/** A job's status. */
export interface JobStatus {
  id: string;
  /** `status` at the top level or under `details`, e.g. IN_PROGRESS / COMPLETED; undefined when the API does not say. */
  status: string | undefined;
  done: boolean;
  createdAt: string | undefined;
  updatedAt: string | undefined;
  details: Record<string, unknown>;
  raw: Record<string, unknown>;
}

/** A job's per-NPN results. */
export interface JobDetails {
  /** Per-NPN outcomes when the API lists them (the first array inside `embedded`). */
  results: Record<string, unknown>[];
  embedded: Record<string, unknown>;
  raw: Record<string, unknown>;
}

/** One page of the subscription list: its NPNs and the next page's URL (null at the end, by the v2 end rules). */
export interface SubscriptionPage {
  npns: string[];
  nextUrl: string | null;
}

/** One page of the subscription list: the first (`url` null) or a `next` link as given. The list's shape is undocumented: every known variant is read. */
export async function subscriptionPage(client: Pick<ProducerSyncClient, 'getJson'>, url: string | null): Promise<SubscriptionPage> {
  const { body } = await client.getJson(url ?? SUBSCRIPTIONS_PATH);
  const npns = npnsOf(body);
  const next = hrefOf(objectOf(objectOf(body).links ?? objectOf(body)._links).next);
  return { npns, nextUrl: npns.length === 0 || next === undefined || /[?&]continuationToken=0(&|$)/.test(next) ? null : next };
}

/** Every subscribed NPN (following `next` if the list is ever paged). */
export async function listSubscriptions(client: ProducerSyncClient): Promise<string[]> {
  const npns: string[] = [];
  let url: string | null = null;
  const seen = new Set<string>();
  do {
    const page: SubscriptionPage = await subscriptionPage(client, url);
    npns.push(...page.npns);
    url = page.nextUrl;
  } while (url !== null && !seen.has(url) && seen.add(url));
  return npns;
}

/** PUT: appends to the list (the documented call for onboarding new NPNs). */
export function addSubscriptions(client: ProducerSyncClient, npns: readonly string[]): Promise<SubscriptionJobRef[]> {
  return inBatches(npns, (batch) => submit(client, 'PUT', batch));
}

/**
 * POST: the list becomes exactly `npns`. Beyond one batch, the first batch replaces and the
 * rest append (a second POST would replace the first batch away).
 */
export async function replaceSubscriptions(client: ProducerSyncClient, npns: readonly string[]): Promise<SubscriptionJobRef[]> {
  const [first, ...rest] = batches(npns);
  const jobs = [await submit(client, 'POST', first ?? [])];
  for (const batch of rest) jobs.push(await submit(client, 'PUT', batch));
  return jobs;
}

/** DELETE: removes these NPNs, leaving the others. */
export function removeSubscriptions(client: ProducerSyncClient, npns: readonly string[]): Promise<SubscriptionJobRef[]> {
  return inBatches(npns, (batch) => submit(client, 'DELETE', batch));
}

/** The status of a job. */
export async function getJobStatus(client: ProducerSyncClient, jobId: string): Promise<JobStatus> {
  const { body } = await client.getJson(`${SUBSCRIPTIONS_PATH}/status/${encodeURIComponent(jobId)}`);
  const raw = objectOf(body);
  const details = objectOf(raw.details);
  const status = stringOf(raw.status) ?? stringOf(details.status) ?? stringOf(raw.state) ?? stringOf(details.state);
  return {
    id: stringOf(raw.id) ?? jobId,
    status,
    done: status !== undefined && TERMINAL_STATUS.test(status),
    createdAt: stringOf(raw.createdAt),
    updatedAt: stringOf(raw.updatedAt),
    details,
    raw,
  };
}

/** The per-NPN results of a job. */
export async function getJobDetails(client: ProducerSyncClient, jobId: string): Promise<JobDetails> {
  const { body } = await client.getJson(`${SUBSCRIPTIONS_PATH}/status/${encodeURIComponent(jobId)}/details`);
  const raw = objectOf(body);
  const embedded = objectOf(raw.embedded ?? raw._embedded);
  const results = Object.values(embedded).find(Array.isArray) as Record<string, unknown>[] | undefined;
  return { results: results ?? [], embedded, raw };
}

/** Options of `waitForJob`. */
export interface WaitForJobOptions {
  pollMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Polls the job status until it reports a terminal status; throws when `timeoutMs` passes first. */
export async function waitForJob(client: ProducerSyncClient, jobId: string, options: WaitForJobOptions = {}): Promise<JobStatus> {
  const pollMs = options.pollMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + timeoutMs;
  for (;;) {
    const status = await getJobStatus(client, jobId);
    if (status.done) return status;
    if (now() + pollMs > deadline) throw new Error(`subscription job ${jobId} still ${status.status ?? 'running'} after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

const TERMINAL_STATUS = /^(COMPLETED?|SUCCE(SS|SSFUL|EDED)|DONE|FINISHED|FAILED|FAILURE|ERROR|CANCELL?ED)$/i;

async function submit(client: ProducerSyncClient, method: 'POST' | 'PUT' | 'DELETE', npns: readonly string[]): Promise<SubscriptionJobRef> {
  const { status, body } = await client.sendJson(method, SUBSCRIPTIONS_PATH, npns);
  const raw = body === null ? null : objectOf(body);
  return {
    jobId: stringOf(raw?.job_id) ?? stringOf(raw?.jobId) ?? stringOf(raw?.id),
    success: typeof raw?.success === 'boolean' ? raw.success : undefined,
    message: stringOf(raw?.message),
    status,
    npnCount: npns.length,
    raw,
  };
}

async function inBatches<T>(npns: readonly string[], send: (batch: readonly string[]) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const batch of batches(npns)) out.push(await send(batch));
  return out;
}

const batches = (npns: readonly string[]): string[][] => chunked(npns, SUBSCRIPTION_BATCH_SIZE);

/** NPNs from a bare array, `{npns}`, or an `embedded`/`_embedded` collection; items are strings or `{npn}`. */
function npnsOf(body: unknown): string[] {
  const object = objectOf(body);
  const embedded = objectOf(object.embedded ?? object._embedded);
  const list = Array.isArray(body)
    ? body
    : Array.isArray(object.npns)
      ? object.npns
      : Array.isArray(embedded.npns)
        ? embedded.npns
        : (Object.values(embedded).find(Array.isArray) ?? []);
  return (list as unknown[]).flatMap((item) => {
    if (typeof item === 'string') return [item];
    if (typeof item === 'number') return [String(item)];
    const npn = objectOf(item).npn;
    return typeof npn === 'string' || typeof npn === 'number' ? [String(npn)] : [];
  });
}

function hrefOf(link: unknown): string | undefined {
  const href = typeof link === 'string' ? link : objectOf(link).href;
  return typeof href === 'string' && href !== '' ? href : undefined;
}

function objectOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
