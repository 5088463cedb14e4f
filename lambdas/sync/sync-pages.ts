/**
 * The `SyncPages` step (Lambda `producersync-sync-pages`): the engine that pages one endpoint of a
 * run from its checkpoint (`syncPages`, a reconcile's sweep included), the one factory of its
 * dependencies (`createSyncDeps`, shared with the reliability harness and the tests), and the handler
 * that wires both from the environment and the credentials secret.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TokenRequestError } from '@producersync/token-cache';
import type { Context } from 'aws-lambda';
import { utcDay } from '#commons/calendar-date';
import { dynamoClient } from '#commons/dynamo-client';
import { numberEnv, requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { createDynamoNpnStatusStore, type NpnStatusStore } from '#dispatcher/npn-status';
import { createProducerSyncClient } from '#producersync/client';
import { loadCredentials } from '#producersync/credentials';
import { createDynamoRateBudget } from '#producersync/dynamo-rate-budget';
import { ENDPOINTS, API_LIMITS } from '#producersync/endpoints';
import { ProducerSyncHttpError, RateLimitedError, safePath } from '#producersync/errors';
import { subscriptionPage, type SubscriptionPage } from '#producersync/subscriptions';
import {
  afterPage,
  CheckpointConflictError,
  createDynamoCheckpointStore,
  initialCheckpoint,
  nextSlice,
  type Checkpoint,
  type CheckpointStore,
} from '#sync/checkpoint';
import { withNpnsFound } from '#sync/backfill-npns';
import { atFirstPage, currentPageUrl } from '#sync/cursor';
import { CursorCycleError, emptyGuard, followCursor } from '#sync/cursor-guard';
import { createDynamoRecordStore } from '#sync/dynamo-record-store';
import { assertSyncPagesEvent, NPN_STATUS_TARGET, type SyncPagesEvent, type SyncPagesResult } from '#sync/events';
import { createDynamoQuarantine } from '#sync/quarantine';
import { emptyOutcome, type PageOutcome, type RecordStore } from '#sync/record-store';
import { recordKey } from '#sync/record-validation';
import { createDynamoRunLeases, type RunLeases } from '#sync/run-lease';
import { createDynamoSeenKeyStore, type SeenKeyStore } from '#sync/seen-keys';
import { createDynamoSliceStore, type SliceStore } from '#sync/slice-store';
import { applyStatusPage, deactivateUnsubscribed } from '#sync/status-reconcile';
import { createDynamoSweepStore, sweepEndpoint, type SweepStore } from '#sync/sweep';
import { newestDate } from '#sync/watermark';

/** The part of the ProducerSync client the sync needs: one page per call, `nextUrl` null at the end. */
export interface PageSource {
  fetchPage(url: string): Promise<{ records: unknown[]; nextUrl: string | null }>;
  /** Token fetches since the last call, if the client counts them (TokenRefreshes metric). */
  takeTokenRefreshes?(): number;
}

/** One page of the account's subscription list (`url` null: the first). */
export type SubscriptionSource = (url: string | null) => Promise<SubscriptionPage>;

/** What the engine pages through and writes to. */
export interface SyncPagesDeps {
  source: PageSource;
  /** The subscription list, for a reconcile's NPN status target. @default none (that target then fails) */
  subscriptions?: SubscriptionSource;
  apiBaseUrl: string;
  checkpoints: CheckpointStore;
  /** The record store for a run (its quarantine items live under the run). */
  storeFor(runId: string): RecordStore;
  /** A reconcile run's seen keys. */
  seenKeysFor(runId: string): SeenKeyStore;
  /** The change index, for a reconcile's sweep. */
  sweepStore: SweepStore;
  /** NPN status items, for a reconcile's NPN status target. */
  npnStatus: NpnStatusStore;
  /** Active-run leases: held by every run but a reconcile, which yields to them. */
  leases: RunLeases;
  /** A partitioned endpoint's NPN slices, stored by Prepare. */
  slices: SliceStore;
  pageSize: number;
  timeBudgetMs: number;
  now?: () => number;
}

