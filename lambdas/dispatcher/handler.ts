import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { requiredEnv } from '#commons/env';
import { logger } from '#commons/logger';
import { EVENT_TYPES, isRunDate } from '../webhook/webhook-event.ts';
import { forgetPendingActivation, recordPendingActivation, retryPendingActivations, startBackfills, type RetrySummary } from './activations.ts';
import { claimEvent, markEventDone } from './dedup.ts';
import { runExecutionName } from './execution-name.ts';
import { writeNpnStatus } from './npn-status.ts';
import { startNamedExecution } from './start-execution.ts';

/**
 * SQS (webhook events) → Step Functions executions and NPN status changes, with a partial batch
 * response so one bad message does not hold back the others. The same function serves the scheduled
 * `{"source":"producersync.schedule","action":"retry-pending-activations"}` event.
 */
export interface ScheduledAction {
  source: 'producersync.schedule';
  action: 'retry-pending-activations';
}

export type DispatcherEvent = SQSEvent | ScheduledAction;

interface QueuedEvent {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  /** ISO time the event was generated (envelope `timestamp`, else when SQS received it). */
  timestamp: string;
}

/** One event and every SQS message that carries it (Svix may deliver it several times). */
interface EventGroup {
  event: QueuedEvent;
  messageIds: string[];
}

const NPN_PATTERN = /^\d{1,10}$/;

function parseRecord(record: SQSRecord): QueuedEvent {
  const body = JSON.parse(record.body) as { id?: unknown; type?: unknown; timestamp?: unknown; data?: unknown };
  const eventId = record.messageAttributes?.eventId?.stringValue ?? (typeof body.id === 'string' ? body.id : undefined);
  if (!eventId) throw new Error('message has no event id');
  if (typeof body.type !== 'string') throw new Error('message has no event type');
  if (body.data === null || typeof body.data !== 'object' || Array.isArray(body.data)) throw new Error('message has no data object');
  const generated = typeof body.timestamp === 'string' ? Date.parse(body.timestamp) : Number.NaN;
  const received = Number(record.attributes?.SentTimestamp);
  const timestampMs = Number.isFinite(generated) ? generated : Number.isFinite(received) ? received : Date.now();
  return { eventId, type: body.type, data: body.data as Record<string, unknown>, timestamp: new Date(timestampMs).toISOString() };
}

/** `data.npn` (one) or `data.npns` (list); numbers are tolerated because the payload is undocumented. */
export function npnsOf(data: Record<string, unknown>): string[] {
  const raw = data.npns !== undefined ? data.npns : data.npn !== undefined ? [data.npn] : undefined;
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('event data has neither "npn" nor "npns"');
  const npns = raw.map((value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value));
  const invalid = npns.filter((npn) => typeof npn !== 'string' || !NPN_PATTERN.test(npn));
  if (invalid.length > 0) throw new Error(`event data holds ${invalid.length} NPN(s) that are not 1-10 digits`);
  return [...new Set(npns as string[])];
}

function groupByEventId(records: SQSRecord[], failed: Set<string>): EventGroup[] {
  const groups = new Map<string, EventGroup>();
  for (const record of records) {
    let event: QueuedEvent;
    try {
      event = parseRecord(record);
    } catch (error) {
      logger.error('unreadable queue message', { messageId: record.messageId, error: (error as Error).message });
      failed.add(record.messageId);
      continue;
    }
    const group = groups.get(event.eventId);
    if (group) group.messageIds.push(record.messageId);
    else groups.set(event.eventId, { event, messageIds: [record.messageId] });
  }
  return [...groups.values()];
}

/** Every log line about one event carries its id, so one search finds its whole story. */
async function withCorrelationId<T>(eventId: string, work: () => Promise<T>): Promise<T> {
  logger.setCorrelationId(eventId);
  try {
    return await work();
  } finally {
    logger.removeKeys(['correlation_id']);
  }
}

interface Config {
  dataTableName: string;
  controlTableName: string;
  stateMachineArn: string;
}

const config = (): Config => ({
  dataTableName: requiredEnv('DATA_TABLE_NAME'),
  controlTableName: requiredEnv('CONTROL_TABLE_NAME'),
  stateMachineArn: requiredEnv('STATE_MACHINE_ARN'),
});

async function startRun(cfg: Config, event: QueuedEvent): Promise<void> {
  const runDate = event.data.runDate;
  if (!isRunDate(runDate)) throw new Error('updates_available event has no yyyy-MM-dd data.runDate');
  if ((await claimEvent(cfg.controlTableName, event.eventId, event.type)) === 'already-done') {
    logger.info('duplicate event acknowledged');
    return;
  }
  const { executionArn, alreadyStarted } = await startNamedExecution(cfg.stateMachineArn, runExecutionName(runDate, event.eventId), { runDate });
  await markEventDone(cfg.controlTableName, event.eventId, { executionArn });
  logger.info('sync execution started', { executionArn, alreadyStarted, runDate });
}

