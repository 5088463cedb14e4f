/**
 * The dispatcher's bulk path with 50,000 NPNs (issue 12.7): signed activation events through the
 * webhook and fauxqs, claims, 50,000 status items, 100 executions of 500 (recorded, not run: no data
 * is synced), pending groups, then the hourly retries draining them once the executions ended and
 * data is deemed present (what the backfills' Finalize notes) or the give-up time passed.
 * Its own DynamoDB Local, and a data table without its stream (createDataTableWithoutStream): 50,000
 * transactional writes in the shared JVM would slow, and lock out, the other test files.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient } from '#commons/dynamo-client';
import { logger } from '#commons/logger';
import { sfnClient } from '#commons/sfn-client';
import { GIVE_UP_AFTER_MS, RETRY_DELAY_MS, retryPendingActivations } from '#dispatcher/activations';
import { createDispatcherDeps } from '#dispatcher/deps';
import { handler } from '#dispatcher/handler';
import { createDynamoNpnStatusStore } from '#dispatcher/npn-status';
import { createDynamoPendingActivationStore } from '#dispatcher/pending-activations';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import { startStandIns, type StandIns } from '#local/stand-ins';
import { activationData } from '#sim/events';
import { deliverWebhook, newEventId, signWebhook } from '#sim/webhook-sender';
import { MAX_BACKFILL_NPNS } from '#sync/sync-input';
import { countRequests, createDataTableWithoutStream, getItem, NOOP_ASL, pendingGroups, startWebhookRoute, STATE_MACHINE_ARN, stopRunning } from './support/dispatcher-fixtures.ts';
import { createControlTable } from './sync-fixtures.ts';

logger.setLogLevel('SILENT');

const ACTIVATED = 'producersync.npn.activated';

let sfn: SfnApi;
let standIns: StandIns | undefined;
let admin: DynamoDBClient;
let tables: { dataTableName: string; controlTableName: string };

beforeAll(async () => {
  standIns = await startStandIns({ dynamo: { javaOptions: ['-XX:+UseSerialGC'] } });
  sfn = await startSfnApi({ stateMachines: { [STATE_MACHINE_ARN]: NOOP_ASL } });
  standIns.addSfn(sfn);
  admin = new DynamoDBClient({});
  tables = { dataTableName: await createDataTableWithoutStream(admin), controlTableName: await createControlTable(admin) };
  Object.assign(process.env, { DATA_TABLE_NAME: tables.dataTableName, CONTROL_TABLE_NAME: tables.controlTableName, STATE_MACHINE_ARN });
});
afterAll(async () => {
  await standIns?.stop();
});

describe('a 50,000-NPN onboarding wave through the dispatcher', () => {
  it('claims the events, writes 50,000 status items, starts 100 executions of 500, then the retries drain the pending groups', async () => {
    const started = Date.now();
    const dynamoRequests = countRequests(dynamoClient());
    const executions = () => sfn.executions();
    const inputs = () => executions().map((e) => JSON.parse(e.input) as { mode: string; npns: string[] });
    const depsWith = () => createDispatcherDeps({ dynamo: dynamoClient(), sfn: sfnClient(), ...tables, stateMachineArn: STATE_MACHINE_ARN });
    const pending = () => createDynamoPendingActivationStore({ client: admin, tableName: tables.controlTableName });
    const stopAll = () => stopRunning(executions());
    const npns = Array.from({ length: 50_000 }, (_, i) => String(70_000_000 + i));
    const route = await startWebhookRoute({ handler, maxReceiveCount: 3, visibilityTimeoutSeconds: 120 });
    try {
      // AgentSync's lists stay under the 256 KB webhook limit: 5 events of 10,000 NPNs (about 110 KB each).
      const events = activationData('npns', npns, 10_000).map((data) => signWebhook(route.target, { id: newEventId(), type: ACTIVATED, timestamp: new Date().toISOString(), data }));
      for (const signed of events) expect((await deliverWebhook(signed)).status).toBe(202);
      await route.poller.drain(120_000);
      const activationRequests = dynamoRequests.total();
      const activatedAfterMs = Date.now() - started;

      expect(executions()).toHaveLength(100);
      expect(inputs().every((input) => input.mode === 'backfill' && input.npns.length === MAX_BACKFILL_NPNS)).toBe(true);
      expect(new Set(inputs().flatMap((input) => input.npns)).size).toBe(50_000);
      const stored = await createDynamoNpnStatusStore({ client: admin, tableName: tables.dataTableName }).statuses(npns);
      expect(stored.size).toBe(50_000);
      expect([...stored.values()].every((s) => s === 'ACTIVE')).toBe(true);
      for (const signed of events) expect(await getItem(admin, tables.controlTableName, `EVENT#${signed.eventId}`, 'EVENT')).toMatchObject({ status: 'DONE' });
      const groups = await pendingGroups(admin, tables.controlTableName);
      expect(groups).toHaveLength(100);
      expect(groups.reduce((sum, g) => sum + g.npns.length, 0)).toBe(50_000);
      // 5 claims, 20 progress notes and 5 done marks, 500 transactions, 100 pending groups: about 0.013 requests per NPN.
      expect(activationRequests).toBe(630);

      // A Svix retry of one event starts nothing new.
      expect((await deliverWebhook(events[2]!)).status).toBe(202);
      await route.poller.drain(30_000);
      expect(executions()).toHaveLength(100);

      // The backfills end; 60 groups' NPNs returned records (their Finalize took them out), 40 did not.
      await stopAll();
      for (const group of groups.slice(0, 60)) await pending().resolve(group.id, group.npns);
      const still = groups.slice(60).flatMap((g) => g.npns);
      dynamoRequests.reset();
      const retry = await retryPendingActivations(depsWith(), Date.now() + RETRY_DELAY_MS + 1000);
      expect(retry).toMatchObject({ groups: 100, resolved: 60, retried: 20_000, more: false });
      expect(executions()).toHaveLength(140);
      expect(inputs().slice(100).flatMap((input) => input.npns).sort()).toEqual(still.sort());
      const retryRequests = dynamoRequests.total();
      // A request or two per group (index page, GetItem, put, delete) and one per 100 NPNs (status reads).
      expect(retryRequests).toBeLessThan(500);

      // Their data never arrives: after the give-up time the last groups go.
      await stopAll();
      expect(await retryPendingActivations(depsWith(), Date.now() + GIVE_UP_AFTER_MS + 1000)).toMatchObject({ groups: 40, gaveUp: 20_000 });
      expect(await pendingGroups(admin, tables.controlTableName)).toEqual([]);
      console.log(
        `50,000-NPN wave: ${executions().length} executions (100 + 40 retries), ${activationRequests} DynamoDB requests to activate ` +
          `(${(activationRequests / 50_000).toFixed(4)} per NPN) in ${(activatedAfterMs / 1000).toFixed(1)} s, ${retryRequests} for the retry of 20,000 NPNs; ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s in all`,
      );
    } finally {
      await route.stop();
    }
  }, 180_000);
});
