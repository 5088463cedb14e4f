/**
 * The stream contract's classification (docs/STREAM-CONTRACT.md §5): what one data table stream record
 * means to a consumer. One home for the rule: the example consumer, the change feed publisher and the
 * CLI's change log all classify with it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';

/**
 * What happened to an item, as a consumer cares about it. `missing-from-source`: a reconcile found the
 * API no longer returns the record (item kept, `missingFromSource` set); `returned`: the API returns it again.
 */
export type ChangeKind = 'created' | 'updated' | 'soft-deleted' | 'restored' | 'missing-from-source' | 'returned' | 'removed' | 'npn-status';

/** One stream record, classified. */
export interface Change {
  kind: ChangeKind;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  pk: string;
  sk: string;
  recordType?: string;
  npn?: string;
  /** Approximate stream time, from the stream record. */
  at?: string;
  newItem?: Record<string, unknown>;
  oldItem?: Record<string, unknown>;
}

const image = (value: Record<string, unknown> | undefined): Record<string, unknown> | undefined =>
  value ? unmarshall(value as Record<string, AttributeValue>) : undefined;

/** The change a stream record stands for. */
export function classify(record: DynamoDBRecord): Change {
  const eventName = record.eventName;
  if (eventName !== 'INSERT' && eventName !== 'MODIFY' && eventName !== 'REMOVE') throw new Error(`unexpected stream eventName ${String(eventName)}`);
  const newItem = image(record.dynamodb?.NewImage);
  const oldItem = image(record.dynamodb?.OldImage);
  const keys = image(record.dynamodb?.Keys) ?? {};
  const item = newItem ?? oldItem ?? keys;
  const recordType = typeof item.recordType === 'string' ? item.recordType : undefined;
  let kind: ChangeKind;
  if (recordType === 'npnStatus' && eventName !== 'REMOVE') kind = 'npn-status';
  else if (eventName === 'REMOVE') kind = 'removed';
  else if (newItem?.deleted === true && oldItem?.deleted !== true) kind = 'soft-deleted';
  else if (eventName === 'MODIFY' && oldItem?.deleted === true && newItem?.deleted !== true) kind = 'restored';
  else if (eventName === 'MODIFY' && newItem?.missingFromSource !== undefined && oldItem?.missingFromSource === undefined) kind = 'missing-from-source';
  else if (eventName === 'MODIFY' && oldItem?.missingFromSource !== undefined && newItem?.missingFromSource === undefined) kind = 'returned';
  else kind = eventName === 'INSERT' ? 'created' : 'updated';
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return {
    kind,
    eventName,
    pk: String(keys.pk ?? item.pk),
    sk: String(keys.sk ?? item.sk),
    recordType,
    npn: typeof item.npn === 'string' ? item.npn : undefined,
    at: seconds ? new Date(seconds * 1000).toISOString() : undefined,
    newItem,
    oldItem,
  };
}