/** Time kept back from the Lambda timeout for the last checkpoint write and the return. */
export const LAMBDA_SAFETY_MARGIN_MS = 60_000;
/** Bounds on the wait handed to the state machine after a 429. */
const MIN_WAIT_SECONDS = 1;
const MAX_WAIT_SECONDS = 3_600;
/** Waits on the shared rate budget up to this long inside the Lambda; longer waits go to a Step Functions Wait. */
const MAX_INLINE_WAIT_SECONDS = 20;
/** The shared rate bucket of the API budget (`RATE#producersync-api`). */
const RATE_BUDGET_NAME = 'producersync-api';
/** SYNC_TIME_BUDGET_MS default: 10 of the function's 15 minutes. */
const DEFAULT_TIME_BUDGET_MS = 600_000;
/** A reconcile that finds another run in flight looks again after this Wait. */
export const RECONCILE_YIELD_SECONDS = 300;

/** One page of a pass, whatever it reads: records of an endpoint, or NPNs of the subscription list. */
interface PassPage {
  records: unknown[];
  nextUrl: string | null;
}

/**
 * The engine: pages one endpoint of a run from its checkpoint until the last page, the time budget, or a
 * throttle, writing the checkpoint after every page; a reconcile then sweeps the endpoint's type
 * (sweep.ts). Safe to re-invoke at any point: pages are applied with idempotent conditional writes and
 * the checkpoint only moves forward.
 */
