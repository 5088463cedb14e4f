import { describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '#local/lambda-context';
import { addLambdaContext, logger, redact, withCorrelationId } from '#commons/logger';
import { captureLogLines, expectLambdaContextOnEveryLine } from './log-capture.ts';

describe('logger', () => {
  it('logs under the POWERTOOLS_SERVICE_NAME of its function', async () => {
    // The name is read when the module loads: load a fresh copy, as a new Lambda container would.
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'producersync-webhook');
    vi.resetModules();
    try {
      const fresh = (await import('#commons/logger')).logger;
      const lines = await captureLogLines(async () => fresh.info('hello'));
      expect(lines).toEqual([expect.objectContaining({ message: 'hello', service: 'producersync-webhook' })]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('puts the Lambda context on every line after addLambdaContext', async () => {
    const context = lambdaContext('producersync-prepare');
    const lines = await captureLogLines(async () => {
      addLambdaContext(context);
      logger.info('first');
      logger.warn('second', { extra: 1 });
    });
    expectLambdaContextOnEveryLine(lines, 'producersync-prepare');
    expect(lines.map((l) => l.function_request_id)).toEqual([context.awsRequestId, context.awsRequestId]);
    expect(lines[0]).toMatchObject({ function_arn: context.invokedFunctionArn, function_memory_size: '256' });
    // Without a context (tests, tools) nothing changes.
    expect(() => addLambdaContext(undefined)).not.toThrow();
  });

  it('carries a correlation id only while the work runs, also when it fails', async () => {
    const lines = await captureLogLines(async () => {
      await withCorrelationId('evt_1', async () => logger.info('inside'));
      await withCorrelationId('evt_2', async () => Promise.reject(new Error('boom'))).catch(() => undefined);
      logger.info('after');
    });
    expect(lines.map((l) => [l.message, l.correlation_id])).toEqual([
      ['inside', 'evt_1'],
      ['after', undefined],
    ]);
  });

  it('redacts credential-like keys in log lines and in redact(), but keeps page cursors', async () => {
    const lines = await captureLogLines(async () => logger.info('request', { clientSecret: 's3cr3t', nested: { authorization: 'Bearer t0ken', nextUrl: 'https://api/x?continuationToken=5' } }));
    expect(lines[0]).toMatchObject({ clientSecret: '[redacted]', nested: { authorization: '[redacted]', nextUrl: 'https://api/x?continuationToken=5' } });
    expect(JSON.stringify(lines)).not.toMatch(/s3cr3t|t0ken/);
    expect(redact({ a: [{ password: 'p' }], continuationToken: 'c', signature: 'x' })).toEqual({ a: [{ password: '[redacted]' }], continuationToken: 'c', signature: '[redacted]' });
  });
});
