import { TokenRequestError } from '@producersync/token-cache';
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/clients';
import { numberEnv, requiredEnv } from '#commons/env';
import { logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { createProducerSyncClient } from '#producersync/client';
import { loadCredentials } from '#producersync/credentials';
import { ENDPOINTS, API_LIMITS, isEndpointName } from '#producersync/endpoints';
import { ProducerSyncHttpError, RateLimitedError, safePath } from '#producersync/errors';
import { createDynamoRateBudget } from '#producersync/dynamo-rate-budget';
import {
  afterPage,
  CheckpointConflictError,
  createCheckpointStore,
  initialCheckpoint,
  type Checkpoint,
  type CheckpointStore,
} from '#sync/checkpoint';
import { atFirstPage, currentPageUrl } from '#sync/cursor';
import { createDynamoRecordStore } from '#sync/dynamo-record-store';
import type { SyncPagesEvent, SyncPagesResult } from '#sync/events';
import { createDynamoQuarantine } from '#sync/quarantine';
import { emptyOutcome, type PageOutcome, type RecordStore } from '#sync/record-store';

/** The part of the ProducerSync client the sync needs: one page per call, `nextUrl` null at the end. */
export interface PageSource {
  fetchPage(url: string): Promise<{ records: unknown[]; nextUrl: string | null }>;
  /** Token fetches since the last call, if the client counts them (TokenRefreshes metric). */
  takeTokenRefreshes?(): number;
}

export interface SyncPagesDeps {
  source: PageSource;
  apiBaseUrl: string;
  checkpoints: CheckpointStore;
  /** The record store for a run (its quarantine items live under the run). */
  storeFor(runId: string): RecordStore;
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
const RATE_BUDGET_NAME = 'producersync-api';

/**
 * Pages one endpoint of a run from its checkpoint until the last page, the time budget, or a
 * throttle, writing the checkpoint after every page. Safe to re-invoke at any point: pages
 * are applied with idempotent conditional writes and the checkpoint only moves forward.
 */
export async function syncPages(event: SyncPagesEvent, deps: SyncPagesDeps, lambdaRemainingMs?: number): Promise<SyncPagesResult> {
  assertEvent(event);
  const { runId, endpoint } = event;
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const deadline = startedAt + Math.min(deps.timeBudgetMs, (lambdaRemainingMs ?? Number.POSITIVE_INFINITY) - LAMBDA_SAFETY_MARGIN_MS);
  logger.setCorrelationId(runId);
  logger.appendKeys({ endpoint });

  const counted = emptyOutcome();
  let pages = 0;
  let throttled = 0;
  const result = (done: boolean, waitSeconds = 0): SyncPagesResult => ({ ...event, done, waitSeconds, pages });

  try {
    let checkpoint = (await deps.checkpoints.load(runId, endpoint)) ?? initialCheckpoint(runId, endpoint);
    if (checkpoint.done) {
      logger.info('endpoint already done', { pagesSoFar: checkpoint.pages });
      return result(true);
    }
    const store = deps.storeFor(runId);
    let slowestPageMs = 0;

    for (;;) {
      const pageStartedAt = now();
      const url = currentPageUrl(event, checkpoint, deps);
      let page: Awaited<ReturnType<PageSource['fetchPage']>>;
      try {
        page = await deps.source.fetchPage(url);
      } catch (error) {
        if (error instanceof RateLimitedError) {
          throttled++;
          await saveQuietly(deps.checkpoints, { ...checkpoint, throttled: checkpoint.throttled + 1 }, checkpoint.pages);
          const waitSeconds = Math.min(MAX_WAIT_SECONDS, Math.max(MIN_WAIT_SECONDS, Math.ceil(error.retryAfterSeconds)));
          logger.info('throttled, handing the wait to the state machine', { waitSeconds, pages });
          return result(false, waitSeconds);
        }
        if (isNotFound(error) && atFirstPage(checkpoint) && !ENDPOINTS[endpoint].syncedByDefault) {
          await saveQuietly(deps.checkpoints, { ...checkpoint, done: true, unsupported: true }, checkpoint.pages);
          logger.warn('optional endpoint not served for this account (404 on the first page): marked unsupported');
          return result(true);
        }
        throw error;
      }
      // A cursor that does not move would page forever.
      if (page.nextUrl !== null && page.nextUrl === url) throw new Error(`next page URL repeats the current one (${safePath(url)})`);

      const outcome = await store.applyPage(endpoint, page.records);
      const next = afterPage(checkpoint, page.records.length, outcome, page.nextUrl);
      try {
        await deps.checkpoints.save(next, checkpoint.pages);
        checkpoint = next;
        pages++;
        addOutcome(counted, outcome);
      } catch (error) {
        if (!(error instanceof CheckpointConflictError)) throw error;
        // A duplicate invocation got there first; its counts stand, continue from where it is.
        logger.warn('checkpoint moved by another invocation, continuing from it');
        checkpoint = (await deps.checkpoints.load(runId, endpoint)) ?? checkpoint;
      }
      if (checkpoint.done) {
        logger.info('endpoint done', { pages, pagesTotal: checkpoint.pages });
        return result(true);
      }
      slowestPageMs = Math.max(slowestPageMs, now() - pageStartedAt);
      if (now() + slowestPageMs * 1.5 > deadline) {
        logger.info('time budget used, continuing in the next invocation', { pages, pagesTotal: checkpoint.pages });
        return result(false);
      }
    }
  } catch (error) {
    await deps.checkpoints.recordError(runId, endpoint, describeError(error)).catch(() => undefined);
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
    logger.removeKeys(['endpoint']);
  }
}

async function saveQuietly(checkpoints: CheckpointStore, checkpoint: Checkpoint, expectedPages: number): Promise<void> {
  try {
    await checkpoints.save(checkpoint, expectedPages);
  } catch (error) {
    // Another invocation moved on; its state wins and this note is not needed.
    if (!(error instanceof CheckpointConflictError)) throw error;
  }
}

function addOutcome(into: PageOutcome, outcome: PageOutcome): void {
  for (const key of Object.keys(into) as (keyof PageOutcome)[]) into[key] += outcome[key];
}

const isNotFound = (error: unknown): boolean => error instanceof ProducerSyncHttpError && error.status === 404;

/** Name and message only (no stack, no request details), capped for the checkpoint and run record. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1_000);
}

function assertEvent(event: SyncPagesEvent): void {
  const ok =
    event !== null &&
    typeof event === 'object' &&
    typeof event.runId === 'string' &&
    event.runId !== '' &&
    isEndpointName(event.endpoint) &&
    (event.mode === 'incremental' || event.mode === 'backfill') &&
    (event.updatedSince === null || typeof event.updatedSince === 'string') &&
    (event.npns === null || Array.isArray(event.npns));
  if (!ok) throw new Error(`sync-pages event must be {runId, endpoint, mode, updatedSince, npns}, got ${JSON.stringify(event)?.slice(0, 300)}`);
}

let defaultDeps: Promise<SyncPagesDeps> | undefined;
/** Set when the token endpoint rejected the client: the next invocation re-reads the secret (rotation). */
let rereadCredentials = false;

async function createDefaultDeps(): Promise<SyncPagesDeps> {
  const client = dynamoClient();
  const controlTable = requiredEnv('CONTROL_TABLE_NAME');
  const dataTable = requiredEnv('DATA_TABLE_NAME');
  const credentials = await loadCredentials(requiredEnv('PRODUCERSYNC_SECRET_ARN'), { refresh: rereadCredentials });
  rereadCredentials = false;
  const rateBudget = createDynamoRateBudget({
    client,
    tableName: controlTable,
    name: RATE_BUDGET_NAME,
    perMinute: numberEnv('API_REQUESTS_PER_MINUTE', API_LIMITS.apiRequestsPerMinute),
  });
  return {
    source: createProducerSyncClient({ credentials, rateBudget, maxInlineWaitSeconds: MAX_INLINE_WAIT_SECONDS }),
    apiBaseUrl: credentials.apiBaseUrl,
    checkpoints: createCheckpointStore({ client, tableName: controlTable }),
    storeFor: (runId) =>
      createDynamoRecordStore({ client, tableName: dataTable, quarantine: createDynamoQuarantine({ client, tableName: controlTable, runId }) }),
    pageSize: Math.min(numberEnv('PAGE_SIZE', API_LIMITS.maxPageSize), API_LIMITS.maxPageSize),
    timeBudgetMs: numberEnv('SYNC_TIME_BUDGET_MS', 600_000),
  };
}

/** Built once per container; a failed build (e.g. the secret not readable yet) is retried on the next invocation. */
function deps(): Promise<SyncPagesDeps> {
  defaultDeps ??= createDefaultDeps().catch((error: unknown) => {
    defaultDeps = undefined;
    throw error;
  });
  return defaultDeps;
}

export const handler = async (event: SyncPagesEvent, context?: Context): Promise<SyncPagesResult> => {
  try {
    return await syncPages(event, await deps(), context?.getRemainingTimeInMillis?.());
  } catch (error) {
    // Rejected client credentials (rotated secret): rebuild from a fresh read on the task's retry.
    if (error instanceof TokenRequestError && (error.status === 400 || error.status === 401)) {
      defaultDeps = undefined;
      rereadCredentials = true;
    }
    throw error;
  }
};
