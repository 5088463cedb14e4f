import { dynamoClient } from '#commons/clients';
import { requiredEnv } from '#commons/env';
import { logger } from '#commons/logger';
import type { PrepareEvent, PrepareResult } from '#sync/events';
import { startRun } from '#sync/run-record';
import { parseSyncInput, syncEndpoints } from '#sync/sync-input';

/**
 * `Prepare` task: validates the execution input, writes the RUNNING run record and fans the run
 * out into one Map item per endpoint. Bad input throws `InvalidInput` (caught → Fail).
 */
export const handler = async (event: PrepareEvent): Promise<PrepareResult> => {
  const runId = event?.executionName;
  // A wiring error, not bad user input: let it fail loudly rather than as InvalidInput.
  if (typeof runId !== 'string' || runId === '') throw new Error('executionName is missing from the Prepare payload');
  logger.setCorrelationId(runId);
  const request = parseSyncInput(event.input);
  const endpoints = syncEndpoints();
  const startedAt = typeof event.startTime === 'string' && !Number.isNaN(Date.parse(event.startTime)) ? event.startTime : new Date().toISOString();

  await startRun(dynamoClient(), requiredEnv('CONTROL_TABLE_NAME'), {
    runId,
    mode: request.mode,
    ...(request.runDate ? { runDate: request.runDate } : {}),
    ...(request.npns ? { npns: request.npns } : {}),
    startedAt,
  });
  logger.info('run prepared', { runId, mode: request.mode, updatedSince: request.updatedSince, npnCount: request.npns?.length ?? null, endpoints });

  const { mode, updatedSince, npns } = request;
  return {
    runId,
    mode,
    updatedSince,
    npns,
    endpoints: endpoints.map((endpoint) => ({ runId, endpoint, mode, updatedSince, npns })),
  };
};
