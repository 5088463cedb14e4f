import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '#sim/server';
import { CursorCycleError, emptyGuard, followCursor, RECENT_TOKENS, tokenOf, type CursorGuardState } from '#sync/cursor-guard';
import type { SyncPagesEvent } from '#sync/events';
import { syncPages } from '#sync/sync-pages';
import { engineDeps, freshEngineTables, runEndpointLoop, testClock } from './support/sync-engine.ts';

const page = (token: number) => `https://api.example/v2/licenses?size=20&continuationToken=${token}`;

/** Follows `tokens` in order; the index of the token that was refused, or -1. */
function follow(tokens: readonly number[]): number {
  let state: CursorGuardState = emptyGuard();
  for (const [i, token] of tokens.entries()) {
    try {
      state = followCursor(state, page(token), i);
    } catch (error) {
      expect(error).toBeInstanceOf(CursorCycleError);
      return i;
    }
  }
  return -1;
}

describe('the cursor guard', () => {
  it('compares continuation tokens, not whole URLs', () => {
    expect(tokenOf(page(7))).toBe(tokenOf('https://other.host/v2/licenses?continuationToken=7&size=1000'));
    expect(tokenOf(page(7))).not.toBe(tokenOf(page(8)));
    expect(tokenOf('https://api.example/v2/licenses?size=20')).toHaveLength(16);
  });

  it('passes a pass of 10,000 distinct tokens, keeping a bounded state', () => {
    let state = emptyGuard();
    for (let i = 1; i <= 10_000; i++) state = followCursor(state, page(i), i);
    expect(state.recent).toHaveLength(RECENT_TOKENS);
    expect(JSON.stringify(state).length).toBeLessThan(1_000);
  });

  it('refuses a token seen again: at once within the last tokens, and a long cycle within about twice its start plus its length', () => {
    // A→B→A
    expect(follow([1, 2, 1])).toBe(2);
    // A→A
    expect(follow([1, 1])).toBe(1);
    // A cycle of 100 pages starting after 1,000: past the window, caught by Brent's saved token.
    const tokens = [...Array.from({ length: 1_000 }, (_, i) => i), ...Array.from({ length: 3_000 }, (_, i) => 1_000 + (i % 100))];
    const caughtAt = follow(tokens);
    expect(caughtAt).toBeGreaterThan(1_100);
    expect(caughtAt).toBeLessThan(2 * (1_000 + 100) + 100);
  });
});

describe('cursor cycles from the API (the simulator\'s cursorCycle fault)', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ npns: 40, seed: 5, rateLimit: { apiPerMinute: 100_000 } });
  });
  afterAll(async () => {
    await sim?.close();
  });

  const event = (runId: string): SyncPagesEvent => ({ runId, endpoint: 'licenses', mode: 'backfill', updatedSince: null, npns: null });

  it.each([
    ['A→B→A', 2, 2],
    ['a cycle longer than the window of recent tokens', RECENT_TOKENS + 8, 3],
  ])('fails the endpoint with a clear error on %s, in one invocation or across many', async (_case, length, afterPages) => {
    const clock = testClock();
    sim.setFaults({ cursorCycle: { endpoint: 'licenses', length, afterPages } });
    try {
      // One long invocation: it fails instead of paging until the execution's 24 h timeout.
      const tables = await freshEngineTables();
      const deps = engineDeps(sim, tables, clock, { pageSize: 2 });
      await expect(syncPages(event('run-cycle'), deps)).rejects.toThrow(/continuation token was already seen in this pass/);
      const checkpoint = await deps.checkpoints.load('run-cycle', 'licenses');
      expect(checkpoint?.lastError).toMatch(/^CursorCycleError: /);
      expect(checkpoint?.pages).toBeLessThan(4 * (afterPages + length) + length);

      // One page per invocation (a resume after every page): the guard travels in the checkpoint.
      sim.setFaults({ cursorCycle: { endpoint: 'licenses', length, afterPages } });
      const oneAPage = engineDeps(sim, await freshEngineTables(), clock, { pageSize: 2, timeBudgetMs: 1 });
      await expect(runEndpointLoop(event('run-cycle-resumed'), oneAPage, clock)).rejects.toThrow(CursorCycleError);
    } finally {
      sim.setFaults({});
    }
  });

  it('pages normally once the API behaves', async () => {
    const clock = testClock();
    const tables = await freshEngineTables();
    const { pages } = await runEndpointLoop(event('run-normal'), engineDeps(sim, tables, clock, { pageSize: 2 }), clock, 2_000);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(sim.groundTruth('licenses').length / 2));
  });
});
