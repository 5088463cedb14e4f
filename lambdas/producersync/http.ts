/**
 * The one HTTP connection pool of a Lambda container: keep-alive across invocations
 * (a warm container reuses its TLS connections) and bounded connect/headers/body waits,
 * so a stuck upstream turns into a retryable timeout instead of a hung Lambda.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { Agent, request as undiciRequest } from 'undici';
import { MalformedResponseError, safePath } from '#producersync/errors';

/** Connect, headers and body waits of the pool. */
export const HTTP_TIMEOUTS = { connectMs: 10_000, headersMs: 30_000, bodyMs: 60_000 } as const;

let sharedAgent: Agent | undefined;

/** The container's pool, created on first use. */
export function httpAgent(): Agent {
  sharedAgent ??= new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: HTTP_TIMEOUTS.connectMs },
    headersTimeout: HTTP_TIMEOUTS.headersMs,
    bodyTimeout: HTTP_TIMEOUTS.bodyMs,
  });
  return sharedAgent;
}

/** One request. */
export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Per-request cap on waiting for headers and for body chunks. */
  timeoutMs?: number;
}

/** One answer, decoded. */
export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Decoded (gunzipped) body text. */
  bodyText: string;
}

const DEFAULT_HEADERS = {
  accept: 'application/hal+json, application/json',
  'accept-encoding': 'gzip',
} as const;

/** One HTTP exchange; never throws for an HTTP status, only for transport failures and timeouts. */
export async function request(url: string | URL, options: HttpRequest = {}): Promise<HttpResponse> {
  const response = await undiciRequest(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers: { ...DEFAULT_HEADERS, ...lowerCaseKeys(options.headers ?? {}) },
    body: options.body,
    dispatcher: httpAgent(),
    ...(options.timeoutMs !== undefined ? { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs } : {}),
  });
  const raw = Buffer.from(await response.body.arrayBuffer());
  const headers = flattenHeaders(response.headers);
  return { status: response.statusCode, headers, bodyText: decodeBody(url, raw, headers['content-encoding']) };
}

function decodeBody(url: string | URL, raw: Buffer, encoding: string | undefined): string {
  try {
    return decode(raw, encoding).toString('utf8');
  } catch {
    // A truncated or corrupt compressed body: the same failure class as truncated JSON.
    throw new MalformedResponseError(safePath(url), `body could not be decoded (${encoding ?? 'identity'})`);
  }
}

function decode(raw: Buffer, encoding: string | undefined): Buffer {
  if (raw.length === 0 || !encoding) return raw;
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      return raw;
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
