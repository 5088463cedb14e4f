import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '#commons/clients';
import { allStates, loadStateMachine, runStateMachine } from '#local/state-machine';
import { provisionTestResources, useLocalAws, useSfnApi, type LocalAws, type TestResources } from './support/local-aws.ts';

/** The stand-ins against the real app (`buildApp()` from '#lib/app'): every part other tests rely on is there. */
describe('provisioning the real app locally', () => {
  let local: LocalAws;
  let resources: TestResources;

  beforeAll(async () => {
    local = await useLocalAws();
    resources = await provisionTestResources('app');
  });
  afterAll(() => local?.cleanup());

  it('provisions the tables, queues and secrets under their construct ids', () => {
    for (const id of ['DataTable', 'ControlTable', 'EventsQueue', 'EventsDeadLetterQueue', 'ProducerSyncCredentials', 'WebhookSigningSecret']) {
      expect(resources.resources[id], id).toBeDefined();
    }
    expect(resources.resources.DataTable?.streamArn).toMatch(/stream/);
    expect(resources.resources.EventsQueue?.url).toMatch(/\/000000000000\/app-[\w-]+-EventsQueue$/);
  });

  it('resolves each function environment to the provisioned names', () => {
    const env = resources.functionEnv;
    expect(env.SyncPagesFunction?.DATA_TABLE_NAME).toBe(resources.resources.DataTable?.name);
    expect(env.SyncPagesFunction?.CONTROL_TABLE_NAME).toBe(resources.resources.ControlTable?.name);
    expect(env.WebhookFunction?.EVENTS_QUEUE_URL).toBe(resources.resources.EventsQueue?.url);
    expect(env.DispatcherFunction?.STATE_MACHINE_ARN).toBe(resources.resources.SyncStateMachine?.arn);
  });

  it('loads the sync state machine with every Task on a known function', () => {
    const asl = loadStateMachine(resources.stacks, 'SyncStateMachine', { physical: resources.physical });
    const text = JSON.stringify(asl);
    expect(text).not.toMatch(/"Is(Null|Present|Numeric|String|Boolean|Timestamp)":false/);
    const targets = allStates(asl as never)
      .filter(([, state]) => state.Type === 'Task')
      .map(([, state]) => String(/:function:/.test(String(state.Resource)) ? state.Resource : (state.Parameters as { FunctionName?: string })?.FunctionName));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(target).toMatch(/:function:app-[\w-]+-(PrepareFunction|SyncPagesFunction|FinalizeFunction)$/);
  });

  it('runs the real state machine end to end with contract-shaped stub handlers, resuming a failed endpoint', async () => {
    type Item = { runId: string; endpoint: string; mode: string; updatedSince: string | null; npns: string[] | null };
    const calls: string[] = [];
    let licenseFailures = 4; // 1 try + 3 States.TaskFailed retries → caught → resumed by ResumeFailed
    const asl = loadStateMachine(resources.stacks, 'SyncStateMachine', { physical: resources.physical });
    const run = await runStateMachine(asl, { runDate: '2026-11-26' }, {
      executionName: 'run-2026-11-26',
      handlers: {
        PrepareFunction: async (event) => {
          const { executionName } = event as { executionName: string };
          const item = (endpoint: string): Item => ({ runId: executionName, endpoint, mode: 'incremental', updatedSince: '2026-11-25', npns: null });
          return { runId: executionName, mode: 'incremental', updatedSince: '2026-11-25', npns: null, endpoints: [item('entities'), item('licenses')] };
        },
        SyncPagesFunction: async (event) => {
          const item = event as Item & { pages?: number };
          calls.push(item.endpoint);
          if (item.endpoint === 'licenses' && licenseFailures-- > 0) throw new Error('upstream 500');
          const page = calls.filter((c) => c === item.endpoint).length;
          return { ...item, done: page >= 2 || item.endpoint === 'licenses', waitSeconds: page === 1 ? 5 : 0, pages: 1 };
        },
        FinalizeFunction: async (event) => {
          const state = event as { endpoints: Item[]; results: Array<{ endpoint: string; failed?: boolean }>; run?: unknown };
          const failed = state.results.filter((r) => r.failed).map((r) => state.endpoints.find((e) => e.endpoint === r.endpoint));
          return { status: failed.length ? 'FAILED' : 'SUCCEEDED', failedEndpoints: failed };
        },
      },
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.invocations).toEqual({ PrepareFunction: 1, SyncPagesFunction: 7, FinalizeFunction: 2 });
    expect(calls.filter((c) => c === 'entities')).toHaveLength(2);
    expect(calls.filter((c) => c === 'licenses')).toHaveLength(5);
    expect((run.output as { run: { status: string } }).run.status).toBe('SUCCEEDED');
  });

  it('serves StartExecution on the dispatcher\'s STATE_MACHINE_ARN through the shared SFN client (useSfnApi)', async () => {
    const stateMachineArn = resources.functionEnv.DispatcherFunction?.STATE_MACHINE_ARN as string;
    const seen: unknown[] = [];
    const api = await useSfnApi(local, {
      stateMachines: { [stateMachineArn]: loadStateMachine(resources.stacks, 'SyncStateMachine', { physical: resources.physical }) },
      handlers: {
        PrepareFunction: async (event) => {
          seen.push(event);
          return { runId: (event as { executionName: string }).executionName, endpoints: [] };
        },
        SyncPagesFunction: async () => ({ done: true, waitSeconds: 0, pages: 0 }),
        FinalizeFunction: async () => ({ status: 'SUCCEEDED', failedEndpoints: [] }),
      },
    });
    expect(process.env.AWS_ENDPOINT_URL_SFN).toBe(api.endpoint);
    const { executionArn } = await sfnClient().send(
      new StartExecutionCommand({ stateMachineArn, name: 'evt-123', input: JSON.stringify({ mode: 'backfill', npns: ['1'] }) }),
    );
    await api.waitForAll();
    const described = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('SUCCEEDED');
    expect(seen).toMatchObject([{ input: { mode: 'backfill', npns: ['1'] }, executionName: 'evt-123' }]);
  });
});
