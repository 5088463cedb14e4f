/**
 * Imported first by bench/run.ts and the sync worker: the Powertools logger and metrics read
 * these at module load, so they must be set before any handler module is evaluated.
 *
 * `BENCH_COUNT_LOGS=1` (the cost benchmark's sync process): log and emit metrics as deployed (INFO,
 * EMF metrics on) and count the bytes instead of printing them: what CloudWatch Logs would ingest.
 */
let loggedBytes = 0;

if (process.env.BENCH_COUNT_LOGS === '1') {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      loggedBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
      if (callback) queueMicrotask(callback);
      return true;
    }) as typeof stream.write;
  }
} else {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}
process.env.POWERTOOLS_DEV = 'false';

/** Bytes written to stdout and stderr since the previous call (0 unless BENCH_COUNT_LOGS=1). */
export function takeLoggedBytes(): number {
  const taken = loggedBytes;
  loggedBytes = 0;
  return taken;
}
