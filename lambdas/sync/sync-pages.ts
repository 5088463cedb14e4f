/**
 * The `SyncPages` step (Lambda `producersync-sync-pages`): the engine that pages one endpoint of a
 * run from its checkpoint (`syncPages`), the one factory of its dependencies (`createSyncDeps`,
 * shared with the reliability harness and the tests), and the handler that wires both from the
 * environment and the credentials secret.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TokenRequestError } from '@producersync/token-cache';
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { numberEnv, requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { createProducerSyncClient } from '#producersync/client';
import { loadCredentials } from '#producersync/credentials';
import { createDynamoRateBudget } from '#producersync/dynamo-rate-budget';
import { ENDPOINTS, API_LIMITS } from '#producersync/endpoints';
import { ProducerSyncHttpError, RateLimitedError, safePath } from '#producersync/errors';
import {
  afterPage,
  CheckpointConflictError,
  createDynamoCheckpointStore,
  initialCheckpoint,
  type Checkpoint,
  type CheckpointStore,
} from '#sync/checkpoint';
import { atFirstPage, currentPageUrl } from '#sync/cursor';
import { createDynamoRecordStore } from '#sync/dynamo-record-store';
import { assertSyncPagesEvent, type SyncPagesEvent, type SyncPagesResult } from '#sync/events';
import { createDynamoQuarantine } from '#sync/quarantine';
import { emptyOutcome, type PageOutcome, type RecordStore } from '#sync/record-store';

/** The part of the ProducerSync client the sync needs: one page per call, `nextUrl` null at the end. */
export interface PageSource {
  fetchPage(url: string): Promise<{ records: unknown[]; nextUrl: string | null }>;
  /** Token fetches since the last call, if the client counts them (TokenRefreshes metric). */
  takeTokenRefreshes?(): number;
}

/** What the engine pages through and writes to. */
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
/** The shared rate bucket of the API budget (`RATE#producersync-api`). */
const RATE_BUDGET_NAME = 'producersync-api';
/** SYNC_TIME_BUDGET_MS default: 10 of the function's 15 minutes. */
const DEFAULT_TIME_BUDGET_MS = 600_000;

/**
 * The engine: pages one endpoint of a run from its checkpoint until the last page, the time budget, or a
 * throttle, writing the checkpoint after every page. Safe to re-invoke at any point: pages
 * are applied with idempotent conditional writes and the checkpoint only moves forward.
 */
export async function syncPages(event: SyncPagesEvent, deps: SyncPagesDeps, lambdaRemainingMs?: number): Promise<SyncPagesResult> {
  assertSyncPagesEvent(event);
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
  /** Checkpoints and quarantined records. */
  controlTableName: string;
  /** Where pages come from (the ProducerSync client). */
  source: PageSource;
  /** Base URL of first-page URLs. */
  apiBaseUrl: string;
  /** The `size` query parameter, capped at the API's maximum. @default 1000 */
  pageSize?: number;
  /** How long one invocation keeps paging. @default 600000 */
  timeBudgetMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The engine's dependencies over the DynamoDB tables: checkpoint store, and a record store with its quarantine per run. */
export function createSyncDeps({ client, dataTableName, controlTableName, source, apiBaseUrl, pageSize, timeBudgetMs, now }: SyncDepsOptions): SyncPagesDeps {
  return {
    source,
    apiBaseUrl,
    checkpoints: createDynamoCheckpointStore({ client, tableName: controlTableName }),
    storeFor: (runId) =>
      createDynamoRecordStore({ client, tableName: dataTableName, quarantine: createDynamoQuarantine({ client, tableName: controlTableName, runId }) }),
    pageSize: Math.min(pageSize ?? API_LIMITS.maxPageSize, API_LIMITS.maxPageSize),
    timeBudgetMs: timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS,
    ...(now ? { now } : {}),
  };
}

let handlerDeps: Promise<SyncPagesDeps> | undefined;
/** Set when the token endpoint rejected the client: the next invocation re-reads the secret (rotation). */
let rereadCredentials = false;

/** The deployed wiring: credentials from the secret, the shared DynamoDB rate budget, tables and limits from the environment. */
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
  return createSyncDeps({
    client,
    dataTableName: requiredEnv('DATA_TABLE_NAME'),
    controlTableName,
    source: createProducerSyncClient({ credentials, rateBudget, maxInlineWaitSeconds: MAX_INLINE_WAIT_SECONDS }),
    apiBaseUrl: credentials.apiBaseUrl,
    pageSize: numberEnv('PAGE_SIZE', API_LIMITS.maxPageSize),
    timeBudgetMs: numberEnv('SYNC_TIME_BUDGET_MS', DEFAULT_TIME_BUDGET_MS),
  });
}

/** Built once per container; a failed build (e.g. the secret not readable yet) is retried on the next invocation. */
function deps(): Promise<SyncPagesDeps> {
  handlerDeps ??= depsFromEnvironment().catch((error: unknown) => {
    handlerDeps = undefined;
    throw error;
  });
  return handlerDeps;
}

/** The SyncPages handler. */
export const handler = async (event: SyncPagesEvent, context?: Context): Promise<SyncPagesResult> => {
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