export async function syncPages(event: SyncPagesEvent, deps: SyncPagesDeps, lambdaRemainingMs?: number): Promise<SyncPagesResult> {
  assertSyncPagesEvent(event);
  const { runId, endpoint, mode, stream } = event;
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const deadline = startedAt + Math.min(deps.timeBudgetMs, (lambdaRemainingMs ?? Number.POSITIVE_INFINITY) - LAMBDA_SAFETY_MARGIN_MS);
  logger.setCorrelationId(runId);
  logger.appendKeys({ endpoint, ...(stream === undefined ? {} : { stream }) });

  const counted = emptyOutcome();
  let pages = 0;
  let throttled = 0;
  const result = (done: boolean, waitSeconds = 0): SyncPagesResult => ({ ...event, done, waitSeconds, pages });
  const reconcile = mode === 'reconcile';
  const passStartedAt = event.passStartedAt ?? new Date(startedAt).toISOString();

  try {
    let checkpoint = (await deps.checkpoints.load(runId, endpoint, stream)) ?? initialCheckpoint(runId, endpoint, stream);
    if (checkpoint.done) {
      logger.info('endpoint already done', { pagesSoFar: checkpoint.pages });
      return result(true);
    }
    // Every run but a reconcile holds the active-run lease while it pages (run-lease.ts).
    if (!reconcile) await deps.leases.hold(runId, now());
    const pass = passOf(event, deps);
    let slowestPageMs = 0;
    // The next page, asked for while the current one is applied (the page loop keeps the API busy).
    let ahead: Prefetch | undefined;

    while (!checkpoint.passComplete) {
      if (reconcile) {
        const active = await deps.leases.active(now());
        if (active.length > 0) {
          logger.info('reconcile yields to the runs in flight', { runs: active.slice(0, 5), waitSeconds: RECONCILE_YIELD_SECONDS });
          return result(false, RECONCILE_YIELD_SECONDS);
        }
      }
      const pageStartedAt = now();
      const url = await pass.url(checkpoint);
      let page: PassPage;
      try {
        // A page fetched ahead is used only for the URL the committed checkpoint points at.
        page = await (ahead?.url === url ? ahead.page : pass.fetch(url));
      } catch (error) {
        if (error instanceof RateLimitedError) {
          throttled++;
          await saveQuietly(deps.checkpoints, { ...checkpoint, throttled: checkpoint.throttled + 1 }, checkpoint.pages);
          const waitSeconds = Math.min(MAX_WAIT_SECONDS, Math.max(MIN_WAIT_SECONDS, Math.ceil(error.retryAfterSeconds)));
          logger.info('throttled, handing the wait to the state machine', { waitSeconds, pages });
          return result(false, waitSeconds);
        }
        if (isNotFound(error) && atFirstPage(checkpoint) && endpoint !== NPN_STATUS_TARGET && !ENDPOINTS[endpoint].syncedByDefault) {
          await saveQuietly(deps.checkpoints, { ...checkpoint, done: true, unsupported: true }, checkpoint.pages);
          logger.warn('optional endpoint not served for this account (404 on the first page): marked unsupported');
          return result(true);
        }
        throw error;
      } finally {
        ahead = undefined;
      }
      // A cursor that does not move, or comes back to a token of this pass, would page for ever.
      if (page.nextUrl !== null && page.nextUrl === url) throw new CursorCycleError(`next page URL repeats the current one (${safePath(url ?? '')})`);
      const cursorGuard = page.nextUrl === null ? checkpoint.cursorGuard : followCursor(checkpoint.cursorGuard ?? emptyGuard(), page.nextUrl, checkpoint.pages);
      // Another page starts only if the slowest page so far (this one's fetch included), times 1.5, still
      // fits: decided before this page is applied, so the next one can be fetched meanwhile and no page is
      // fetched only to be dropped.
      const another = now() + Math.max(slowestPageMs, now() - pageStartedAt) * 1.5 <= deadline;
      if (another && page.nextUrl !== null) ahead = prefetch(pass, page.nextUrl);

      const outcome = await pass.apply(page.records, checkpoint.pages);
      const newestUpdatedAt = endpoint === NPN_STATUS_TARGET ? undefined : newestDate(page.records, utcDay(now(), 1), checkpoint.newestUpdatedAt);
      let next: Checkpoint = withNpnsFound(
        {
          ...afterPage(checkpoint, page.records.length, outcome, page.nextUrl),
          ...(cursorGuard ? { cursorGuard } : {}),
          ...(newestUpdatedAt ? { newestUpdatedAt } : {}),
        },
        event,
        page.records,
      );
      // A stream's slice ended: on to its next slice (a new pass), unless that was its last.
      if (event.streams !== undefined && event.slices !== undefined) next = nextSlice(next, event.streams, event.slices);
      // A reconcile's endpoint is done only once its sweep is.
      if (reconcile && next.done) next = { ...next, done: false, passComplete: true };
      try {
        await deps.checkpoints.save(next, checkpoint.pages);
        checkpoint = next;
        pages++;
        addOutcome(counted, outcome);
      } catch (error) {
        if (!(error instanceof CheckpointConflictError)) throw error;
        // A duplicate invocation got there first; its counts stand, continue from where it is.
        logger.warn('checkpoint moved by another invocation, continuing from it');
        checkpoint = (await deps.checkpoints.load(runId, endpoint, stream)) ?? checkpoint;
      }
      if (checkpoint.done) {
        logger.info('endpoint done', { pages, pagesTotal: checkpoint.pages });
        return result(true);
      }
      slowestPageMs = Math.max(slowestPageMs, now() - pageStartedAt);
      if (!another) {
        logger.info('time budget used, continuing in the next invocation', { pages, pagesTotal: checkpoint.pages });
        return result(false);
      }
    }

    if (checkpoint.sweep === undefined) logger.info('pass complete, sweeping for items the source no longer returns', { pagesTotal: checkpoint.pages });
    const swept = await sweepEndpoint(checkpoint, {
      store: deps.sweepStore,
      seen: deps.seenKeysFor(runId),
      checkpoints: deps.checkpoints,
      deactivate: (npn) => deactivateUnsubscribed(npn, { npnStatus: deps.npnStatus, runId, passStartedAt }),
      passStartedAt,
      now,
      deadline,
    });
    if (swept.done) logger.info('endpoint reconciled', { pagesTotal: swept.pages, marked: swept.marked });
    return result(swept.done);
  } catch (error) {
    await deps.checkpoints.recordError(runId, endpoint, describeError(error), stream).catch(() => undefined);
    logger.error('sync-pages failed', { pages, error: describeError(error) });
    throw error;
  } finally {
    publishCounts({
      Pages: pages,
      RecordsInserted: counted.inserted,
      RecordsModified: counted.modified,
      RecordsUnchanged: counted.unchanged,
      RecordsDeleted: counted.deleted,
      RecordsStale: counted.stale,
      RecordsQuarantined: counted.quarantined,
      Throttled: throttled,
      TokenRefreshes: deps.source.takeTokenRefreshes?.() ?? 0,
    });
    logger.removeKeys(['endpoint', 'stream']);
  }
}

