/** Retry with full-jitter exponential backoff, and which failures are worth another attempt. */
import { MalformedResponseError, RateLimitedError } from '#producersync/errors';

/** How `withRetry` retries. */
export interface RetryOptions {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1); injectable so tests get exact delays. */
  random?: () => number;
  /** Which errors are worth another attempt; defaults to `isRetryable`. */
  retryable?: (error: unknown) => boolean;
  /** Told before each wait (logging, counters). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** The client's retry: 6 attempts, 0.5 s doubling up to 20 s. */
export const DEFAULT_RETRY: Readonly<Pick<RetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>> = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
};

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or runs out of attempts
 * (then the last error is thrown as is). Waits use full-jitter exponential backoff, never
 * shorter than a `retryAfterSeconds` the error carries (a server's Retry-After).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.maxAttempts || !retryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, options, random, retryAfterOf(error));
      options.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs);
    }
  }
}

/** Full jitter: uniform in [0, min(max, base·2^(attempt-1))], raised to the server's Retry-After. */
export function backoffDelayMs(
  attempt: number,
  { baseDelayMs, maxDelayMs }: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
  retryAfterSeconds?: number,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterSeconds === undefined ? jittered : Math.max(jittered, Math.ceil(retryAfterSeconds * 1000));
}

/** The server's Retry-After an error carries, in seconds, if any. */
export function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Transport failures worth another attempt (undici and Node socket codes). */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/**
 * 429, 500/502/503/504, timeouts, dropped connections and malformed 2xx bodies are retryable.
 * Every other HTTP status (400, 401 after its one refresh, 403, 404, ...) fails fast.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RateLimitedError || error instanceof MalformedResponseError) return true;
  if (error === null || typeof error !== 'object') return false;
  const { status } = error as { status?: unknown };
  if (typeof status === 'number') return RETRYABLE_STATUSES.has(status);
  const name = (error as { name?: unknown }).name;
  if (name === 'TimeoutError') return true;
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  // fetch() wraps transport failures as TypeError('fetch failed') with the socket error as cause.
  return error instanceof TypeError && error.message === 'fetch failed';
}
