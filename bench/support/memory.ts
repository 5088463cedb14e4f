/** Peak memory of this process while some work runs, sampled (RSS and V8 heap). */
export interface MemoryPeak {
  rssStartMiB: number;
  rssPeakMiB: number;
  heapUsedPeakMiB: number;
}

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** 200 ms: process.memoryUsage() costs about a millisecond on a busy machine. */
export function sampleMemory(intervalMs = 200): { stop(): MemoryPeak } {
  const start = process.memoryUsage();
  let rssPeak = start.rss;
  let heapPeak = start.heapUsed;
  const sample = (): void => {
    const now = process.memoryUsage();
    rssPeak = Math.max(rssPeak, now.rss);
    heapPeak = Math.max(heapPeak, now.heapUsed);
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { rssStartMiB: mib(start.rss), rssPeakMiB: mib(rssPeak), heapUsedPeakMiB: mib(heapPeak) };
    },
  };
}
