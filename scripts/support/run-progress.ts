import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** What a run has done so far: its start (`RUN#<runId>` / `RUN`) and the sum of its endpoint checkpoints (`/ ENDPOINT#<name>`). */
export interface RunProgress {
  endpoints: number;
  endpointsDone: number;
  pages: number;
  recordsSeen: number;
  written: number;
  throttled: number;
  /** When Prepare recorded the run's start (epoch ms). */
  startedAt?: number;
}

export async function readRunProgress(dynamo: DynamoDBClient, controlTable: string, runId: string): Promise<RunProgress> {
  const progress: RunProgress = { endpoints: 0, endpointsDone: 0, pages: 0, recordsSeen: 0, written: 0, throttled: 0 };
  const out = await dynamo.send(
    new QueryCommand({
      TableName: controlTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `RUN#${runId}` } },
      ConsistentRead: true,
    }),
  );
  for (const raw of out.Items ?? []) {
    const c = unmarshall(raw);
    if (c.sk === 'RUN' && typeof c.startedAt === 'string') progress.startedAt = Date.parse(c.startedAt);
    if (typeof c.sk !== 'string' || !c.sk.startsWith('ENDPOINT#')) continue;
    const count = (name: string): number => (typeof c[name] === 'number' ? c[name] : 0);
    progress.endpoints++;
    if (c.done === true) progress.endpointsDone++;
    progress.pages += count('pages');
    progress.recordsSeen += count('recordsSeen');
    progress.written += count('inserted') + count('modified') + count('deleted');
    progress.throttled += count('throttled');
  }
  return progress;
}

export interface ProgressWatchOptions {
  dynamo: DynamoDBClient;
  controlTable: string;
  /** The run being watched; undefined while none has started. */
  runId: () => string | undefined;
  log: (message: string) => void;
  /** API requests the server saw in the last minute, when the server can say (the simulator). */
  requestsLastMinute?: () => number;
  intervalMs?: number;
}

/** Logs a line every `intervalMs` while the watched run moves: pages, records, rate. */
export function watchRunProgress(options: ProgressWatchOptions): { stop(): void } {
  let last = '';
  let busy = false;
  const tick = async (): Promise<void> => {
    const runId = options.runId();
    if (!runId || busy) return;
    busy = true;
    try {
      const p = await readRunProgress(options.dynamo, options.controlTable, runId);
      if (p.startedAt === undefined || p.endpoints === 0) return;
      const seconds = Math.max(1, (Date.now() - p.startedAt) / 1000);
      const rate = options.requestsLastMinute ? `, ${options.requestsLastMinute()} API requests in the last minute` : '';
      const line =
        `${runId}: ${p.endpointsDone} endpoints done, ${p.endpoints - p.endpointsDone} in progress, ${p.pages} pages, ${p.recordsSeen.toLocaleString('en-US')} records ` +
        `(${p.written.toLocaleString('en-US')} written), ${Math.round(p.recordsSeen / seconds).toLocaleString('en-US')} records/s` +
        `${p.throttled ? `, ${p.throttled} throttled` : ''}${rate}`;
      // Only when something moved: a quiet run does not repeat itself every tick.
      const key = `${runId}:${p.pages}:${p.endpointsDone}:${p.throttled}`;
      if (key !== last) options.log(line);
      last = key;
    } catch {
      // Progress is best effort; the run's own outcome is reported at the end.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 2_000);
  return { stop: () => clearInterval(timer) };
}
