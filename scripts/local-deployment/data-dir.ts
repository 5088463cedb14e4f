/**
 * The data directory of a local deployment (`producersync local up`): what persists there, the lock that keeps a
 * second `local up` off it, the secrets (mode 0600) and the connection file operator commands read.
 *
 *   lock                      {"pid","startTime","startedAt"} of the running `local up`; a dead pid means a stale lock
 *   deployment.json           endpoints, names and the ready line of the running deployment
 *   config.json               what the deployment syncs from (simulator or API, no secret) and its ports
 *   secrets/webhook-secret    the Svix signing secret (generated once unless given)
 *   secrets/client-secret     the ProducerSync client secret (API mode)
 *   dynamodb/                 DynamoDB Local's database (-dbPath)
 *   sqs/journal.jsonl         the queues' journal (fauxqs keeps queues in memory)
 *   step-functions/executions.json, schedules.json
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../support/options.ts';

/** Default data directory, relative to the working directory (git-ignored). */
export const DEFAULT_DATA_DIR = '.producersync/local';

export interface DataDir {
  root: string;
  lock: string;
  deployment: string;
  config: string;
  webhookSecret: string;
  clientSecret: string;
  dynamodb: string;
  sqsJournal: string;
  executions: string;
  schedules: string;
}

export function dataDir(dir: string = DEFAULT_DATA_DIR): DataDir {
  const root = resolve(dir);
  return {
    root,
    lock: join(root, 'lock'),
    deployment: join(root, 'deployment.json'),
    config: join(root, 'config.json'),
    webhookSecret: join(root, 'secrets', 'webhook-secret'),
    clientSecret: join(root, 'secrets', 'client-secret'),
    dynamodb: join(root, 'dynamodb'),
    sqsJournal: join(root, 'sqs', 'journal.jsonl'),
    executions: join(root, 'step-functions', 'executions.json'),
    schedules: join(root, 'schedules.json'),
  };
}

/** When a process started (Linux: /proc/<pid>/stat field 22), so a pid reused by another process is told apart. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, startTime: unknown): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, it is just not ours.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(pid);
  return typeof startTime !== 'string' || now === undefined || now === startTime;
}

/** The pid of the live `local up` holding the directory, if any (a lock left by a killed process does not count). */
export function lockHolder(dir: DataDir): number | undefined {
  try {
    const { pid, startTime } = JSON.parse(readFileSync(dir.lock, 'utf8')) as { pid?: unknown; startTime?: unknown };
    return typeof pid === 'number' && pid !== process.pid && isAlive(pid, startTime) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the directory for this process: refuses while another live `local up` holds it, takes over a stale lock
 * (its process is gone, e.g. SIGKILLed). The lock goes when this process exits, however it exits short of SIGKILL.
 */
export function acquireLock(dir: DataDir): void {
  mkdirSync(dir.root, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(dir.lock, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid), startedAt: new Date().toISOString() }));
      closeSync(fd);
      process.once('exit', () => releaseLock(dir));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(dir);
      if (holder !== undefined) throw new UsageError(`the data directory ${dir.root} is in use by another producersync local up (pid ${holder}); stop it or pass another --data-dir`);
      rmSync(dir.lock, { force: true }); // stale: its process is gone
    }
  }
  throw new UsageError(`could not take the lock ${dir.lock}`);
}

export function releaseLock(dir: DataDir): void {
  try {
    const { pid } = JSON.parse(readFileSync(dir.lock, 'utf8')) as { pid?: unknown };
    if (pid === process.pid) rmSync(dir.lock, { force: true });
  } catch {
    // already gone
  }
}

/** Writes JSON whole (write, rename). */
export function writeJson(path: string, value: unknown, mode = 0o600): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode });
  renameSync(`${path}.tmp`, path);
}

export function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

/** A secret file: only this user can read it (mode 0600, in a 0700 directory). */
export function writeSecret(path: string, value: string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
}

/** A secret from a file (first line, trimmed); a file that cannot be read is a usage error naming it. */
export function readSecretFile(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const value = text.split('\n')[0]?.trim() ?? '';
  if (!value) throw new UsageError(`${flag} ${path} is empty`);
  return value;
}