async function deactivate(cfg: Config, event: QueuedEvent): Promise<void> {
  const npns = npnsOf(event.data);
  if ((await claimEvent(cfg.controlTableName, event.eventId, event.type)) === 'already-done') {
    logger.info('duplicate event acknowledged');
    return;
  }
  const outcomes: Record<string, number> = { written: 0, unchanged: 0, superseded: 0 };
  for (const npn of npns) {
    const outcome = await writeNpnStatus(cfg.dataTableName, { npn, status: 'DEACTIVATED', eventId: event.eventId, eventTimestamp: event.timestamp });
    outcomes[outcome]!++;
    // A deactivated NPN must not be backfilled again (a per-NPN read could subscribe it again); a newer activation wins.
    if (outcome !== 'superseded') await forgetPendingActivation(cfg.controlTableName, npn);
  }
  await markEventDone(cfg.controlTableName, event.eventId);
  logger.info('NPNs deactivated', { npnCount: npns.length, statusItems: outcomes });
}

interface ClaimedActivation {
  group: EventGroup;
  /** The event's NPNs that are active now (not deactivated by a newer event). */
  npns: string[];
}

/** Every activation in the batch goes into one backfill execution (one per 5,000 NPNs). */
async function activate(cfg: Config, groups: EventGroup[], failed: Set<string>): Promise<void> {
  const claimed: ClaimedActivation[] = [];
  for (const group of groups) {
    const { event } = group;
    await withCorrelationId(event.eventId, async () => {
      try {
        const npns = npnsOf(event.data);
        if ((await claimEvent(cfg.controlTableName, event.eventId, event.type)) === 'already-done') {
          logger.info('duplicate event acknowledged');
          return;
        }
        const active: string[] = [];
        for (const npn of npns) {
          const outcome = await writeNpnStatus(cfg.dataTableName, { npn, status: 'ACTIVE', eventId: event.eventId, eventTimestamp: event.timestamp });
          if (outcome === 'superseded') logger.info('activation older than a deactivation of the same NPN; not backfilled', { npn });
          else active.push(npn);
        }
        claimed.push({ group, npns: active });
      } catch (error) {
        logger.error('activation event failed', { error: (error as Error).message });
        for (const id of group.messageIds) failed.add(id);
      }
    });
  }
  if (claimed.length === 0) return;

  const nowMs = Date.now();
  let arnByNpn = new Map<string, string>();
  const npns = claimed.flatMap((c) => c.npns);
  try {
    if (npns.length > 0) arnByNpn = await startBackfills(cfg.stateMachineArn, 'activation', npns, nowMs);
  } catch (error) {
    logger.error('could not start the activation backfill', { eventIds: claimed.map((c) => c.group.event.eventId), error: (error as Error).message });
    for (const { group } of claimed) for (const id of group.messageIds) failed.add(id);
    return;
  }
  for (const { group, npns: active } of claimed) {
    const { event } = group;
    await withCorrelationId(event.eventId, async () => {
      try {
        for (const npn of active) {
          await recordPendingActivation(cfg.controlTableName, { npn, executionArn: arnByNpn.get(npn)!, eventId: event.eventId }, nowMs);
        }
        const executionArn = active[0] === undefined ? undefined : arnByNpn.get(active[0]);
        await markEventDone(cfg.controlTableName, event.eventId, executionArn ? { executionArn } : {});
        logger.info('NPNs activated', { npnCount: active.length, executionArn });
      } catch (error) {
        logger.error('activation event failed', { error: (error as Error).message });
        for (const id of group.messageIds) failed.add(id);
      }
    });
  }
}

async function dispatchBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const cfg = config();
  const failed = new Set<string>();
  const activations: EventGroup[] = [];
  for (const group of groupByEventId(event.Records, failed)) {
    const { eventId, type } = group.event;
    await withCorrelationId(eventId, async () => {
      try {
        if (type === EVENT_TYPES.updatesAvailable) await startRun(cfg, group.event);
        else if (type === EVENT_TYPES.npnDeactivated) await deactivate(cfg, group.event);
        else if (type === EVENT_TYPES.npnActivated) activations.push(group);
        else logger.info('event type not handled; acknowledged', { eventType: type });
      } catch (error) {
        logger.error('event failed; it will be retried', { eventType: type, error: (error as Error).message });
        for (const id of group.messageIds) failed.add(id);
      }
    });
  }
  if (activations.length > 0) await activate(cfg, activations, failed);
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

const isScheduledRetry = (event: unknown): event is ScheduledAction =>
  (event as ScheduledAction)?.source === 'producersync.schedule' && (event as ScheduledAction)?.action === 'retry-pending-activations';

export async function handler(event: SQSEvent): Promise<SQSBatchResponse>;
export async function handler(event: ScheduledAction): Promise<RetrySummary>;
export async function handler(event: DispatcherEvent): Promise<SQSBatchResponse | RetrySummary>;
export async function handler(event: DispatcherEvent): Promise<SQSBatchResponse | RetrySummary> {
  if ('Records' in event && Array.isArray(event.Records)) return dispatchBatch(event);
  if (isScheduledRetry(event)) return retryPendingActivations(config());
  throw new Error('dispatcher received an event it does not handle');
}
