/**
 * Where the CLI's text goes and comes from: the process's streams and environment, or, for tests and
 * embedding, buffers (`memoryIo`). Commands never touch process.stdout/stderr/env directly, so one
 * process can run many commands side by side.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface TextSink {
  write(text: string): unknown;
  /** A terminal: progress may redraw one line with `\r` (stderr only). */
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Read by `--<secret>-file -` and `--file -`. */
  readonly stdin: AsyncIterable<string | Uint8Array>;
  /** Environment fallbacks of options (`PRODUCERSYNC_CLIENT_SECRET`, ...). The AWS SDK reads process.env itself. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

export interface MemoryIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
}

/** Buffers for stdout and stderr, a fixed stdin and environment (default: none at all). */
export function memoryIo(options: { env?: Record<string, string | undefined>; stdin?: string } = {}): MemoryIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => void (out += text) },
    stderr: { write: (text: string) => void (err += text) },
    stdin: Readable.from([options.stdin ?? '']),
    env: options.env ?? {},
    out: () => out,
    err: () => err,
  };
}

/** The text of a file, or of stdin for `-`. */
export async function readInput(path: string, io: CliIo): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  return chunks.join('') + decoder.decode();
}
