import { afterEach, describe, expect, it, vi } from 'vitest';

/** EMF lines written while `work` runs. */
async function emf(work: () => void): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    if (String(chunk).includes('"CloudWatchMetrics"')) lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
    return true;
  });
  try {
    work();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('metrics', () => {
  it('keep the one service dimension whatever function emits them', async () => {
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'producersync-sync-pages');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'SomethingElse');
    vi.resetModules();
    const { METRICS_NAMESPACE, METRICS_SERVICE, publishCounts } = await import('#commons/metrics');
    const [line, ...rest] = await emf(() => publishCounts({ Pages: 3, RecordsInserted: 0 }));
    expect(rest).toEqual([]);
    expect({ METRICS_NAMESPACE, METRICS_SERVICE }).toEqual({ METRICS_NAMESPACE: 'ProducerSync', METRICS_SERVICE: 'producersync-aws' });
    expect(line).toMatchObject({ service: 'producersync-aws', Pages: 3, RecordsInserted: 0 });
    const directive = (line!._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('ProducerSync');
    expect(directive.Dimensions).toEqual([['service']]);
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual(['Pages', 'RecordsInserted']);
  });

  it('write nothing when there is nothing to count', async () => {
    const { publishCounts } = await import('#commons/metrics');
    expect(await emf(() => publishCounts({}))).toEqual([]);
  });
});