/** How an event's pass reads and applies its pages: an endpoint's records, or the subscription list (NPN status target). */
function passOf(event: SyncPagesEvent, deps: SyncPagesDeps) {
  const { runId, endpoint } = event;
  const seen = event.mode === 'reconcile' ? deps.seenKeysFor(runId) : undefined;
  if (endpoint === NPN_STATUS_TARGET) {
    const { subscriptions } = deps;
    if (!subscriptions || !seen) throw new Error('the NPN status target needs the subscription list and a reconcile run');
    const context = { npnStatus: deps.npnStatus, seen, runId, passStartedAt: event.passStartedAt ?? new Date().toISOString() };
    return {
      url: async (checkpoint: Checkpoint): Promise<string | null> => checkpoint.nextUrl,
      fetch: async (url: string | null): Promise<PassPage> => {
        const page = await subscriptions(url);
        return { records: page.npns, nextUrl: page.nextUrl };
      },
      apply: (npns: unknown[], page: number) => applyStatusPage(npns as string[], page, context),
    };
  }
  const store = deps.storeFor(runId);
  // A stream's first page of a slice lists the slice's NPNs (loaded once per slice).
  let slice: { index: number; npns: Promise<string[]> } | undefined;
  const sliceNpns = (index: number): Promise<string[]> => {
    if (slice?.index !== index) slice = { index, npns: deps.slices.load(runId, endpoint, index) };
    return slice.npns;
  };
  return {
    url: async (checkpoint: Checkpoint): Promise<string | null> => {
      if (checkpoint.nextUrl || checkpoint.slice === undefined) return currentPageUrl(event, checkpoint, deps);
      return currentPageUrl(event, checkpoint, deps, await sliceNpns(checkpoint.slice));
    },
    fetch: (url: string | null): Promise<PassPage> => deps.source.fetchPage(url ?? ''),
    apply: async (records: unknown[], page: number): Promise<PageOutcome> => {
      // Recorded before the checkpoint that commits the page, so a committed page always has its keys.
      if (seen) await seen.putPage(endpoint, page, records.flatMap((raw) => recordKey(endpoint, raw) ?? []));
      return store.applyPage(endpoint, records);
    },
  };
}

/** A page asked for before the one before it is applied. */
interface Prefetch {
  url: string;
  page: Promise<PassPage>;
}

/** Starts fetching `url`; its failure surfaces where the page is awaited (never as an unhandled rejection). */
function prefetch(pass: { fetch(url: string | null): Promise<PassPage> }, url: string): Prefetch {
  const page = pass.fetch(url);
  page.catch(() => undefined);
  return { url, page };
}

/** Saves a note on the checkpoint unless another invocation has moved it on. */
async function saveQuietly(checkpoints: CheckpointStore, checkpoint: Checkpoint, expectedPages: number): Promise<void> {
  try {
    await checkpoints.save(checkpoint, expectedPages);
  } catch (error) {
    // Another invocation moved on; its state wins and this note is not needed.
    if (!(error instanceof CheckpointConflictError)) throw error;
  }
}

/** Adds a page's outcome to the invocation's counts. */
function addOutcome(into: PageOutcome, outcome: PageOutcome): void {
  for (const key of Object.keys(into) as (keyof PageOutcome)[]) into[key] += outcome[key];
}

const isNotFound = (error: unknown): boolean => error instanceof ProducerSyncHttpError && error.status === 404;

/** Name and message only (no stack, no request details), capped for the checkpoint and run record. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1_000);
}

/** Options of `createSyncDeps`. */
export interface SyncDepsOptions {
  /** DynamoDB client for the data table, the checkpoints and the quarantine. */
  client: DynamoDBClient;
  dataTableName: string;
  /** Checkpoints, quarantined records, leases and a reconcile's seen keys. */
  controlTableName: string;
  /** Where pages come from (the ProducerSync client). */
  source: PageSource;
  /** The subscription list (a reconcile's NPN status target). @default none */
  subscriptions?: SubscriptionSource;
  /** Base URL of first-page URLs. */
  apiBaseUrl: string;
  /** The `size` query parameter, capped at the API's maximum. @default 1000 */
  pageSize?: number;
  /** How long one invocation keeps paging. @default 600000 */
  timeBudgetMs?: number;
  /** The clock of `changedAt`, leases and the time budget. @default Date.now */
  now?: () => number;
}

