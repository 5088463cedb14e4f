/**
 * The change feed's event (docs/STREAM-CONTRACT.md §7.2): one typed, versioned JSON document per change
 * of a data-table item, built from its stream record. The fields a team's feed filters on
 * (`recordType`, `npn`, `forState`) sit at the top level of the body, where SNS filter policies with
 * the MessageBody scope read them.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { classify, type ChangeKind } from '#commons/stream-change';

/** `type` of every change event. */
export const CHANGE_EVENT_TYPE = 'producersync.change';
/** Bumped only for a change that breaks consumers; new optional fields keep the version. */
export const CHANGE_EVENT_VERSION = 1;
/** SNS's default largest message, body and attributes together (PublishBatch: the whole request too). */
export const MAX_MESSAGE_BYTES = 262_144;

/** What the item looked like before a MODIFY or REMOVE (the rest is in the previous event of the same item). */
export interface PreviousVersion {
  updatedAt?: string;
  contentHash?: string;
  deleted?: boolean;
  changedAt?: string;
  /** npnStatus items. */
  status?: string;
}

export interface ChangeEvent {
  type: typeof CHANGE_EVENT_TYPE;
  version: typeof CHANGE_EVENT_VERSION;
  /** The stream record's eventID: unique per change, the same when a batch is retried (the deduplication id). */
  id: string;
  /** created | updated | soft-deleted | restored | removed | npn-status (docs/STREAM-CONTRACT.md §5). */
  change: ChangeKind;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** Endpoint name (`licenses`, ...) or `npnStatus`. */
  recordType: string;
  npn: string;
  /** The record's `forState`; absent for records that belong to no state (entities, NPN status). */
  forState?: string;
  key: { pk: string; sk: string };
  /** When DynamoDB recorded the change (stream time, ISO, second precision). */
  at?: string;
  /** Stream sequence number: orders the changes of one item. */
  sequenceNumber?: string;
  /** The item after the change (for `removed`: as it was), unmarshalled; absent when `itemOmitted` is set. */
  item?: Record<string, unknown>;
  /** The item did not fit in one message: read it from the table by `key` (GetItem) when you need it. */
  itemOmitted?: 'too-large';
  previous?: PreviousVersion;
}

const image = (value: Record<string, unknown> | undefined): Record<string, unknown> | undefined =>
  value ? unmarshall(value as Record<string, AttributeValue>) : undefined;

function previousOf(old: Record<string, unknown> | undefined): PreviousVersion | undefined {
  if (!old) return undefined;
  const previous: PreviousVersion = {};
  if (typeof old.updatedAt === 'string') previous.updatedAt = old.updatedAt;
  if (typeof old.contentHash === 'string') previous.contentHash = old.contentHash;
  if (typeof old.deleted === 'boolean') previous.deleted = old.deleted;
  if (typeof old.changedAt === 'string') previous.changedAt = old.changedAt;
  if (typeof old.status === 'string') previous.status = old.status;
  return previous;
}

/** A two-letter `forState` of the item's record, if it has one. */
function forStateOf(item: Record<string, unknown> | undefined): string | undefined {
  const record = item?.record as Record<string, unknown> | undefined;
  return typeof record?.forState === 'string' && /^[A-Z]{2}$/.test(record.forState) ? record.forState : undefined;
}

/** The change event of one stream record. Throws on a record that is not a data-table change. */
export function changeEventOf(record: DynamoDBRecord): ChangeEvent {
  const change = classify(record);
  const id = record.eventID;
  if (!id) throw new Error(`stream record of ${change.pk}/${change.sk} has no eventID`);
  const npn = change.npn ?? change.pk.replace(/^NPN#/, '');
  const item = change.eventName === 'REMOVE' ? change.oldItem : change.newItem;
  const forState = forStateOf(item);
  const previous = change.eventName === 'INSERT' ? undefined : previousOf(image(record.dynamodb?.OldImage));
  return {
    type: CHANGE_EVENT_TYPE,
    version: CHANGE_EVENT_VERSION,
    id,
    change: change.kind,
    eventName: change.eventName,
    recordType: change.recordType ?? change.sk.split('#')[0] ?? 'unknown',
    npn,
    ...(forState ? { forState } : {}),
    key: { pk: change.pk, sk: change.sk },
    ...(change.at ? { at: change.at } : {}),
    ...(record.dynamodb?.SequenceNumber ? { sequenceNumber: record.dynamodb.SequenceNumber } : {}),
    ...(item ? { item } : {}),
    ...(previous ? { previous } : {}),
  };
}

/** UTF-8 size of a message body. */
export const messageBytes = (body: string): number => Buffer.byteLength(body, 'utf8');

/**
 * The message body of an event: the JSON document, or, when it would not fit in one SNS message
 * (an item near DynamoDB's 400 KB limit), the same document without `item` and with `itemOmitted`.
 */
export function messageBodyOf(event: ChangeEvent, maxBytes = MAX_MESSAGE_BYTES): { body: string; itemOmitted: boolean } {
  const whole = JSON.stringify(event);
  if (messageBytes(whole) <= maxBytes) return { body: whole, itemOmitted: false };
  const { item: _tooLarge, ...rest } = event;
  return { body: JSON.stringify({ ...rest, itemOmitted: 'too-large' } satisfies ChangeEvent), itemOmitted: true };
}
