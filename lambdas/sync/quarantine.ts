/**
 * Quarantine: source records the sync cannot store, kept with their reason under the run
 * (`RUN#<runId>` / `QUARANTINE#<endpoint>#<sha>`) so one bad record never blocks a page.
 * The sink interface and its DynamoDB adapter.
 */
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EndpointName } from '#producersync/endpoints';
import { sha256Hex } from '#commons/sha256';

/** Keeps the raw JSON small enough for one control-table item (400 KB cap). */
export const MAX_QUARANTINE_RAW_BYTES = 350_000;

/** Where records that fail validation go, so one bad record never blocks a page. */
export interface QuarantineSink {
  put(endpoint: EndpointName, raw: unknown, reason: string): Promise<void>;
}

/** Options of `createDynamoQuarantine`. */
export interface DynamoQuarantineOptions {
  client: DynamoDBClient;
  /** The control table. */
  tableName: string;
  /** The run the quarantined records belong to. */
  runId: string;
}

/**
 * Stores a bad record under `RUN#<runId>` / `QUARANTINE#<endpoint>#<sha of its JSON>`: keyed by
 * content, so replaying a page after a crash overwrites the same item instead of adding one.
 */
export function createDynamoQuarantine({ client, tableName, runId }: DynamoQuarantineOptions): QuarantineSink {
  return {
    async put(endpoint, raw, reason) {
      const json = JSON.stringify(raw) ?? 'undefined';
      const bytes = Buffer.from(json);
      const truncated = bytes.length > MAX_QUARANTINE_RAW_BYTES;
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: `RUN#${runId}` },
            sk: { S: `QUARANTINE#${endpoint}#${sha256Hex(json)}` },
            endpoint: { S: endpoint },
            reason: { S: reason },
            raw: { S: truncated ? bytes.subarray(0, MAX_QUARANTINE_RAW_BYTES).toString() : json },
            truncated: { BOOL: truncated },
          },
        }),
      );
    },
  };
}
