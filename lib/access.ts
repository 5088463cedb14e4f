import { CHANGE_INDEX_NAME } from '#sync/change-index';
import type { TableAccess } from './grants.ts';

/**
 * Per function, the DynamoDB item actions its code calls, read from lambdas/ (the one list to extend
 * when a handler adds a call). Everything else a function may do is granted beside it in its stack.
 */
export const TABLE_ACCESS = {
  // sync/run-record.ts start and lastCompleteFullRun (Query on byKind); sync/watermark.ts (GetItem, the initial load's
  // conditional UpdateItem); sync/run-lease.ts hold; a full pull's partitions: sync/slice-store.ts put (PutItem) and
  // dispatcher/npn-status.ts listNpns (Query of the change index)
  prepare: {
    data: { actions: [], queryIndexes: [CHANGE_INDEX_NAME] },
    control: { actions: ['GetItem', 'PutItem', 'UpdateItem'], queryIndexes: ['byKind'] },
  },
  // sync/dynamo-record-store.ts (BatchGetItem of stored hashes, conditional PutItem), a reconcile's sync/sweep.ts (Query of
  // the change index, UpdateItem marks) and status-reconcile.ts (dispatcher/npn-status.ts BatchGetItem, PutItem); on the
  // control table sync/checkpoint.ts, sync/quarantine.ts, sync/seen-keys.ts (PutItem, Query), sync/run-lease.ts (PutItem,
  // Query), producersync/dynamo-rate-budget.ts
  syncPages: {
    data: { actions: ['BatchGetItem', 'PutItem', 'UpdateItem'], queryIndexes: [CHANGE_INDEX_NAME] },
    control: { actions: ['GetItem', 'PutItem', 'UpdateItem', 'Query'] },
  },
  // sync/run-record.ts load/finish, sync/checkpoint.ts load, sync/watermark.ts (GetItem, UpdateItem), sync/run-lease.ts release,
  // dispatcher/pending-activations.ts resolve (UpdateItem)
  finalize: { control: { actions: ['GetItem', 'UpdateItem', 'DeleteItem'] } },
  // dispatcher/npn-status.ts (conditional Puts, in TransactWriteItems: IAM checks them as PutItem; BatchGetItem
  // of statuses); dedup.ts (UpdateItem), pending-activations.ts (GetItem, PutItem, UpdateItem, DeleteItem,
  // Query on byKind) and the watermark (sync/watermark.ts: GetItem, UpdateItem) on the control table
  dispatcher: {
    data: { actions: ['BatchGetItem', 'PutItem'] },
    control: { actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], queryIndexes: ['byKind'] },
  },
} as const satisfies Record<string, { data?: TableAccess; control?: TableAccess }>;
