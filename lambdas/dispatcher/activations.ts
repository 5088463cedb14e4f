import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoClient, sfnClient } from '#commons/clients';
import { logger } from '#commons/logger';
import { backfillExecutionName } from './execution-name.ts';
import { startNamedExecution } from './start-execution.ts';

/**
 * Newly activated NPNs: AgentSync fetches their data on its next daily cycle, so the first backfill
 * often finds nothing. Each activated NPN is kept as a pending activation (`ACTIVATION#<npn>` / `PENDING`)
 * until the data table holds a record for it; a scheduled run re-backfills the empty ones for a few
 * days, then gives up with a log line.
 *
 * Pending items also carry `kind = "pendingActivation"` and `startedAt` so the control table's
 * `byKind` index lists them without a scan.
 */
export const PENDING_ACTIVATION_KIND = 'pendingActivation';
export const RETRY_DELAY_MS = 20 * 3600 * 1000;
export const GIVE_UP_AFTER_MS = 7 * 24 * 3600 * 1000;
/** Keeps one execution input far below the 256 KB Step Functions limit. */
export const MAX_NPNS_PER_BACKFILL = 5000;

export interface PendingActivation {
  npn: string;
  attempts: number;
  firstSeenAt: string;
  nextAttemptAt: string;
  executionArn?: string;
  eventId?: string;
}

export interface ActivationTables {
  dataTableName: string;
  controlTableName: string;
  stateMachineArn: string;
}

const pendingKey = (npn: string) => marshall({ pk: `ACTIVATION#${npn}`, sk: 'PENDING' });
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One `{"mode":"backfill","npns":[...]}` execution per chunk of NPNs; returns each NPN's execution ARN. */
export async function startBackfills(
  stateMachineArn: string,
  kind: 'activation' | 'activation-retry',
  npns: readonly string[],
  nowMs: number,
): Promise<Map<string, string>> {
  const arnByNpn = new Map<string, string>();
  const sorted = [...new Set(npns)].sort();
  for (const group of chunk(sorted, MAX_NPNS_PER_BACKFILL)) {
    const name = backfillExecutionName(kind, isoDay(nowMs), group);
    const { executionArn, alreadyStarted } = await startNamedExecution(stateMachineArn, name, { mode: 'backfill', npns: group });
    logger.info('backfill execution started', { executionArn, alreadyStarted, npnCount: group.length });
    for (const npn of group) arnByNpn.set(npn, executionArn);
  }
  return arnByNpn;
}

export async function recordPendingActivation(
  controlTableName: string,
  activation: { npn: string; executionArn: string; eventId: string },
  nowMs: number,
): Promise<void> {
  const firstSeenAt = new Date(nowMs).toISOString();
  await dynamoClient().send(
    new PutItemCommand({
      TableName: controlTableName,
      Item: marshall({
        pk: `ACTIVATION#${activation.npn}`,
        sk: 'PENDING',
        kind: PENDING_ACTIVATION_KIND,
        startedAt: firstSeenAt,
        npn: activation.npn,
        attempts: 1,
        firstSeenAt,
        nextAttemptAt: new Date(nowMs + RETRY_DELAY_MS).toISOString(),
        executionArn: activation.executionArn,
        eventId: activation.eventId,
        // Safety net only: the retry run deletes the item when it resolves or gives up.
        expiresAt: Math.floor((nowMs + GIVE_UP_AFTER_MS * 2) / 1000),
      }),
    }),
  );
}

export async function forgetPendingActivation(controlTableName: string, npn: string): Promise<void> {
  await dynamoClient().send(new DeleteItemCommand({ TableName: controlTableName, Key: pendingKey(npn) }));
}

