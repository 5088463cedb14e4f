import { describe, expect, it } from 'vitest';
import { MalformedResponseError, ProducerSyncHttpError, RateLimitedError, safePath } from '#producersync/errors';
import { backoffDelayMs, isRetryable, withRetry } from '#producersync/retry';

function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('withRetry', () => {
  it('retries retryable failures with full-jitter exponential backoff, then succeeds', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 4) throw new ProducerSyncHttpError(503, '/v2/licenses');
        return 'ok';
      },
      { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 250, sleep, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    // 0.5 × min(250, 100·2^(n-1)): 50, 100, 125
    expect(waits).toEqual([50, 100, 125]);
  });

  it('never waits less than the Retry-After the error carries', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls === 1) throw new RateLimitedError(3, '/v2/licenses', 'server');
      },
      { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, sleep, random: () => 0.99 },
    );
    expect(waits).toEqual([3000]);
  });

  it('fails fast on a non-retryable error and gives up after maxAttempts with the last error', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const badRequest = new ProducerSyncHttpError(400, '/v2/licenses', 'Invalid updatedSince');
    await expect(withRetry(async () => ((calls++, Promise.reject(badRequest))), { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, sleep })).rejects.toBe(badRequest);
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      withRetry(async () => ((calls++, Promise.reject(new ProducerSyncHttpError(502, '/x')))), { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, sleep }),
    ).rejects.toMatchObject({ status: 502 });
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
  });

  it('backoff ceiling doubles and caps', () => {
    const max = (attempt: number) => backoffDelayMs(attempt, { baseDelayMs: 100, maxDelayMs: 1000 }, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(max)).toEqual([99, 199, 399, 799, 999, 999]);
  });
});

describe('isRetryable', () => {
  it('classifies statuses, transport errors and malformed bodies', () => {
    for (const status of [429, 500, 502, 503, 504]) expect(isRetryable(new ProducerSyncHttpError(status, '/'))).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 501]) expect(isRetryable(new ProducerSyncHttpError(status, '/'))).toBe(false);
    expect(isRetryable(new MalformedResponseError('/', 'truncated'))).toBe(true);
    expect(isRetryable(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(true);
    expect(isRetryable(new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }))).toBe(true);
    expect(isRetryable(new Error('something else'))).toBe(false);
    expect(isRetryable(new TypeError('x is not a function'))).toBe(false);
  });
});

describe('safePath', () => {
  it('keeps the continuation token and redacts secret-looking query values', () => {
    expect(safePath('https://h/v2/licenses?continuationToken=42&size=7')).toBe('/v2/licenses?continuationToken=42&size=7');
    expect(safePath('https://h/x?access_token=abc&client_secret=s&api_key=k')).toBe('/x?access_token=redacted&client_secret=redacted&api_key=redacted');
  });
});
