import type { EndpointName } from '#producersync/endpoints';
import type { EndpointCounts } from '#sync/checkpoint';

/** The payloads between the sync state machine and its Lambdas (docs/ARCHITECTURE.md, docs/SYNC.md). */
export type SyncMode = 'incremental' | 'backfill';

/** State machine input. */
export type SyncInput = { runDate: string } | { mode: 'backfill'; npns?: string[] };

/** `Prepare` payload: `{input: $, executionName: $$.Execution.Name, startTime: $$.Execution.StartTime}`. */
export interface PrepareEvent {
  input: unknown;
  executionName: string;
  startTime?: string;
}

/** One Map item: the `sync-pages` event. */
export interface SyncPagesEvent {
  runId: string;
  endpoint: EndpointName;
  mode: SyncMode;
  updatedSince: string | null;
  npns: string[] | null;
}

export interface PrepareResult {
  runId: string;
  mode: SyncMode;
  updatedSince: string | null;
  npns: string[] | null;
  endpoints: SyncPagesEvent[];
}

export interface SyncPagesResult extends SyncPagesEvent {
  done: boolean;
  waitSeconds: number;
  /** Pages fetched by this invocation. */
  pages: number;
}

/** What the Map's Catch leaves for an endpoint that still failed after the task retries. */
export interface FailedEndpointResult {
  endpoint: EndpointName;
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

export interface FailedEndpoint {
  endpoint: EndpointName;
  error: string;
}

export interface FinalizeResult {
  status: 'SUCCEEDED' | 'FAILED';
  /** The Map items to run again (the `ResumeFailed` Map iterates over these). */
  failedEndpoints: SyncPagesEvent[];
}

export type EndpointSummary = EndpointCounts & { unsupported?: boolean };
