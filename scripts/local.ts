/**
 * `npm run local`: the sync on one machine with no AWS account. Synthesizes the CDK app, starts
 * DynamoDB Local and the Secrets Manager stand-in, provisions the tables from the synthesized
 * template, starts the simulator, runs the synthesized state machine (a backfill, then a day
 * later the incremental run for the new runDate) with the real handlers, prints a summary per
 * endpoint, and exits 0 only if the table equals the simulator's ground truth.
 */
import { parseArgs } from 'node:util';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { buildApp } from '#lib/app';
import { secretsClient } from '#commons/clients';
import { DEFAULT_SYNC_ENDPOINTS } from '#producersync/endpoints';
import { startSimulator } from '#sim/server';
import { startDynamoDbLocal } from '#local/dynamodb-local';
import { startSecretsManager } from '#local/secrets-manager';
import { startSqs } from '#local/fauxqs';
import { applyEnv, localAwsEnv } from '#local/aws-env';
import { templatesFromAssembly } from '#local/template';
import { provisionFromTemplates } from '#local/provision';
import { loadStateMachine, runStateMachine, type LambdaHandler } from '#local/state-machine';
import { handler as prepare } from '#sync/prepare';
import { handler as syncPages } from '#sync/sync-pages';
import { handler as finalize } from '#sync/finalize';
import { compareWithTruth, isExactMatch, readSyncedRecords } from './support/table-export.ts';
import { formatEndpointSummary, type RunRecord } from './support/run-table.ts';

const { values } = parseArgs({ options: { npns: { type: 'string', default: '3000' }, seed: { type: 'string', default: '1' } } });
const started = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);

const stops: Array<() => Promise<void>> = [];
let exitCode = 1;
try {
  log('synthesizing the CDK app');
  const { app } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const stacks = templatesFromAssembly(app.synth());

  const dynamo = await startDynamoDbLocal({});
  stops.push(() => dynamo.stop());
  const secrets = await startSecretsManager();
  stops.push(() => secrets.stop());
  const sqs = await startSqs();
  stops.push(() => sqs.stop());
  applyEnv(localAwsEnv({ dynamo: dynamo.endpoint, secrets: secrets.endpoint, sqs: sqs.endpoint }));
  log(`DynamoDB Local ${dynamo.endpoint}, Secrets Manager stand-in ${secrets.endpoint}`);

  const provisioned = await provisionFromTemplates(stacks, { prefix: `local-${Date.now().toString(36)}` });
  const sim = await startSimulator({ npns: Number(values.npns), seed: Number(values.seed) });
  stops.push(() => sim.close());
  log(`simulator ${sim.apiBaseUrl} with ${sim.subscribedNpns().length} subscribed NPNs`);
  await secretsClient().send(
    new PutSecretValueCommand({
      SecretId: provisioned.resources.ProducerSyncCredentials!.arn,
      SecretString: JSON.stringify({ clientId: 'local', clientSecret: 'local', tokenUrl: sim.tokenUrl, apiBaseUrl: sim.apiBaseUrl }),
    }),
  );
  Object.assign(process.env, provisioned.functionEnv.PrepareFunction, provisioned.functionEnv.SyncPagesFunction, provisioned.functionEnv.FinalizeFunction);
  const asl = loadStateMachine(stacks, 'SyncStateMachine', { physical: provisioned.physical });
  const handlers: Record<string, LambdaHandler> = {
    PrepareFunction: prepare as LambdaHandler,
    SyncPagesFunction: syncPages as LambdaHandler,
    FinalizeFunction: finalize as LambdaHandler,
  };
  const controlTable = provisioned.resources.ControlTable!.name;
  const dataTable = provisioned.resources.DataTable!.name;
  const ddb = new DynamoDBClient({});

  async function runAndReport(executionName: string, input: unknown): Promise<boolean> {
    log(`execution ${executionName} ${JSON.stringify(input)}`);
    const result = await runStateMachine(asl, input, { handlers, executionName, waitOverride: 1000 });
    const item = await ddb.send(new GetItemCommand({ TableName: controlTable, Key: { pk: { S: `RUN#${executionName}` }, sk: { S: 'RUN' } }, ConsistentRead: true }));
    const run = item.Item ? (unmarshall(item.Item) as RunRecord) : undefined;
    log(`${result.status} in ${run?.durationMs ?? '?'} ms, ${result.transitions} state transitions`);
    if (run) console.log(formatEndpointSummary(run));
    if (result.status !== 'SUCCEEDED') console.error(`${result.error ?? ''} ${result.cause ?? ''}`);
    return result.status === 'SUCCEEDED';
  }

  let ok = await runAndReport('local-backfill', { mode: 'backfill' });
  const day = await sim.advanceDay({ deliverWebhook: false });
  log(`simulator advanced to ${day.runDate}: ${day.changed} changed, ${day.added} added, ${day.deleted} deleted`);
  ok = (await runAndReport(`local-run-${day.runDate}`, { runDate: day.runDate })) && ok;

  const synced = await readSyncedRecords(ddb, dataTable);
  const truth = Object.fromEntries(DEFAULT_SYNC_ENDPOINTS.map((e) => [e, sim.groundTruth(e)]));
  const comparison = compareWithTruth(synced, truth);
  log(`compared ${comparison.compared} records with the simulator's ground truth: ${comparison.missing.length} missing, ${comparison.extra.length} extra, ${comparison.mismatched.length} different`);
  exitCode = ok && isExactMatch(comparison) ? 0 : 1;
  log(exitCode === 0 ? 'OK: the table equals the ground truth' : 'FAILED');
} catch (error) {
  console.error(error instanceof Error ? error.stack : error);
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(exitCode);
