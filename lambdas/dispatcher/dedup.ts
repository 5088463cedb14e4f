/**
 * Event dedup in the control table (`EVENT#<id>` / `EVENT`). An event is claimed as PENDING before
 * its action and marked DONE only after the action succeeded, so a crash in between is retried, not
 * lost. A PENDING item may be claimed again: every action is idempotent on its own (deterministic
 * execution names, conditional status writes), the dedup only saves repeating finished work. An
 * event whose NPNs are worked in steps (activations.ts) notes how far it got (`npnsDone`), so a
 * redelivery after a stop part-way resumes there.
 * The store interface, its DynamoDB adapter, and `onceForEvent`, the one claim-or-skip step.
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { logger } from '#commons/logger';

/** How long a dedup item is kept (TTL): far beyond Svix's retry schedule of about a day. */
export const EVENT_TTL_DAYS = 30;

/** `claimed`: go ahead; `already-done`: an earlier delivery finished this event. */
export type ClaimOutcome = 'claimed' | 'already-done';

/** A claim, and how far an earlier delivery of the event got. */
export interface Claim {
  outcome: ClaimOutcome;
  /** The event's NPNs (in its own order) an earlier delivery already handled; 0 for a first delivery. */
  npnsDone: number;
}

/** What the dispatcher did with an event, recorded on its dedup item. */
export interface EventOutcome {
  /** The execution it started, if any. */
  executionArn?: string;
  /** `started` a run, or `skipped` it (with the `reason`, e.g. a runDate not newer than the watermark). */
  outcome?: 'started' | 'skipped';
  reason?: string;
}

/** Where event claims are kept. */
export interface EventDedup {
  /** Claims the event (PENDING) unless it is DONE; keeps the progress an earlier delivery noted. */
  claim(eventId: string, type: string): Promise<Claim>;
  /** Notes that the first `npnsDone` NPNs of a claimed event are handled. */
  saveProgress(eventId: string, npnsDone: number): Promise<void>;
  /** Marks the event DONE, with what was done (the execution it started, or why it started nothing). */
  markDone(eventId: string, details?: EventOutcome): Promise<void>;
}

/** Options of `createDynamoEventDedup`. */
export interface DynamoEventDedupOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
  /** @default Date.now */
  now?: () => number;
}

const eventKey = (eventId: string) => marshall({ pk: `EVENT#${eventId}`, sk: 'EVENT' });
const expiresAt = (nowMs: number): number => Math.floor(nowMs / 1000) + EVENT_TTL_DAYS * 24 * 3600;

/** The event dedup on the DynamoDB control table. */
export function createDynamoEventDedup({ client, tableName, now = Date.now }: DynamoEventDedupOptions): EventDedup {
  return {
    async claim(eventId, type) {
      const nowMs = now();
      try {
        // An update, not a put: a PENDING item keeps the progress an earlier delivery noted.
        const out = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: eventKey(eventId),
            UpdateExpression: 'SET #type = :type, #status = :pending, claimedAt = :claimedAt, expiresAt = :expiresAt',
            ConditionExpression: 'attribute_not_exists(pk) OR #status = :pending',
            ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
            ExpressionAttributeValues: marshall({ ':type': type, ':pending': 'PENDING', ':claimedAt': new Date(nowMs).toISOString(), ':expiresAt': expiresAt(nowMs) }),
            ReturnValues: 'ALL_OLD',
          }),
        );
        const npnsDone = out.Attributes ? unmarshall(out.Attributes).npnsDone : undefined;
        return { outcome: 'claimed', npnsDone: typeof npnsDone === 'number' ? npnsDone : 0 };
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return { outcome: 'already-done', npnsDone: 0 };
        throw error;
      }
    },

    async saveProgress(eventId, npnsDone) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: eventKey(eventId),
          UpdateExpression: 'SET npnsDone = :done',
          ExpressionAttributeValues: marshall({ ':done': npnsDone }),
        }),
      );
    },

    async markDone(eventId, details = {}) {
      const values: Record<string, unknown> = { ':done': 'DONE', ':doneAt': new Date(now()).toISOString() };
      let update = 'SET #status = :done, doneAt = :doneAt';
      for (const name of ['executionArn', 'outcome', 'reason'] as const) {
        const value = details[name];
        if (value === undefined) continue;
        update += `, ${name} = :${name}`;
        values[`:${name}`] = value;
      }
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: eventKey(eventId),
          UpdateExpression: update,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall(values),
        }),
      );
    },
  };
}

/**
 * Runs `work` for an event unless an earlier delivery finished it: claims the event first, and
 * acknowledges a duplicate with a log line instead. `work` marks the event done when its action
 * has succeeded. Returns `work`'s result, or undefined for a duplicate.
 */
export async function onceForEvent<T>(dedup: EventDedup, event: { eventId: string; type: string }, work: (claim: Claim) => Promise<T>): Promise<T | undefined> {
  const claim = await dedup.claim(event.eventId, event.type);
  if (claim.outcome === 'already-done') {
    // Named on the line itself: activations claim several events at once.
    logger.info('duplicate event acknowledged', { correlation_id: event.eventId });
    return undefined;
  }
  return work(claim);
}
