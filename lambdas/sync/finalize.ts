import { dynamoClient } from '#commons/clients';
import { requiredEnv } from '#commons/env';
import { logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { isEndpointName } from '#producersync/endpoints';
import { COUNT_NAMES, createCheckpointStore, emptyCounts, type EndpointCounts } from '#sync/checkpoint';
import type { EndpointSummary, FailedEndpoint, FinalizeEvent, FinalizeResult, SyncPagesEvent } from '#sync/events';
import { finishRun, loadRun } from '#sync/run-record';

/**
 * `RecordRun` task: the checkpoints are the truth (a Map result can be stale after ResumeFailed),
 * so an endpoint succeeded iff its checkpoint is `done`. Writes the run record and returns the
 * Map items of the endpoints still to finish.
 */
export const handler = async (event: FinalizeEvent): Promise<FinalizeResult> => {
  const runId = event?.runId;
  if (typeof runId !== 'string' || runId === '') throw new Error('finalize needs {runId, endpoints, results}');
  logger.setCorrelationId(runId);
  const items = endpointItems(event);
  const client = dynamoClient();
  const tableName = requiredEnv('CONTROL_TABLE_NAME');
  const checkpoints = createCheckpointStore({ client, tableName });

  const [run, ...loaded] = await Promise.all([loadRun(client, tableName, runId), ...items.map((item) => checkpoints.load(runId, item.endpoint))]);

  const endpoints: Record<string, EndpointSummary> = {};
  const totals = emptyCounts();
  const failed: FailedEndpoint[] = [];
  const toResume: SyncPagesEvent[] = [];
  items.forEach((item, index) => {
    const checkpoint = loaded[index];
    const summary: EndpointSummary = emptyCounts();
    for (const name of COUNT_NAMES) summary[name] = checkpoint?.[name] ?? 0;
    if (checkpoint?.unsupported) summary.unsupported = true;
    endpoints[item.endpoint] = summary;
    addCounts(totals, summary);
    if (!checkpoint?.done) {
      failed.push({ endpoint: item.endpoint, error: mapError(event, item.endpoint) ?? checkpoint?.lastError ?? 'did not finish' });
      toResume.push(item);
    }
  });

  const status = failed.length === 0 ? 'SUCCEEDED' : 'FAILED';
  const finishedAt = new Date();
  const startedAtMs = typeof run?.startedAt === 'string' ? Date.parse(run.startedAt) : Number.NaN;
  await finishRun(client, tableName, runId, {
    status,
    finishedAt: finishedAt.toISOString(),
    durationMs: Number.isNaN(startedAtMs) ? 0 : Math.max(0, finishedAt.getTime() - startedAtMs),
    endpoints,
    totals,
    failedEndpoints: failed,
  });
  if (status === 'SUCCEEDED') publishCounts({ RunsSucceeded: 1 });
  logger.info('run recorded', { status, totals, failedEndpoints: failed });
  return { status, failedEndpoints: toResume };
};

function addCounts(into: EndpointCounts, add: EndpointCounts): void {
  for (const name of COUNT_NAMES) into[name] += add[name];
}

/** The Prepare items; falls back to the endpoints named in the Map results if the payload lacks them. */
function endpointItems(event: FinalizeEvent): SyncPagesEvent[] {
  if (Array.isArray(event.endpoints) && event.endpoints.length > 0) return event.endpoints.filter((item) => isEndpointName(item?.endpoint));
  const fromResults = (event.results ?? []).filter(
    (r): r is SyncPagesEvent =>
      typeof r === 'object' && r !== null && isEndpointName((r as { endpoint?: unknown }).endpoint) && typeof (r as { runId?: unknown }).runId === 'string',
  );
  if (fromResults.length === 0) throw new Error('finalize needs the Prepare endpoints (event.endpoints)');
  return fromResults.map(({ runId, endpoint, mode, updatedSince, npns }) => ({ runId, endpoint, mode, updatedSince, npns }));
}

/** The Catch output `{endpoint, failed: true, error: {Error, Cause}}` as one readable line. */
function mapError(event: FinalizeEvent, endpoint: string): string | undefined {
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
