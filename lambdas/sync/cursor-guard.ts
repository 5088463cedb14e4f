/**
 * Cursor safety (docs/SYNC.md "Cursor cycles"): a `next.href` whose continuation token was already
 * seen in the same endpoint pass fails the endpoint, in bounded memory. Two exact checks, both kept in
 * the checkpoint (so a resumed or redriven invocation carries on with the same state):
 * - the last RECENT_TOKENS tokens: a cycle of up to that many pages (A→B→A) fails on the first repeat;
 * - Brent's cycle detection over the whole pass: one saved token, replaced at every power of two, so a
 *   longer cycle fails at the latest about twice its start plus its length pages in.
 * Tokens are kept as 16-hex-digit hashes: a checkpoint stays about 1 KB whatever the tokens look like.
 */
import { sha256Hex } from '#commons/sha256';

/** Tokens compared exactly against every new one. */
export const RECENT_TOKENS = 32;

/** What the guard remembers of an endpoint pass. */
export interface CursorGuardState {
  /** Hashes of the latest tokens, oldest first. */
  recent: string[];
  /** Brent: the token saved at the last power of two, and the pages since it was saved. */
  saved?: string;
  power: number;
  steps: number;
}

/** The continuation token of a page URL (the whole URL when it has none), hashed. */
export function tokenOf(url: string): string {
  let token: string | null = null;
  try {
    token = new URL(url).searchParams.get('continuationToken');
  } catch {
    // not a URL: compare it whole
  }
  return sha256Hex(token ?? url).slice(0, 16);
}

/** A guard that has seen nothing. */
export const emptyGuard = (): CursorGuardState => ({ recent: [], power: 1, steps: 0 });

/** A continuation token came back within one pass: the endpoint would page for ever. */
export class CursorCycleError extends Error {
  override readonly name = 'CursorCycleError';
}

/**
 * The guard after following `nextUrl`; throws CursorCycleError when its token was already seen in this pass.
 * `pages` (the pages committed so far) only makes the message useful.
 */
export function followCursor(state: CursorGuardState, nextUrl: string, pages: number): CursorGuardState {
  const token = tokenOf(nextUrl);
  if (state.recent.includes(token) || state.saved === token) {
    throw new CursorCycleError(`the next page's continuation token was already seen in this pass (after ${pages} pages): the API's cursor cycles`);
  }
  let { saved, power, steps } = state;
  steps++;
  if (saved === undefined || steps === power) {
    saved = token;
    power *= 2;
    steps = 0;
  }
  return { recent: [...state.recent, token].slice(-RECENT_TOKENS), saved, power, steps };
}
