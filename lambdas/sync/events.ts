/**
 * The payloads between the sync state machine and its Lambdas (docs/ARCHITECTURE.md, docs/SYNC.md),
 * and the checks each Lambda applies to the payload it receives.
 */
import { isEndpointName, type EndpointName } from '#producersync/endpoints';
import type { EndpointCounts } from '#sync/checkpoint';

/**
 * What a run does (docs/SYNC.md "Inputs"): `incremental`, changes since a date; `catchUp`, changes since
 * the watermark (the fallback schedule); `backfill`, everything (optionally for some NPNs); `reconcile`,
 * a full pass that also finds what the API no longer returns.
 */
export type SyncMode = 'incremental' | 'catchUp' | 'backfill' | 'reconcile';

/** How one endpoint of a run pages: from `updatedSince`, everything, or everything plus the sweep. */
export type EndpointMode = 'incremental' | 'backfill' | 'reconcile';

/** State machine input. */
export type SyncInput =
  | { runDate: string }
  | { mode: 'incremental'; runDate: string }
  | { mode: 'catchUp' }
  | { mode: 'backfill'; runDate?: string; npns?: string[] }
  | { mode: 'reconcile' };

/** A reconcile's extra Map item: the NPN status items against the account's subscription list. */
export const NPN_STATUS_TARGET = 'npnStatus';

/** What one Map item syncs: an endpoint, or (reconcile only) the NPN status items. */
export type SyncTarget = EndpointName | typeof NPN_STATUS_TARGET;

/** True for an endpoint name or the NPN status target. */
export const isSyncTarget = (value: unknown): value is SyncTarget => value === NPN_STATUS_TARGET || isEndpointName(value);

/** `Prepare` payload: `{input: $, executionName: $$.Execution.Name, startTime: $$.Execution.StartTime}`. */
export interface PrepareEvent {
  input: unknown;
  executionName: string;
  startTime?: string;
}

/** One Map item: the `sync-pages` event. */
export interface SyncPagesEvent {
  runId: string;
  endpoint: SyncTarget;
  mode: EndpointMode;
  updatedSince: string | null;
  npns: string[] | null;
  /** Reconcile: items changed before this ISO time and not returned by the pass are marked missing. */
  passStartedAt?: string;
  /** A partitioned endpoint's page loop (0..streams-1): it works through slices stream, stream + streams, ... (docs/SYNC.md "Partitions"). */
  stream?: number;
  /** The endpoint's page loops. */
  streams?: number;
  /** The endpoint's NPN slices (control-table items `SLICE#<endpoint>#<index>`). */
  slices?: number;
}

/** What Prepare returns: the run and one Map item per endpoint (none when the run is skipped). */
export interface PrepareResult {
  runId: string;
  mode: SyncMode;
  updatedSince: string | null;
  npns: string[] | null;
  endpoints: SyncPagesEvent[];
  /** Why the run does nothing (another initial load in flight); the state machine ends at once. */
  skipped?: string;
}

/** What one `sync-pages` invocation returns: its event, whether the endpoint is done, and how long to wait. */
export interface SyncPagesResult extends SyncPagesEvent {
  done: boolean;
  waitSeconds: number;
  /** Pages fetched by this invocation. */
  pages: number;
}

/** What the Map's Catch leaves for an endpoint that still failed after the task retries. */
export interface FailedEndpointResult {
  endpoint: SyncTarget;
  failed: true;
  error?: unknown;
}

/**
 * `RecordRun` payload: the Prepare result with the Map output under `results`
 * (Map ResultPath `$.results`). Extra keys are ignored.
 */
export interface FinalizeEvent {
  runId: string;
  endpoints: SyncPagesEvent[];
  /** SyncPagesResult or FailedEndpointResult per endpoint. */
  results?: unknown[];
}

/** An endpoint that did not finish, and why (the run record's `failedEndpoints`). */
export interface FailedEndpoint {
  endpoint: SyncTarget;
  /** A partitioned endpoint's failed page loop. */
  stream?: number;
  error: string;
}

