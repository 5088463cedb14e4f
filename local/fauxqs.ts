/**
 * SQS over the wire: fauxqs 1.9.2 embedded in this process, listening on 127.0.0.1 only (its own startFauxqs()
 * hard-codes 0.0.0.0; its exported buildApp() lets us choose the address). fauxqs keeps queues in memory, so a
 * local deployment that must survive a crash gives it a journal: every message is appended (and fsynced) when it
 * is enqueued, before SendMessage answers (so before the webhook's 202), and again when it is deleted or moved
 * to the dead-letter queue. Started on the same journal, each queue gets back, under its own message ids, every
 * message that was not deleted; receive counts start again at 0.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp } from 'fauxqs';
import type { LocalService } from '#local/dynamodb-local';

export interface SqsOptions {
  /** Persist queue contents in this journal file (JSON lines); default in memory only. */
  journal?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

/** One journal line: a message entered a queue (`published`), was deleted (`consumed`) or left for the DLQ (`dlq`). */
interface JournalEntry {
  op: 'published' | 'consumed' | 'dlq';
  queue: string;
  id: string;
  body?: string;
  attributes?: Record<string, unknown>;
  at?: number;
}

/** What fauxqs' store calls on every enqueue, delete and dead-letter move (its MessageSpy interface). */
interface SpyEvent {
  service: string;
  queueName: string;
  messageId: string;
  body: string;
  messageAttributes: Record<string, unknown>;
  status: JournalEntry['op'];
  timestamp: number;
}

interface FauxqsMessage {
  messageId: string;
  sentTimestamp: number;
}
interface FauxqsQueue {
  name: string;
  spy?: unknown;
  enqueue(message: FauxqsMessage): void;
}
interface FauxqsStore {
  spy?: unknown;
  createQueue(name: string, url: string, arn: string, attributes?: unknown, tags?: unknown): FauxqsQueue;
}
interface FauxqsStoreClass {
  new (): FauxqsStore;
  createMessage(body: string, attributes: Record<string, unknown>): FauxqsMessage;
}

/**
 * fauxqs' SqsStore, which its package does not export: the journal needs the store's spy hook and its message
 * factory. Loaded by file from the installed package (pinned at 1.9.2).
 */
async function loadSqsStore(): Promise<FauxqsStoreClass> {
  // The package's exports map hides both the file and package.json: look where Node would look for the package.
  const packageDir = (createRequire(import.meta.url).resolve.paths('fauxqs') ?? [])
    .map((nodeModules) => join(nodeModules, 'fauxqs'))
    .find((dir) => existsSync(join(dir, 'package.json')));
  if (!packageDir) throw new Error('fauxqs is not installed (npm ci)');
  return ((await import(pathToFileURL(join(packageDir, 'dist', 'sqs', 'sqsStore.js')).href)) as { SqsStore: FauxqsStoreClass }).SqsStore;
}

/** The messages still in each queue according to a journal, in the order they entered it. */
function liveMessages(journal: string): Map<string, JournalEntry> {
  const live = new Map<string, JournalEntry>();
  if (!existsSync(journal)) return live;
  for (const line of readFileSync(journal, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      continue; // the last line of a journal cut off by a crash
    }
    const key = `${entry.queue}/${entry.id}`;
    if (entry.op === 'published') live.set(key, entry);
    else live.delete(key);
  }
  return live;
}

function openJournal(journal: string): { append(entry: JournalEntry): void; close(): void; pending: Map<string, JournalEntry> } {
  mkdirSync(dirname(journal), { recursive: true });
  const pending = liveMessages(journal);
  // Compact: only the live messages survive into the new journal (write, fsync, rename: never half a file).
  const tmp = `${journal}.tmp`;
  writeFileSync(tmp, [...pending.values()].map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  const tmpFd = openSync(tmp, 'r+');
  fsyncSync(tmpFd);
  closeSync(tmpFd);
  renameSync(tmp, journal);
  const fd = openSync(journal, 'a', 0o600);
  return {
    pending,
    append(entry) {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    },
    close: () => closeSync(fd),
  };
}

/** Embeds fauxqs (SQS over the wire) in this process on 127.0.0.1. */
export async function startSqs(options: SqsOptions = {}): Promise<LocalService> {
  const SqsStore = await loadSqsStore();
  const sqsStore = new SqsStore();
  const journal = options.journal ? openJournal(options.journal) : undefined;
  if (journal) {
    let restoring = false;
    sqsStore.spy = {
      addMessage(event: SpyEvent) {
        if (event.service !== 'sqs' || restoring) return;
        const { queueName: queue, messageId: id, status: op } = event;
        journal.append(op === 'published' ? { op, queue, id, body: event.body, attributes: event.messageAttributes, at: event.timestamp } : { op, queue, id });
      },
    };
    // A queue gets its journaled messages back when it is created again (provisioning creates every queue).
    const createQueue = sqsStore.createQueue.bind(sqsStore);
    sqsStore.createQueue = (name, ...rest) => {
      const queue = createQueue(name, ...rest);
      restoring = true;
      try {
        for (const [key, entry] of journal.pending) {
          if (entry.queue !== name) continue;
          const message = SqsStore.createMessage(entry.body ?? '', entry.attributes ?? {});
          message.messageId = entry.id;
          message.sentTimestamp = entry.at ?? message.sentTimestamp;
          queue.enqueue(message);
          journal.pending.delete(key);
        }
      } finally {
        restoring = false;
      }
      return queue;
    };
  }
  const app = buildApp({ logger: false, stores: { sqsStore } } as Parameters<typeof buildApp>[0]);
  const address = await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  return {
    endpoint: `http://127.0.0.1:${new URL(address).port}`,
    async stop() {
      await app.close();
      journal?.close();
    },
  };
}
