/**
 * One SQS batch of webhook events → Step Functions executions and NPN status changes, with a
 * partial batch response so one bad message does not hold back the others. Each event is acted on
 * once (dedup.ts) under its id as `correlation_id`.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { logger, withCorrelationId } from '#commons/logger';
import { publishCounts } from '#commons/metrics';
import { activate, deactivate } from '#dispatcher/activations';
import { onceForEvent } from '#dispatcher/dedup';
import type { DispatcherDeps } from '#dispatcher/deps';
import { failGroup, groupByEventId, type EventGroup, type FailedMessages } from '#dispatcher/event-groups';
import { runExecutionName } from '#dispatcher/execution-name';
import type { QueuedEvent } from '#webhook/queue-message';
import { EVENT_TYPES, runDateOf } from '#webhook/webhook-event';

/**
 * updates_available: one incremental run for the event's `runDate` (it reads from the watermark, so a
 * lost day is caught up). An event whose runDate is not newer than the watermark (the portal's test
 * event, a very late redelivery) is acknowledged and recorded with its reason, and starts nothing.
 */
async function startRun(deps: DispatcherDeps, event: QueuedEvent): Promise<void> {
  const runDate = runDateOf(event.data);
  await onceForEvent(deps.dedup, event, async () => {
    const { watermark } = await deps.watermarks.load();
    if (watermark !== undefined && runDate <= watermark) {
      const reason = `runDate ${runDate} is not newer than the watermark ${watermark}`;
      await deps.dedup.markDone(event.eventId, { outcome: 'skipped', reason });
      publishCounts({ EventsSkipped: 1 });
      logger.info('event acknowledged without a pull', { runDate, watermark, reason });
      return;
    }
    const { executionArn, alreadyStarted } = await deps.executions.start(runExecutionName(runDate, event.eventId), { mode: 'incremental', runDate });
    await deps.dedup.markDone(event.eventId, { executionArn, outcome: 'started' });
    logger.info('sync execution started', { executionArn, alreadyStarted, runDate });
  });
}

/** Acts on every event of the batch; activations are collected and started together at the end. */
export async function dispatchBatch(deps: DispatcherDeps, records: readonly SQSRecord[]): Promise<SQSBatchResponse> {
  const failed: FailedMessages = new Set();
  const activations: EventGroup[] = [];
  for (const group of groupByEventId(records, failed)) {
    const { eventId, type } = group.event;
    await withCorrelationId(eventId, async () => {
      try {
        if (type === EVENT_TYPES.updatesAvailable) await startRun(deps, group.event);
        else if (type === EVENT_TYPES.npnDeactivated) await deactivate(deps, group, failed);
        else if (type === EVENT_TYPES.npnActivated) activations.push(group);
        else logger.info('event type not handled; acknowledged', { eventType: type });
      } catch (error) {
        logger.error('event failed; it will be retried', { eventType: type, error: (error as Error).message });
        failGroup(failed, group);
      }
    });
  }
  if (activations.length > 0) await activate(deps, activations, failed);
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}
