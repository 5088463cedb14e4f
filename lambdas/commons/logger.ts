/**
 * The one logger every handler, the CLI and the local pipeline share (Powertools Logger, JSON lines).
 * Each function logs under its own POWERTOOLS_SERVICE_NAME (`producersync-webhook`, ...); every
 * handler adds its Lambda context, so each line names the function, the request and a cold start.
 * Keys whose names look like credentials are redacted before anything is written, so a secret or
 * token passed by mistake never reaches CloudWatch.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/** Key names whose values are credentials. */
const SECRET_KEY = /secret|token|password|authorization|signature|credential/i;
/** A continuation token is a page cursor, not a credential: kept for debugging. */
const CURSOR_KEY = /continuation|nextUrl|pageToken/i;

const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !CURSOR_KEY.test(key);

/** `value` with the values of credential-like keys replaced, at most 6 levels deep. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/** The shared logger; the level is read once, when the module loads. */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'producersync-aws',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'INFO') as 'INFO',
  jsonReplacerFn: (key: string, value: unknown) => (key && isSecretKey(key) ? '[redacted]' : value),
});

/**
 * Puts the invocation's Lambda context (function name and ARN, request id, memory, cold start) on
 * every following log line. Every handler calls it first; without a context (tests, the local
 * pipeline) it changes nothing.
 */
export function addLambdaContext(context: Context | undefined): void {
  if (context) logger.addContext(context);
}

/** Runs `work` with `id` as every log line's `correlation_id`, so one search finds an event's whole story. */
export async function withCorrelationId<T>(id: string, work: () => Promise<T>): Promise<T> {
  logger.setCorrelationId(id);
  try {
    return await work();
  } finally {
    logger.removeKeys(['correlation_id']);
  }
}
