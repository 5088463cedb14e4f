import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Requests and items per table as the SDK sent them (attempts, so a failed conditional write still counts). */
export interface TableTraffic {
  writeRequests: number;
  /** Items written: 1 per PutItem/UpdateItem/DeleteItem, one per entry of a BatchWriteItem/TransactWriteItems. */
  writeItems: number;
  /** Conditional writes DynamoDB refused (they still consume write capacity). */
  conditionalFailures: number;
  readRequests: number;
  /** Items asked for: 1 per GetItem, one per key of a BatchGetItem (Query/Scan count as 1). */
  readItems: number;
  /**
   * Capacity units DynamoDB (Local) reported (`ReturnConsumedCapacity: INDEXES`, set on every request by the
   * counter): on-demand billing charges these as request units. The index units follow each index's key
   * schema and projection (an item whose index key changes costs a delete and a put there).
   */
  capacity: CapacityUnits;
}

export interface CapacityUnits {
  tableWriteUnits: number;
  tableReadUnits: number;
  indexWriteUnits: number;
  indexReadUnits: number;
}

export type Traffic = Record<string, TableTraffic>;

const emptyTraffic = (): TableTraffic => ({
  writeRequests: 0,
  writeItems: 0,
  conditionalFailures: 0,
  readRequests: 0,
  readItems: 0,
  capacity: { tableWriteUnits: 0, tableReadUnits: 0, indexWriteUnits: 0, indexReadUnits: 0 },
});

/** Commands that take ReturnConsumedCapacity, and whether they write. */
const CAPACITY_COMMANDS: Record<string, 'read' | 'write'> = {
  PutItemCommand: 'write',
  UpdateItemCommand: 'write',
  DeleteItemCommand: 'write',
  BatchWriteItemCommand: 'write',
  TransactWriteItemsCommand: 'write',
  GetItemCommand: 'read',
  QueryCommand: 'read',
  ScanCommand: 'read',
  BatchGetItemCommand: 'read',
  TransactGetItemsCommand: 'read',
};

interface Consumed {
  TableName?: string;
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

type Input = {
  TableName?: string;
  RequestItems?: Record<string, unknown[] | { Keys?: unknown[] }>;
  TransactItems?: Array<Record<string, { TableName?: string } | undefined>>;
};

/**
 * Counts DynamoDB traffic on the wire side of the SDK (a middleware on the client the handlers
 * share), so nothing in the engine has to cooperate and nothing is estimated.
 */
export function countDynamoTraffic(client: DynamoDBClient): { take(): Traffic } {
  let traffic: Traffic = {};
  const of = (table: string | undefined): TableTraffic => (traffic[table ?? '?'] ??= emptyTraffic());

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context as { commandName?: string }).commandName ?? '';
      const input = args.input as Input;
      const kind = CAPACITY_COMMANDS[command];
      const request = kind ? { ...args, input: { ...(args.input as object), ReturnConsumedCapacity: 'INDEXES' } } : args;
      switch (command) {
        case 'PutItemCommand':
        case 'UpdateItemCommand':
        case 'DeleteItemCommand':
          of(input.TableName).writeRequests++;
          of(input.TableName).writeItems++;
          break;
        case 'BatchWriteItemCommand':
          for (const [table, requests] of Object.entries(input.RequestItems ?? {})) {
            of(table).writeRequests++;
            of(table).writeItems += Array.isArray(requests) ? requests.length : 0;
          }
          break;
        case 'TransactWriteItemsCommand':
          for (const item of input.TransactItems ?? []) {
            const table = Object.values(item).find((op) => op?.TableName)?.TableName;
            of(table).writeRequests++;
            of(table).writeItems++;
          }
          break;
        case 'GetItemCommand':
        case 'QueryCommand':
        case 'ScanCommand':
          of(input.TableName).readRequests++;
          of(input.TableName).readItems++;
          break;
        case 'BatchGetItemCommand':
          for (const [table, request] of Object.entries(input.RequestItems ?? {})) {
            of(table).readRequests++;
            of(table).readItems += Array.isArray(request) ? 0 : (request.Keys?.length ?? 0);
          }
          break;
      }
      try {
        const result = await next(request);
        if (kind) {
          const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
          for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) addCapacity(of(c.TableName).capacity, kind, c);
        }
        return result;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') of(input.TableName).conditionalFailures++;
        throw error;
      }
    },
    { step: 'initialize', name: 'benchTrafficCounter' },
  );

  return {
    /** The counts since the previous call. */
    take() {
      const taken = traffic;
      traffic = {};
      return taken;
    },
  };
}

function addCapacity(units: CapacityUnits, kind: 'read' | 'write', consumed: Consumed): void {
  const indexes = [...Object.values(consumed.GlobalSecondaryIndexes ?? {}), ...Object.values(consumed.LocalSecondaryIndexes ?? {})];
  const index = indexes.reduce((n, i) => n + (i.CapacityUnits ?? 0), 0);
  // Without a breakdown the total is the table's.
  const table = consumed.Table?.CapacityUnits ?? (consumed.CapacityUnits ?? 0) - index;
  if (kind === 'write') {
    units.tableWriteUnits += table;
    units.indexWriteUnits += index;
  } else {
    units.tableReadUnits += table;
    units.indexReadUnits += index;
  }
}
