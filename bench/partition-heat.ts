/**
 * 12. Partition heat (issue 15, figure 3): the most writes a second on one partition key value of the data
 * table and of its change index, with every endpoint paging at once as the engine now does, placed at the
 * API ceiling (300 requests/min of 1,000 records), against DynamoDB's 1,000 writes a second per value. The
 * model of issue 14.3 (support/partition-load.ts): the engine runs in this process against DynamoDB Local
 * (the real write path, logged by an SDK middleware), and the writes are placed in the engine's own order.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createProducerSyncClient } from '#producersync/client';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { createLocalRateBudget } from '#producersync/rate-budget';
import { startSimulator } from '#sim/server';
import { syncPages, createSyncDeps } from '#sync/sync-pages';
import { CEILING_RECORDS_PER_SECOND, logWrites, peakWritesPerSecond } from './support/partition-load.ts';
import type { BenchStack } from './support/local-stack.ts';
import { judge, num, type BenchOutcome } from './support/report.ts';

/** DynamoDB's write ceiling on one partition key value. */
const PARTITION_WRITES_PER_SECOND = 1_000;
/** The table's partition key and the change index's (byTypeChangedAt). */
const KEYS = { pk: 'table (pk)', typeShard: 'change index (typeShard)' } as const;

export interface PartitionHeatData {
  npns: number;
  records: number;
  writes: number;
  recordsPerSecond: number;
  peaks: Record<string, { value: string; writesPerSecond: number }>;
}

export async function measurePartitionHeat(stack: BenchStack, npns: number): Promise<BenchOutcome<PartitionHeatData>> {
  const { resources } = await stack.provision('heat');
  const dataTableName = resources.DataTable!.name;
  const controlTableName = resources.ControlTable!.name;
  const client = new DynamoDBClient({});
  const sim = await startSimulator({ npns, seed: 1, rateLimit: { apiPerMinute: 1_000_000 } });
  try {
    const writes = logWrites(client, { tableName: dataTableName, keyAttributes: Object.keys(KEYS) });
    const source = createProducerSyncClient({
      credentials: { clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl },
      rateBudget: createLocalRateBudget({ perMinute: 1_000_000 }),
      maxInlineWaitSeconds: 20,
    });
    const deps = createSyncDeps({ client, dataTableName, controlTableName, source: writes.countPages(source), apiBaseUrl: sim.apiBaseUrl, pageSize: 1_000 });
    // Every endpoint at once, each invocation looped until done, as the Map runs them.
    await Promise.all(
      DEFAULT_SYNC_ENDPOINTS.map(async (endpoint) => {
        const event = { runId: 'heat', endpoint, mode: 'backfill' as const, updatedSince: null, npns: null };
        for (let guard = 0; guard < 1_000 && !(await syncPages(event, deps)).done; guard++);
      }),
    );
    const records = DEFAULT_SYNC_ENDPOINTS.reduce((n, endpoint) => n + sim.groundTruth(endpoint).length, 0);
    const peaks = peakWritesPerSecond(writes.log);
    const data: PartitionHeatData = { npns, records, writes: writes.log.writes.length, recordsPerSecond: CEILING_RECORDS_PER_SECOND, peaks };
    return {
      figures: Object.entries(KEYS).map(([attribute, label]) => {
        const peak = peaks[attribute] ?? { value: '-', writesPerSecond: 0 };
        return {
          section: '12',
          name: `Partition heat: ${label}, every endpoint at once`,
          value: `${num(peak.writesPerSecond)} writes/s on ${peak.value} (${num(data.writes)} writes of ${num(npns)} NPNs placed at ${num(CEILING_RECORDS_PER_SECOND)} records/s)`,
          target: `< ${num(PARTITION_WRITES_PER_SECOND)}`,
          verdict: judge(peak.writesPerSecond < PARTITION_WRITES_PER_SECOND),
        };
      }),
      data,
    };
  } finally {
    await sim.close();
    // DynamoDB Local keeps everything in memory: free it for the next benchmark.
    await Promise.allSettled([dataTableName, controlTableName].map((TableName) => client.send(new DeleteTableCommand({ TableName }))));
  }
}
