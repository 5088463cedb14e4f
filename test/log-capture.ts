/** Capturing the shared logger's JSON lines in a test (Powertools writes warnings and errors to stderr, the rest to stdout). */
import { expect, vi } from 'vitest';
import { logger } from '#commons/logger';

/** One log line as written. */
export type LogLine = Record<string, unknown>;

/** The logger's lines written while `work` runs, at INFO and above; the level is restored afterwards. */
export async function captureLogLines(work: () => Promise<unknown>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const previous = logger.getLevelName();
  logger.setLogLevel('INFO');
  const capture = (chunk: string | Uint8Array): boolean => {
    for (const text of String(chunk).split('\n')) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as LogLine;
      if (typeof line.message === 'string' && typeof line.level === 'string') lines.push(line);
    }
    return true;
  };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    await work();
  } finally {
    for (const spy of spies) spy.mockRestore();
    logger.setLogLevel(previous);
  }
  return lines;
}

/** Every line carries the invocation's Lambda context (Powertools' `addContext` keys). */
export function expectLambdaContextOnEveryLine(lines: readonly LogLine[], functionName: string): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line, String(line.message)).toMatchObject({ function_name: functionName, function_request_id: expect.any(String), cold_start: expect.any(Boolean) });
  }
}

/** The EMF metric lines (`_aws.CloudWatchMetrics`) written while `work` runs, as objects (metric names are their keys). */
export async function captureMetricLines(work: () => Promise<unknown>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const text of String(chunk).split('\n')) if (text.includes('"CloudWatchMetrics"')) lines.push(JSON.parse(text) as LogLine);
    return true;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return lines;
}
