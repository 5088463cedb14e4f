import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { localAwsEnv } from '#local/aws-env';
import { startDynamoDbLocal } from '#local/dynamodb-local';
import { CAPTURE_PROBE, formatLedger, LOGS_DIR, readLedger, readSecrets, scanLogsForSecrets } from './support/reliability-ledger.ts';

/** One DynamoDB Local JVM for the whole run; test files use unique table names so they can share it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  // Forked workers inherit process.env, so handlers under test reach DynamoDB Local without extra wiring.
  Object.assign(process.env, localAwsEnv({ dynamo: dynamo.endpoint }));
  // The reliability ledger, registered secrets and captured worker output (test/support/reliability-*.ts).
  const reliabilityDir = mkdtempSync(join(tmpdir(), 'producersync-reliability-'));
  process.env.RELIABILITY_DIR = reliabilityDir;
  return async () => {
    await dynamo.stop();
    try {
      reportReliability(reliabilityDir);
    } catch (error) {
      // vitest only logs a teardown error ("error during close"); the exit code is what fails CI.
      process.exitCode = 1;
      throw error;
    } finally {
      if (!process.env.KEEP_RELIABILITY_DIR) rmSync(reliabilityDir, { recursive: true, force: true });
    }
  };
}

/** Prints the reliability table and fails the run if any registered secret reached the captured output. */
function reportReliability(dir: string): void {
  const ledger = readLedger(dir);
  if (ledger.length > 0) console.log(`\nReliability (test/reliability-*.test.ts)\n${formatLedger(ledger)}\n`);
  const secrets = readSecrets(dir);
  // Only meaningful when the reliability tests ran (they register secrets and print the capture probe).
  if (secrets.length === 0) return;
  const scan = scanLogsForSecrets(join(dir, LOGS_DIR), secrets, CAPTURE_PROBE);
  console.log(`secret scan: ${scan.secretsChecked} secrets checked across ${scan.bytesScanned} bytes of logs (${scan.filesScanned} files), ${scan.found.length} found`);
  if (scan.found.length > 0) {
    throw new Error(`secret scan: secrets found in captured output: ${scan.found.map((f) => `${f.label} in ${f.file}`).join('; ')}`);
  }
  if (ledger.some((r) => r.file === 'reliability-secrets.test.ts') && !scan.probeSeen) {
    throw new Error('secret scan: the capture probe printed by test/reliability-secrets.test.ts is not in the captured output, so the scan saw nothing');
  }
}
