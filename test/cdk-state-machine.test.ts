import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { definitionTextOf } from './cdk-definition.ts';

// Runs the synthesized definition in the local ASL interpreter with stand-in handlers, so the
// flow (loop, wait, catch, resume) is checked as a machine, not only as JSON.
type Json = Record<string, unknown>;
type Handler = (input: Json) => unknown;

const endpointItem = (endpoint: string) => ({ runId: 'run-1', endpoint, mode: 'incremental', updatedSince: '2025-07-24', npns: null });

describe('sync state machine, executed by the local interpreter', () => {
  let definition: StateMachineDefinition;

  beforeAll(() => {
    const { syncStack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [] } });
    const machine = Object.values(Template.fromStack(syncStack).findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: Json };
    definition = JSON.parse(definitionTextOf(machine));
  });

  function run(handlers: Record<string, Handler>, input: Json) {
    const machine = new StateMachine(definition);
    const zero = { Prepare: 0, SyncPages: 0, ResumeSyncPages: 0, RecordRun: 0, RecordRun2: 0 };
    return machine.run(input as Parameters<StateMachine['run']>[0], {
      context: { Execution: { Name: 'run-1' } },
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        waitTimeOverrides: { WaitForRateBudget: 0, ResumeWaitForRateBudget: 0 },
        retryIntervalOverrides: zero,
      },
    });
  }

  const runResult = (handlers: Record<string, Handler>, input: Json) => run(handlers, input).result;

  const prepare = (endpoints: string[]): Handler => (event) => {
    expect(event).toEqual({ input: { runDate: '2025-07-24' }, executionName: 'run-1', startTime: expect.any(String) });
    return { runId: 'run-1', mode: 'incremental', updatedSince: '2025-07-24', npns: null, endpoints: endpoints.map(endpointItem) };
  };

  it('pages each endpoint until done, waiting when told to, then records the run once', async () => {
    const calls: string[] = [];
    const script: Record<string, Json[]> = {
      licenses: [{ done: false, waitSeconds: 0, pages: 3 }, { done: false, waitSeconds: 7, pages: 1 }, { done: true, waitSeconds: 0, pages: 2 }],
      entities: [{ done: true, waitSeconds: 0, pages: 1 }],
    };
    const finalizeInputs: Json[] = [];
    const output = (await runResult(
      {
        Prepare: prepare(['licenses', 'entities']),
        SyncPages: (event) => {
          const endpoint = String(event.endpoint);
          calls.push(endpoint);
          return { ...event, ...script[endpoint]!.shift()! };
        },
        RecordRun: (state) => {
          finalizeInputs.push(state);
          return { status: 'SUCCEEDED', failedEndpoints: [] };
        },
      },
      { runDate: '2025-07-24' },
    )) as Json;

    expect(calls.filter((c) => c === 'licenses')).toHaveLength(3);
    expect(calls.filter((c) => c === 'entities')).toHaveLength(1);
    expect(finalizeInputs).toHaveLength(1);
    expect(finalizeInputs[0]!.runId).toBe('run-1');
    expect(finalizeInputs[0]!.results).toEqual([
      { ...endpointItem('licenses'), done: true, waitSeconds: 0, pages: 2 },
      { ...endpointItem('entities'), done: true, waitSeconds: 0, pages: 1 },
    ]);
    expect(output.run).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
  });

  it('turns a still-failing endpoint into {endpoint, failed, error}, resumes it once and records again', async () => {
    let addressesAttempts = 0;
    const finalizeInputs: Json[] = [];
    const output = (await runResult(
      {
        Prepare: prepare(['addresses', 'entities']),
        SyncPages: (event) => {
          if (event.endpoint === 'addresses') {
            addressesAttempts++;
            throw Object.assign(new Error('upstream 503'), { name: 'UpstreamUnavailable' });
          }
          return { ...event, done: true, waitSeconds: 0, pages: 1 };
        },
        RecordRun: (state) => {
          finalizeInputs.push(state);
          return { status: 'FAILED', failedEndpoints: [endpointItem('addresses')] };
        },
        ResumeSyncPages: (event) => ({ ...event, done: true, waitSeconds: 0, pages: 4 }),
        RecordRun2: (state) => {
          finalizeInputs.push(state);
          return { status: 'SUCCEEDED', failedEndpoints: [] };
        },
      },
      { runDate: '2025-07-24' },
    )) as Json;

    expect(addressesAttempts).toBe(4); // first try + 3 States.TaskFailed retries
    const failed = (finalizeInputs[0]!.results as Json[])[0]!;
    expect(failed).toMatchObject({ endpoint: 'addresses', failed: true, error: { Error: 'UpstreamUnavailable' } });
    expect(finalizeInputs[1]!.results).toEqual([{ ...endpointItem('addresses'), done: true, waitSeconds: 0, pages: 4 }]);
    expect(output.run).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
  });

  it('outlasts throttling of the reserved pool and transient failures of Prepare and RecordRun', async () => {
    const fail = (name: string) => {
      throw Object.assign(new Error(name), { name });
    };
    const attempts = { Prepare: 0, SyncPages: 0, RecordRun: 0 };
    const output = (await runResult(
      {
        Prepare: (event) => (++attempts.Prepare === 1 ? fail('TypeError') : prepare(['licenses'])(event)),
        // Ten throttles in a row: more than the service-error retrier's six attempts would survive.
        SyncPages: (event) => (++attempts.SyncPages <= 10 ? fail('Lambda.TooManyRequestsException') : { ...event, done: true, waitSeconds: 0, pages: 1 }),
        RecordRun: () => (++attempts.RecordRun === 1 ? fail('Lambda.ClientExecutionTimeoutException') : { status: 'SUCCEEDED', failedEndpoints: [] }),
      },
      { runDate: '2025-07-24' },
    )) as Json;
    expect(attempts).toEqual({ Prepare: 2, SyncPages: 11, RecordRun: 2 });
    expect(output.run).toEqual({ status: 'SUCCEEDED', failedEndpoints: [] });
    expect((output.results as Json[])[0]).toMatchObject({ endpoint: 'licenses', done: true });
  });

  it('fails the execution with InvalidInput and the cause when prepare rejects the input, without retrying it', async () => {
    let prepareCalls = 0;
    const execution = run(
      {
        Prepare: () => {
          prepareCalls++;
          throw Object.assign(new Error('runDate must be yyyy-MM-dd'), { name: 'InvalidInput' });
        },
      },
      { runDate: 'yesterday' },
    );
    const entered: string[] = [];
    const collecting = (async () => {
      for await (const event of execution.eventLogs) if (event.type === 'StateEntered') entered.push(event.state.name);
    })();
    await expect(execution.result).rejects.toMatchObject({ cause: { name: 'InvalidInput', message: 'runDate must be yyyy-MM-dd' } });
    await collecting;
    expect(entered).toEqual(['Prepare', 'InvalidInput']);
    expect(prepareCalls).toBe(1);
  });
});