/** The engine's dependencies over the DynamoDB tables: checkpoints, leases, the change index, and per run a record store with its quarantine and seen keys. */
export function createSyncDeps({ client, dataTableName, controlTableName, source, subscriptions, apiBaseUrl, pageSize, timeBudgetMs, now }: SyncDepsOptions): SyncPagesDeps {
  const clock = now ? { now } : {};
  return {
    source,
    ...(subscriptions ? { subscriptions } : {}),
    apiBaseUrl,
    checkpoints: createDynamoCheckpointStore({ client, tableName: controlTableName }),
    storeFor: (runId) =>
      createDynamoRecordStore({ client, tableName: dataTableName, quarantine: createDynamoQuarantine({ client, tableName: controlTableName, runId }), ...clock }),
    seenKeysFor: (runId) => createDynamoSeenKeyStore({ client, tableName: controlTableName, runId, ...clock }),
    sweepStore: createDynamoSweepStore({ client, tableName: dataTableName }),
    npnStatus: createDynamoNpnStatusStore({ client, tableName: dataTableName, ...clock }),
    leases: createDynamoRunLeases({ client, tableName: controlTableName }),
    slices: createDynamoSliceStore({ client, tableName: controlTableName, ...clock }),
    pageSize: Math.min(pageSize ?? API_LIMITS.maxPageSize, API_LIMITS.maxPageSize),
    timeBudgetMs: timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS,
    ...clock,
  };
}

/** Options of `createSyncPagesHandler`. */
export interface SyncPagesHandlerOptions {
  /** The engine's clock (a soak moves time). @default Date.now */
  now?: () => number;
}

/**
 * The SyncPages handler: credentials from the secret, the shared DynamoDB rate budget, tables and limits
 * from the environment, built once per container (a failed build, e.g. the secret not readable yet, is
 * retried on the next invocation).
 */
export function createSyncPagesHandler(options: SyncPagesHandlerOptions = {}): (event: SyncPagesEvent, context?: Context) => Promise<SyncPagesResult> {
  let handlerDeps: Promise<SyncPagesDeps> | undefined;
  /** Set when the token endpoint rejected the client: the next invocation re-reads the secret (rotation). */
  let rereadCredentials = false;

  async function depsFromEnvironment(): Promise<SyncPagesDeps> {
    const client = dynamoClient();
    const controlTableName = requiredEnv('CONTROL_TABLE_NAME');
    const credentials = await loadCredentials(requiredEnv('PRODUCERSYNC_SECRET_ARN'), { refresh: rereadCredentials });
    rereadCredentials = false;
    const rateBudget = createDynamoRateBudget({
      client,
      tableName: controlTableName,
      name: RATE_BUDGET_NAME,
      perMinute: numberEnv('API_REQUESTS_PER_MINUTE', API_LIMITS.apiRequestsPerMinute),
    });
    const producerSync = createProducerSyncClient({ credentials, rateBudget, maxInlineWaitSeconds: MAX_INLINE_WAIT_SECONDS });
    return createSyncDeps({
      client,
      dataTableName: requiredEnv('DATA_TABLE_NAME'),
      controlTableName,
      source: producerSync,
      subscriptions: (url) => subscriptionPage(producerSync, url),
      apiBaseUrl: credentials.apiBaseUrl,
      pageSize: numberEnv('PAGE_SIZE', API_LIMITS.maxPageSize),
      timeBudgetMs: numberEnv('SYNC_TIME_BUDGET_MS', DEFAULT_TIME_BUDGET_MS),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  function deps(): Promise<SyncPagesDeps> {
    handlerDeps ??= depsFromEnvironment().catch((error: unknown) => {
      handlerDeps = undefined;
      throw error;
    });
    return handlerDeps;
  }

  return async (event, context) => {
    addLambdaContext(context);
    try {
      return await syncPages(event, await deps(), context?.getRemainingTimeInMillis?.());
    } catch (error) {
      // Rejected client credentials (rotated secret): rebuild from a fresh read on the task's retry.
      if (error instanceof TokenRequestError && (error.status === 400 || error.status === 401)) {
        handlerDeps = undefined;
        rereadCredentials = true;
      }
      throw error;
    }
  };
}

/** The SyncPages handler. */
export const handler = createSyncPagesHandler();
