/**
 * `Prepare` task (Lambda `producersync-prepare`): validates the execution input, writes the RUNNING
 * run record and fans the run out into one Map item per endpoint (docs/SYNC.md, step 1). Bad input
 * throws `InvalidInput` (caught → Fail).
 */
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import type { PrepareEvent, PrepareResult } from '#sync/events';
import { createDynamoRunStore } from '#sync/run-record';
import { parseSyncInput, syncEndpoints } from '#sync/sync-input';

/** The Prepare handler. */
export const handler = async (event: PrepareEvent, context?: Context): Promise<PrepareResult> => {
  addLambdaContext(context);
  const runId = event?.executionName;
  // A wiring error, not bad user input: let it fail loudly rather than as InvalidInput.
  if (typeof runId !== 'string' || runId === '') throw new Error('executionName is missing from the Prepare payload');
  logger.setCorrelationId(runId);
  const { mode, runDate, updatedSince, npns } = parseSyncInput(event.input);
  const endpoints = syncEndpoints();
  const startedAt = typeof event.startTime === 'string' && !Number.isNaN(Date.parse(event.startTime)) ? event.startTime : new Date().toISOString();

  const runs = createDynamoRunStore({ client: dynamoClient(), tableName: requiredEnv('CONTROL_TABLE_NAME') });
  await runs.start({ runId, mode, ...(runDate ? { runDate } : {}), ...(npns ? { npns } : {}), startedAt });
  logger.info('run prepared', { runId, mode, updatedSince, npnCount: npns?.length ?? null, endpoints });

  return { runId, mode, updatedSince, npns, endpoints: endpoints.map((endpoint) => ({ runId, endpoint, mode, updatedSince, npns })) };
};
