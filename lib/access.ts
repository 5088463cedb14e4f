import type { TableAccess } from './grants.ts';

/**
 * Per function, the DynamoDB item actions its code calls, read from lambdas/ (the one list to extend
 * when a handler adds a call). Everything else a function may do is granted beside it in its stack.
 */
export const TABLE_ACCESS = {
  // sync/run-record.ts (the run store's start)
  prepare: { control: { actions: ['PutItem'] } },
  // sync/dynamo-record-store.ts (BatchGetItem of stored hashes, conditional PutItem); sync/checkpoint.ts,
  // sync/quarantine.ts, producersync/rate-budget.ts on the control table
  syncPages: { data: { actions: ['BatchGetItem', 'PutItem'] }, control: { actions: ['GetItem', 'PutItem', 'UpdateItem'] } },
  // sync/run-record.ts (the run store's load and finish), sync/checkpoint.ts load
  finalize: { control: { actions: ['GetItem', 'UpdateItem'] } },
  // dispatcher/npn-status.ts (PutItem), dispatcher/activations.ts (Query of one NPN's items); dedup.ts
  // (PutItem, UpdateItem) and activations.ts (GetItem, PutItem, DeleteItem, Query on byKind) on the control table
  dispatcher: {
    data: { actions: ['Query', 'PutItem'] },
    control: { actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], queryIndexes: ['byKind'] },
  },
} as const satisfies Record<string, { data?: TableAccess; control?: TableAccess }>;
