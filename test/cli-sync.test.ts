import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS, ENDPOINTS } from '#producersync/endpoints';
import { startSimulator, type Simulator } from '#sim/server';
import { main } from '../scripts/cli.ts';
import { memoryIo } from '../scripts/support/cli-io.ts';

/** What `sync --out` must write for a record the API serves, derived here from the record itself. */
const expectedLine = (type: string, record: Record<string, unknown>) => ({
  type,
  npn: String(record.npn),
  id: record.id as number,
  deleted: record.niprDeleted === true,
  record,
});
type Line = ReturnType<typeof expectedLine>;
const byTypeNpnId = (a: Line, b: Line): number =>
  a.type < b.type ? -1 : a.type > b.type ? 1 : a.npn < b.npn ? -1 : a.npn > b.npn ? 1 : a.id - b.id;

const CLIENT_SECRET = 'cli-sync-test-secret-7f3a9c';
/** Each run starts its own stack (DynamoDB Local JVM; the first also synthesizes): slow on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 150_000;
const PAGE_SIZE = 50;

let sim: Simulator;
let dir: string;
let output: string[];
let stdout: string;

/** `producersync sync <args>` in this process (no PRODUCERSYNC_* variables): stdout kept in `stdout`, both streams in `output`. */
async function run(args: string[]): Promise<number> {
  const io = memoryIo();
  const code = await main(['sync', ...args], io);
  stdout = io.out();
  output.push(io.out(), io.err());
  return code;
}
const credentials = (secret = CLIENT_SECRET) => ['--api-base-url', sim.apiBaseUrl, '--token-url', sim.tokenUrl, '--client-id', 'cli-test', '--client-secret', secret];

function readLines(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

function expectExactShape(lines: unknown[]): void {
  for (const line of lines) {
    expect(Object.keys(line as object)).toEqual(['type', 'npn', 'id', 'deleted', 'record']);
    const { type, npn, id, deleted, record } = line as Line;
    expect(DEFAULT_SYNC_ENDPOINTS).toContain(type);
    expect(npn).toMatch(/^\d{1,10}$/);
    expect(Number.isSafeInteger(id)).toBe(true);
    expect(typeof deleted).toBe('boolean');
    expect(record).toMatchObject({ id, npn });
  }
}

/** Pages the server served per endpoint path (list requests only). */
function pagesServed(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of sim.requests) if (request.kind === 'api' && request.status === 200) counts[request.path] = (counts[request.path] ?? 0) + 1;
  return counts;
}

beforeAll(async () => {
  sim = await startSimulator({ npns: 150, seed: 7, clientId: 'cli-test', clientSecret: CLIENT_SECRET });
  dir = mkdtempSync(join(tmpdir(), 'cli-sync-'));
  // Small pages, so each endpoint takes several (the CLI's way to pass CDK context, read by the App).
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'producersync:pageSize': PAGE_SIZE });
  output = [];
});
afterAll(async () => {
  delete process.env.CDK_CONTEXT_JSON;
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  expect(output.join('\n')).not.toContain(CLIENT_SECRET);
  output = [];
});

describe('producersync sync --local', () => {
  it('--full --out writes the table as JSON lines equal to the ground truth, line by line', async () => {
    const out = join(dir, 'full.jsonl');
    sim.clearRequests();
    expect(await run(['--local', '--full', ...credentials(), '--out', out])).toBe(0);

    const lines = readLines(out);
    expectExactShape(lines);
    const expected = DEFAULT_SYNC_ENDPOINTS.flatMap((type) => sim.groundTruth(type).map((record) => expectedLine(type, record))).sort(byTypeNpnId);
    expect(lines.length).toBe(expected.length);
    expect(lines).toEqual(expected);
    expect(expected.some((line) => line.deleted)).toBe(true);

    // Every page was fetched (continuation tokens followed); all but the smallest endpoints span several pages.
    const pages = pagesServed();
    const multiPage = DEFAULT_SYNC_ENDPOINTS.filter((endpoint) => {
      const served = pages[ENDPOINTS[endpoint].path] ?? 0;
      expect(served, endpoint).toBeGreaterThanOrEqual(Math.ceil(sim.groundTruth(endpoint).length / PAGE_SIZE));
      return served >= 2;
    });
    expect(multiPage.length).toBeGreaterThanOrEqual(DEFAULT_SYNC_ENDPOINTS.length - 1);
    expect(output.join('\n')).toMatch(/SUCCEEDED/);
    expect(output.join('\n')).toMatch(/wrote \d[\d,]* records to/);
    // stdout holds the per-endpoint table only; the timed progress lines go to stderr.
    expect(stdout).toMatch(/^endpoint\s+pages\s+seen/);
    expect(stdout).toMatch(/\nTOTAL\s+\d/);
    expect(stdout).not.toContain('s] ');
  }, RUN_TIMEOUT_MS);

  it('--run-date syncs only the records that changed that day; --output json prints the outcome as one document', async () => {
    const day = await sim.advanceDay({ deliverWebhook: false });
    const out = join(dir, 'day.jsonl');
    expect(await run(['--local', '--run-date', day.runDate, ...credentials(), '--out', out, '--output', 'json'])).toBe(0);

    const lines = readLines(out);
    const document = JSON.parse(stdout) as { status: string; run: { runDate: string }; out: { file: string; records: number } };
    expect(document).toMatchObject({ status: 'SUCCEEDED', run: { runDate: day.runDate }, out: { file: out, records: lines.length } });
    expectExactShape(lines);
    const expected = DEFAULT_SYNC_ENDPOINTS.flatMap((type) =>
      sim.groundTruth(type, { updatedSince: day.runDate }).map((record) => expectedLine(type, record)),
    ).sort(byTypeNpnId);
    expect(expected.length).toBeGreaterThan(0);
    expect(lines).toEqual(expected);
  }, RUN_TIMEOUT_MS);

  it('exits non-zero with the reason when the token endpoint rejects the client, and writes no file', async () => {
    const out = join(dir, 'rejected.jsonl');
    const wrongSecret = 'not-the-secret-91b2';
    expect(await run(['--local', '--full', ...credentials(wrongSecret), '--out', out])).toBe(1);
    const printed = output.join('\n');
    expect(printed).toMatch(/producersync sync: the run FAILED: .*Token/i);
    expect(stdout).not.toMatch(/FAILED/);
    expect(printed).not.toContain(wrongSecret);
    expect(existsSync(out)).toBe(false);
  }, RUN_TIMEOUT_MS);

  it('refuses bad usage with exit code 2', async () => {
    expect(await run(['--full', ...credentials()])).toBe(2);
    expect(output.join('\n')).toContain('only local mode exists');
    expect(await run(['--local', '--run-date', '2025-02-30', ...credentials()])).toBe(2);
    expect(await run(['--local', '--full', '--run-date', '2025-07-24', ...credentials()])).toBe(2);
    expect(await run(['--local', '--full', '--api-base-url', sim.apiBaseUrl])).toBe(2);
    expect(output.join('\n')).toContain('missing --token-url, --client-id, --client-secret');
    expect(await run(['--help'])).toBe(0);
  });
});
