/**
 * `RecordRun` task (Lambda `producersync-finalize`): reads the endpoints' checkpoints, writes the run
 * record and returns the Map items of the endpoints still to finish (docs/SYNC.md, step 3).
 */
import type { Context } from 'aws-lambda';
import { dynamoClient } from '#commons/dynamo-client';
import { requiredEnv } from '#commons/env';
import { addLambdaContext, logger } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { createDynamoCheckpointStore } from '#sync/checkpoint';
import { finalizeItems, type FinalizeEvent, type FinalizeResult } from '#sync/events';
import { createDynamoRunStore } from '#sync/run-record';
import { summarizeRun } from '#sync/run-summary';

/** The RecordRun handler. */
export const handler = async (event: FinalizeEvent, context?: Context): Promise<FinalizeResult> => {
  addLambdaContext(context);
  const runId = event?.runId;
  if (typeof runId !== 'string' || runId === '') throw new Error('finalize needs {runId, endpoints, results}');
  logger.setCorrelationId(runId);
  const items = finalizeItems(event);
  const store = { client: dynamoClient(), tableName: requiredEnv('CONTROL_TABLE_NAME') };
  const runs = createDynamoRunStore(store);
  const checkpoints = createDynamoCheckpointStore(store);

  const [run, ...loaded] = await Promise.all([runs.load(runId), ...items.map((item) => checkpoints.load(runId, item.endpoint))]);
  const { toResume, ...summary } = summarizeRun(event, items, loaded);
  const finishedAt = new Date();
  const startedAtMs = run?.startedAt === undefined ? Number.NaN : Date.parse(run.startedAt);
  await runs.finish(runId, {
    ...summary,
    finishedAt: finishedAt.toISOString(),
    durationMs: Number.isNaN(startedAtMs) ? 0 : Math.max(0, finishedAt.getTime() - startedAtMs),
  });
  if (summary.status === 'SUCCEEDED') publishCounts({ RunsSucceeded: 1 });
  logger.info('run recorded', { status: summary.status, totals: summary.totals, failedEndpoints: summary.failedEndpoints });
  return { status: summary.status, failedEndpoints: toResume };
};