/** What RecordRun returns. */
export interface FinalizeResult {
  status: 'SUCCEEDED' | 'FAILED';
  /** The Map items to run again (the `ResumeFailed` Map iterates over these). */
  failedEndpoints: SyncPagesEvent[];
}

/**
 * One endpoint's counts in the run record. `corrected` (reconcile runs): what the pass changed, drift
 * written (inserted + modified + deleted) plus items marked missing.
 */
export type EndpointSummary = EndpointCounts & { unsupported?: boolean; corrected?: number };

/** Throws unless `event` is a `sync-pages` event (a wiring error, so the message shows what arrived). */
export function assertSyncPagesEvent(event: unknown): asserts event is SyncPagesEvent {
  const e = event as Partial<SyncPagesEvent> | null;
  const ok =
    e !== null &&
    typeof e === 'object' &&
    typeof e.runId === 'string' &&
    e.runId !== '' &&
    isSyncTarget(e.endpoint) &&
    (e.mode === 'incremental' || e.mode === 'backfill' || e.mode === 'reconcile') &&
    (e.mode === 'reconcile' || e.endpoint !== NPN_STATUS_TARGET) &&
    (e.updatedSince === null || typeof e.updatedSince === 'string') &&
    (e.npns === null || Array.isArray(e.npns)) &&
    (e.stream === undefined || isStreamOf(e));
  if (!ok) throw new Error(`sync-pages event must be {runId, endpoint, mode, updatedSince, npns}, got ${JSON.stringify(event)?.slice(0, 300)}`);
}

/** A stream item: a backfill of everything, stream 0..streams-1 over at least `streams` slices. */
const isStreamOf = (e: Partial<SyncPagesEvent>): boolean =>
  e.mode === 'backfill' &&
  e.npns === null &&
  Number.isInteger(e.stream) &&
  Number.isInteger(e.streams) &&
  Number.isInteger(e.slices) &&
  (e.stream as number) >= 0 &&
  (e.stream as number) < (e.streams as number) &&
  (e.streams as number) <= (e.slices as number);

/** The Prepare items of a RecordRun payload; falls back to the endpoints named in the Map results if the payload lacks them. */
export function finalizeItems(event: FinalizeEvent): SyncPagesEvent[] {
  if (Array.isArray(event.endpoints) && event.endpoints.length > 0) return event.endpoints.filter((item) => isSyncTarget(item?.endpoint));
  const fromResults = (event.results ?? []).filter(
    (r): r is SyncPagesEvent =>
      typeof r === 'object' && r !== null && isSyncTarget((r as { endpoint?: unknown }).endpoint) && typeof (r as { runId?: unknown }).runId === 'string',
  );
  if (fromResults.length === 0) throw new Error('finalize needs the Prepare endpoints (event.endpoints)');
  return fromResults.map(({ runId, endpoint, mode, updatedSince, npns, passStartedAt, stream, streams, slices }) => ({
    runId,
    endpoint,
    mode,
    updatedSince,
    npns,
    ...(passStartedAt ? { passStartedAt } : {}),
    ...(stream === undefined ? {} : { stream, streams, slices }),
  }));
}

/** The Catch output `{endpoint, failed: true, error: {Error, Cause}}` of an endpoint as one readable line, if there is one. */
export function caughtError(event: FinalizeEvent, endpoint: string): string | undefined {
  const entry = (event.results ?? []).find(
    (r) => typeof r === 'object' && r !== null && (r as { endpoint?: unknown }).endpoint === endpoint && (r as { failed?: unknown }).failed === true,
  ) as { error?: unknown } | undefined;
  if (!entry) return undefined;
  const error = entry.error as { Error?: unknown; Cause?: unknown } | string | undefined;
  if (typeof error === 'string') return error.slice(0, 1_000);
  const name = typeof error?.Error === 'string' ? error.Error : 'Error';
  let message = typeof error?.Cause === 'string' ? error.Cause : '';
  try {
    // A Lambda error's Cause is the JSON {errorType, errorMessage, trace}; keep the message, not the trace.
    const cause = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
  } catch {
    // not JSON: keep it as it is
  }
  return `${name}: ${message}`.slice(0, 1_000);
}
