/**
 * vitest setupFiles module: copies everything a worker writes (process.stdout/stderr, and the console
 * vitest intercepts) into RELIABILITY_DIR/logs/worker-<pid>.log, so the global teardown can scan the
 * whole suite's output for secrets. Also registers every access token the simulators of this file
 * issued. Writing is synchronous so nothing is lost when a worker exits.
 */
import { openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import { afterAll } from 'vitest';
import { tokensIssuedInProcess } from '#sim/tokens';
import { ensureDir, LOGS_DIR, registerSecrets, reliabilityDir } from './reliability-ledger.ts';

const PATCHED = Symbol.for('producersync.reliability.capture');
type Marked = { [PATCHED]?: number };

const dir = reliabilityDir();
if (dir) {
  const holder = process as unknown as Marked;
  // One file descriptor per worker process, even when the process runs several test files.
  const fd = (holder[PATCHED] ??= openSync(join(ensureDir(join(dir, LOGS_DIR)), `worker-${process.pid}.log`), 'a'));
  const copy = (chunk: unknown): void => {
    try {
      if (chunk instanceof Uint8Array) writeSync(fd, chunk);
      else writeSync(fd, String(chunk));
    } catch {
      // Capturing must never break a test.
    }
  };

  for (const stream of [process.stdout, process.stderr] as (NodeJS.WriteStream & Marked)[]) {
    if (stream[PATCHED]) continue;
    stream[PATCHED] = 1;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      copy(chunk);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }

  // vitest's console forwards to the main process without touching process.stdout: wrap it too.
  const console = globalThis.console as Console & Marked;
  if (!console[PATCHED]) {
    console[PATCHED] = 1;
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      const original = console[method].bind(console);
      console[method] = (...args: unknown[]) => {
        copy(`${format(...args)}\n`);
        original(...args);
      };
    }
  }

  afterAll(() => registerSecrets('simulator access token', tokensIssuedInProcess()));
}
