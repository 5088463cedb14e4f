import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger every handler, the CLI and the local pipeline share.
 * Keys whose names look like credentials are redacted before anything is written,
 * so a secret or token passed by mistake never reaches CloudWatch.
 */
const SECRET_KEY = /secret|token|password|authorization|signature|credential/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A continuation token is a page cursor, not a credential: keep it for debugging.
    out[k] = SECRET_KEY.test(k) && !/continuation|nextUrl|pageToken/i.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'producersync-aws',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'INFO') as 'INFO',
  jsonReplacerFn: (key: string, value: unknown) =>
    key && SECRET_KEY.test(key) && !/continuation|nextUrl|pageToken/i.test(key) ? '[redacted]' : value,
});
