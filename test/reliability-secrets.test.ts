/**
 * Issue 8, secrets: the suite-wide scan (test/global-setup.ts teardown) must not pass vacuously.
 * These tests prove the scan finds a planted secret, that this worker's output really is captured,
 * and that the shared logger redacts credentials handed to it under their usual names.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logger } from '#commons/logger';
import { startSimulator } from '#sim/server';
import { fetchToken } from '#sim/testing';
import { tokensIssuedInProcess } from '#sim/tokens';
import { CAPTURE_PROBE, LOGS_DIR, recordScenario, registerSecrets, reliabilityDir, scanLogsForSecrets } from './support/reliability-ledger.ts';
import { newSecret } from './support/reliability-harness.ts';

const FILE = 'reliability-secrets.test.ts';
const capturedLog = () => readFileSync(join(reliabilityDir()!, LOGS_DIR, `worker-${process.pid}.log`), 'utf8');

describe('secret scan', () => {
  it('finds a planted secret in a log file and reports its label, never its value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scan-self-test-'));
    const planted = newSecret('cs_');
    const clean = newSecret('cs_');
    writeFileSync(join(dir, 'worker-1.log'), `{"level":"INFO","message":"ok"}\n`);
    writeFileSync(join(dir, 'worker-2.log'), `{"level":"ERROR","message":"token request failed","body":"client_secret=${planted}"}\n${CAPTURE_PROBE}\n`);
    const result = scanLogsForSecrets(
      dir,
      [
        { label: 'planted', value: planted },
        { label: 'clean', value: clean },
        { label: 'too short to mean anything', value: 'local' },
      ],
      CAPTURE_PROBE,
    );
    expect(result).toMatchObject({ secretsChecked: 2, filesScanned: 2, found: [{ label: 'planted', file: 'worker-2.log' }], probeSeen: true });
    expect(JSON.stringify(result)).not.toContain(planted);
    expect(scanLogsForSecrets(dir, [{ label: 'clean', value: clean }]).found).toEqual([]);
  });

  it('captures this worker output, where the suite-wide scan will look', () => {
    expect(reliabilityDir(), 'RELIABILITY_DIR from test/global-setup.ts').toBeDefined();
    process.stdout.write(`${CAPTURE_PROBE}\n`);
    expect(capturedLog()).toContain(CAPTURE_PROBE);
  });

  it('registers the simulator tokens and keeps credentials out of the logger output', async () => {
    const sim = await startSimulator({ npns: 2 });
    try {
      const token = await fetchToken(sim);
      expect(sim.issuedTokens()).toEqual([token]);
      expect(tokensIssuedInProcess()).toContain(token);
      const secret = newSecret('cs_');
      registerSecrets('logger self-test secret', [secret, token]);
      const before = capturedLog().length;
      logger.info('credentials handed to the logger by mistake', { clientSecret: secret, accessToken: token, nested: { authorization: `Bearer ${token}` } });
      const written = capturedLog().slice(before);
      expect(written).toContain('credentials handed to the logger by mistake');
      expect(written).toContain('[redacted]');
      expect(written).not.toContain(secret);
      expect(written).not.toContain(token);
    } finally {
      await sim.close();
    }
    recordScenario({ file: FILE, scenario: 'scan self-test (planted secret found)', faultsInjected: 1, runs: 1, recordsCompared: 0, mismatches: 0 });
  });
});
