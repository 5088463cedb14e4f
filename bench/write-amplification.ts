/**
 * 3. Write amplification: DynamoDB item writes (counted on the SDK, in the sync process) and
 * records on the data table's real stream, per record that truly changed on a simulated day
 * (the simulator's ground truth before and after, compared by content hash), and per record a
 * run saw unchanged (the same runDate again, then a whole backfill again).
 */
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { dynamoClient } from '#commons/clients';
import { createStreamReader, streamArnOf, type StreamReader } from '#local/stream-reader';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import type { AdvanceDayResult, Simulator } from '#sim/server';
import { contentHash } from '#sync/content-hash';
import { dataKey } from '#sync/record-store';
import type { Population } from './support/population.ts';
import { judge, num, ratio, type BenchOutcome } from './support/report.ts';
import { runSync, type SyncRun } from './support/sync-run.ts';

interface RunWrites {
  executionName: string;
  recordsSeen: number;
  unchanged: number;
  dataWrites: number;
  conditionalFailures: number;
  controlWrites: number;
  pages: number;
  stream: Record<string, number>;
  streamRecords: number;
}

export interface WriteAmplification {
  day: AdvanceDayResult;
  /** Keys new or with a different content hash after the day, over the synced endpoints. */
  trulyChanged: number;
  daily: RunWrites;
  sameDayAgain: RunWrites;
  backfillAgain: RunWrites;
}

/** Content hash per data-table key of every record the simulator serves for the synced endpoints. */
function truthHashes(sim: Simulator): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const endpoint of DEFAULT_SYNC_ENDPOINTS) {
    for (const record of sim.groundTruth(endpoint)) {
      const { pk, sk } = dataKey(String(record.npn), endpoint, record.id as number);
      hashes.set(`${pk}/${sk}`, contentHash(record));
    }
  }
  return hashes;
}

function countByEvent(records: readonly _Record[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.eventName ?? '?'] = (counts[record.eventName ?? '?'] ?? 0) + 1;
  return counts;
}

async function writesOf(population: Population, run: SyncRun, stream: StreamReader): Promise<RunWrites> {
  const records = await stream.read();
  const data = run.execution.dynamo[population.dataTable];
  if (!run.totals) throw new Error(`${run.executionName} left no run record totals`);
  return {
    executionName: run.executionName,
    recordsSeen: run.totals.recordsSeen,
    unchanged: run.totals.unchanged,
    dataWrites: data?.writeItems ?? 0,
    conditionalFailures: data?.conditionalFailures ?? 0,
    controlWrites: run.execution.dynamo[population.controlTable]?.writeItems ?? 0,
    pages: run.totals.pages,
    stream: countByEvent(records),
    streamRecords: records.length,
  };
}

/** Needs a population whose backfill has run; leaves it one simulated day later. */
export async function measureWriteAmplification(population: Population): Promise<BenchOutcome<WriteAmplification> & { dailyRun: SyncRun }> {
  const stream = createStreamReader({ streamArn: await streamArnOf(dynamoClient(), population.dataTable) });
  await stream.read(); // skip what the backfill streamed

  const before = truthHashes(population.sim);
  const day = await population.sim.advanceDay({ deliverWebhook: false });
  let trulyChanged = 0;
  for (const [key, hash] of truthHashes(population.sim)) if (before.get(key) !== hash) trulyChanged++;

  const dailyRun = await runSync(population, `bench-day-${day.runDate}`, { runDate: day.runDate });
  const daily = await writesOf(population, dailyRun, stream);
  const sameDayAgain = await writesOf(population, await runSync(population, `bench-day-${day.runDate}-again`, { runDate: day.runDate }), stream);
  const backfillAgain = await writesOf(population, await runSync(population, 'bench-backfill-again', { mode: 'backfill' }), stream);

  const data: WriteAmplification = { day, trulyChanged, daily, sameDayAgain, backfillAgain };
  const unchanged = sameDayAgain.unchanged + backfillAgain.unchanged;
  const unchangedWrites = sameDayAgain.dataWrites + backfillAgain.dataWrites;
  const unchangedStream = sameDayAgain.streamRecords + backfillAgain.streamRecords;
  return {
    figures: [
      {
        section: '3',
        name: 'Data writes per truly changed record (a day)',
        value: `${ratio(daily.dataWrites / trulyChanged, 3)} (${num(daily.dataWrites)} writes / ${num(trulyChanged)} changed)`,
        target: '1.0',
        verdict: judge(daily.dataWrites === trulyChanged),
      },
      {
        section: '3',
        name: 'Stream records per truly changed record',
        value: `${ratio(daily.streamRecords / trulyChanged, 3)} (${num(daily.streamRecords)} records: ${Object.entries(daily.stream).map(([k, v]) => `${num(v)} ${k}`).join(', ')})`,
        target: '1.0',
        verdict: judge(daily.streamRecords === trulyChanged),
      },
      {
        section: '3',
        name: 'Writes, stream records per unchanged record',
        value: `${ratio(unchangedWrites / unchanged, 3)}, ${ratio(unchangedStream / unchanged, 3)} (${num(unchanged)} unchanged: same day again + backfill again)`,
        target: '0',
        verdict: judge(unchangedWrites === 0 && unchangedStream === 0 && unchanged > 0),
      },
    ],
    data,
    dailyRun,
  };
}