async function listPendingActivations(controlTableName: string): Promise<PendingActivation[]> {
  const npns: string[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamoClient().send(
      new QueryCommand({
        TableName: controlTableName,
        IndexName: 'byKind',
        KeyConditionExpression: 'kind = :kind',
        ExpressionAttributeValues: marshall({ ':kind': PENDING_ACTIVATION_KIND }),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = unmarshall(item).pk;
      if (typeof pk === 'string' && pk.startsWith('ACTIVATION#')) npns.push(pk.slice('ACTIVATION#'.length));
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  // The index may project keys only, and lags the table: read each item itself.
  const out: PendingActivation[] = [];
  for (const npn of npns) {
    const got = await dynamoClient().send(new GetItemCommand({ TableName: controlTableName, Key: pendingKey(npn), ConsistentRead: true }));
    if (got.Item) out.push(unmarshall(got.Item) as PendingActivation);
  }
  return out;
}

/** What the data table knows about an NPN: any source record yet, and its status item. */
async function npnDataState(dataTableName: string, npn: string): Promise<{ hasRecords: boolean; status?: string }> {
  // `STATUS` sorts before every lower-case `<recordType>#<id>` key, so two items are enough to see both.
  const page = await dynamoClient().send(
    new QueryCommand({
      TableName: dataTableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `NPN#${npn}` }),
      ProjectionExpression: 'sk, #status',
      ExpressionAttributeNames: { '#status': 'status' },
      Limit: 2,
    }),
  );
  const items = (page.Items ?? []).map((item) => unmarshall(item));
  const statusItem = items.find((item) => item.sk === 'STATUS');
  return { hasRecords: items.some((item) => item.sk !== 'STATUS'), status: statusItem?.status as string | undefined };
}

async function executionStillRunning(executionArn: string | undefined): Promise<boolean> {
  if (!executionArn) return false;
  try {
    const out = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
    return out.status === 'RUNNING' || out.status === 'PENDING_REDRIVE';
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return false;
    throw error;
  }
}

export interface RetrySummary {
  pending: number;
  resolved: number;
  deactivated: number;
  gaveUp: number;
  waiting: number;
  retried: number;
  executions: string[];
}

/** The scheduled `retry-pending-activations` run. */
export async function retryPendingActivations(tables: ActivationTables, nowMs = Date.now()): Promise<RetrySummary> {
  const pending = await listPendingActivations(tables.controlTableName);
  const summary: RetrySummary = { pending: pending.length, resolved: 0, deactivated: 0, gaveUp: 0, waiting: 0, retried: 0, executions: [] };
  const due: PendingActivation[] = [];
  for (const item of pending) {
    const state = await npnDataState(tables.dataTableName, item.npn);
    if (state.hasRecords) {
      await forgetPendingActivation(tables.controlTableName, item.npn);
      summary.resolved++;
      continue;
    }
    if (state.status === 'DEACTIVATED') {
      await forgetPendingActivation(tables.controlTableName, item.npn);
      summary.deactivated++;
      continue;
    }
    // Checked before "still running" so a stuck execution cannot keep an NPN pending forever.
    if (nowMs - Date.parse(item.firstSeenAt) >= GIVE_UP_AFTER_MS) {
      logger.warn('activated NPN still has no data; giving up on backfill retries', { npn: item.npn, attempts: item.attempts, firstSeenAt: item.firstSeenAt });
      await forgetPendingActivation(tables.controlTableName, item.npn);
      summary.gaveUp++;
      continue;
    }
    if (Date.parse(item.nextAttemptAt) > nowMs || (await executionStillRunning(item.executionArn))) {
      summary.waiting++;
      continue;
    }
    due.push(item);
  }
  if (due.length === 0) return summary;

  const arnByNpn = await startBackfills(tables.stateMachineArn, 'activation-retry', due.map((item) => item.npn), nowMs);
  summary.executions = [...new Set(arnByNpn.values())];
  for (const item of due) {
    await dynamoClient().send(
      new PutItemCommand({
        TableName: tables.controlTableName,
        Item: marshall(
          {
            ...item,
            pk: `ACTIVATION#${item.npn}`,
            sk: 'PENDING',
            attempts: item.attempts + 1,
            nextAttemptAt: new Date(nowMs + RETRY_DELAY_MS).toISOString(),
            executionArn: arnByNpn.get(item.npn),
          },
          { removeUndefinedValues: true },
        ),
      }),
    );
    summary.retried++;
  }
  logger.info('pending activations retried', { ...summary });
  return summary;
}
