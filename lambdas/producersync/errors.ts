/**
 * The errors the ProducerSync client throws. Messages name the method, path and status,
 * never a token, a client secret or a query value that could carry one.
 */

/** A non-2xx answer from the ProducerSync API (after retries, for retryable statuses). */
export class ProducerSyncHttpError extends Error {
  override readonly name = 'ProducerSyncHttpError';

  constructor(
    readonly status: number,
    /** Request path with secret-looking query values removed (see `safePath`). */
    readonly path: string,
    /** The API's own explanation (`message`, `error_description` or `error` of the error body), if any. */
    readonly apiMessage?: string,
    /** From `Retry-After`, when the server sent one (503s may carry it). */
    readonly retryAfterSeconds?: number,
  ) {
    super(`ProducerSync ${path} returned HTTP ${status}${apiMessage ? `: ${apiMessage}` : ''}`);
  }
}

/**
 * The API answered 429, or the rate budget would wait longer than the caller allows.
 * `retryAfterSeconds` is how long to wait before the next request; the sync engine hands
 * it to a Step Functions Wait instead of sleeping in the Lambda.
 */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly status = 429;

  constructor(
    readonly retryAfterSeconds: number,
    readonly path: string | undefined,
    /** `server`: a 429 from the API; `budget`: our own rate budget refused to wait that long. */
    readonly source: 'server' | 'budget',
  ) {
    super(
      source === 'server'
        ? `ProducerSync ${path ?? ''} returned HTTP 429; retry after ${retryAfterSeconds}s`
        : `Rate budget exhausted; next request slot in ${retryAfterSeconds}s`,
    );
  }
}

/** A 2xx answer whose body is not the JSON we expect (truncated, HTML from a proxy, ...). Retryable. */
export class MalformedResponseError extends Error {
  override readonly name = 'MalformedResponseError';

  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`ProducerSync ${path} returned a malformed body: ${detail}`);
  }
}

const SECRET_PARAM = /token|secret|password|key|signature|credential|auth/i;

/**
 * `pathname?query` of a URL for errors and logs, with the values of secret-looking query
 * parameters replaced. `continuationToken` is a page cursor and is kept for debugging.
 */
export function safePath(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://invalid.local');
  } catch {
    return '[unparseable url]';
  }
  const params = new URLSearchParams();
  for (const [name, value] of parsed.searchParams) {
    params.append(name, SECRET_PARAM.test(name) && name !== 'continuationToken' ? 'redacted' : value);
  }
  const query = params.toString();
  return query ? `${parsed.pathname}?${query}` : parsed.pathname;
}
