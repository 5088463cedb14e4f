import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share one DynamoDB Local JVM started in globalSetup; files still run in parallel workers.
    globalSetup: ['test/global-setup.ts'],
    // Tees every worker's output to the reliability dir so the teardown can scan it for secrets.
    setupFiles: ['test/support/reliability-capture.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
