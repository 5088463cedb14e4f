import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

export const gzipAsync = promisify(gzip);

export const HAL_JSON = 'application/hal+json';
export const JSON_TYPE = 'application/json';

/** What a route handler returns; the server adds rate-limit headers, faults, gzip and logging. */
export interface Reply {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Records on a list page (drives the latency model; logged). */
  records?: number;
}

/** Spring Boot's default error body, which ProducerSync uses for API errors. */
export function springError(status: number, message: string, path: string, headers?: Record<string, string>): Reply {
  return {
    status,
    contentType: JSON_TYPE,
    body: { timestamp: Date.now(), status, error: STATUS_CODES[status] ?? 'Error', message, path },
    ...(headers ? { headers } : {}),
  };
}

/** OAuth2 error body of the token endpoint (RFC 6749 §5.2). */
export function oauthError(status: number, error: string, description: string, headers?: Record<string, string>): Reply {
  return { status, contentType: JSON_TYPE, body: { error, error_description: description }, ...(headers ? { headers } : {}) };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
