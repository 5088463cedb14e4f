import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  InvalidName,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localAwsEnv } from '#local/aws-env';
import { startSfnApi, type SfnApi } from '#local/sfn-api';
import type { Asl } from '#local/state-machine';

const MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:test-sync';

/** Prepare → Work: Work blocks until released, so tests control when executions finish. */
const asl: Asl = {
  StartAt: 'Prepare',
  States: {
    Prepare: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:x-PrepareFunction', 'Payload.$': '$' },
      OutputPath: '$.Payload',
      Next: 'Work',
    },
    Work: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:x-WorkFunction', End: true },
  },
};

describe('Step Functions API stand-in', () => {
  let api: SfnApi;
  let sfn: SFNClient;
  const release = new Map<string, () => void>();
  const failOnce = new Set<string>();
  const workCalls: string[] = [];

  beforeAll(async () => {
    api = await startSfnApi({
      stateMachines: { [MACHINE_ARN]: asl },
      handlers: {
        PrepareFunction: async (event) => ({ ...(event as object), prepared: true }),
        WorkFunction: async (event) => {
          const { key } = event as { key: string };
          workCalls.push(key);
          if (key.startsWith('hold')) await new Promise<void>((resolve) => release.set(key, resolve));
          if (failOnce.delete(key)) throw new RangeError('transient');
          return { done: key };
        },
      },
    });
    const env = localAwsEnv({ sfn: api.endpoint });
    sfn = new SFNClient({ endpoint: env.AWS_ENDPOINT_URL_SFN, region: env.AWS_REGION, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  });
  afterAll(() => api.stop());

  it('runs an execution asynchronously and describes its result', async () => {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-a', input: '{"key":"a"}' }));
    expect(started.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:test-sync:run-a');
    await api.waitForAll();
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? 'null')).toEqual({ done: 'a' });
    expect(described.startDate).toBeInstanceOf(Date);
  });

  it('applies the name rules: same name + input while running is idempotent, otherwise ExecutionAlreadyExists', async () => {
    const input = '{"key":"hold-b"}';
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-b', input }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-b', input }));
    expect(again.executionArn).toBe(first.executionArn);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-b', input: '{"key":"other"}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);

    await vi.waitFor(() => expect(release.has('hold-b')).toBe(true));
    release.get('hold-b')?.();
    await api.waitForAll();
    // Closed now: even the same input conflicts.
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-b', input }))).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );
    expect(api.executions().filter((e) => e.name === 'run-b')).toHaveLength(1);
  });

  it('rejects invalid names', async () => {
    for (const name of ['has space', 'a:b', 'x'.repeat(81), '']) {
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name, input: '{}' }))).rejects.toBeInstanceOf(
        InvalidName,
      );
    }
  });

  it('redrives a failed execution with the same name and input', async () => {
    failOnce.add('c');
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-c', input: '{"key":"c"}' }));
    await api.waitForAll();
    const failed = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(failed).toMatchObject({ status: 'FAILED', error: 'RangeError', redriveStatus: 'REDRIVABLE' });

    await sfn.send(new RedriveExecutionCommand({ executionArn }));
    await api.waitForAll();
    const redriven = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1, name: 'run-c' });
    expect(workCalls.filter((k) => k === 'c')).toHaveLength(2);
  });

  it('stops a running execution and lists executions newest first', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'run-d', input: '{"key":"hold-d"}' }));
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Manual', cause: 'test' }));
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
    release.get('hold-d')?.();
    await api.waitForAll();

    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE_ARN }));
    expect(listed.executions?.map((e) => e.name)).toEqual(['run-d', 'run-c', 'run-b', 'run-a']);
    const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE_ARN, statusFilter: 'ABORTED' }));
    expect(aborted.executions?.map((e) => e.name)).toEqual(['run-d']);
  });
});

describe('Step Functions API stand-in with a store file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfn-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the executions across a restart and runs those cut short again under their own names', async () => {
    const storeFile = join(dir, 'executions.json');
    const calls: string[] = [];
    const handlers = (hold: boolean) => ({
      PrepareFunction: async (event: unknown) => event,
      WorkFunction: async (event: unknown) => {
        const { key } = event as { key: string };
        calls.push(key);
        if (hold && key === 'cut') await new Promise(() => undefined); // the process goes away mid-run
        return { done: key };
      },
    });
    const first = await startSfnApi({ stateMachines: { [MACHINE_ARN]: asl }, handlers: handlers(true), storeFile });
    const client = (api: SfnApi) => new SFNClient({ endpoint: api.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const done = await client(first).send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'done', input: '{"key":"done"}' }));
    await first.waitFor(done.executionArn!);
    const cut = await client(first).send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'cut', input: '{"key":"cut"}' }));
    await vi.waitFor(() => expect(calls).toContain('cut'));
    await first.stop();

    const second = await startSfnApi({ stateMachines: { [MACHINE_ARN]: asl }, handlers: handlers(false), storeFile });
    try {
      const sfn = client(second);
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn: done.executionArn }))).status).toBe('SUCCEEDED');
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn: cut.executionArn }))).status).toBe('RUNNING');
      expect(calls.filter((key) => key === 'done')).toHaveLength(1);
      expect(second.resumeStored()).toEqual(['cut']);
      expect(second.resumeStored()).toEqual([]);
      const resumed = await second.waitFor(cut.executionArn!);
      expect({ status: resumed.status, name: resumed.name, output: resumed.output }).toEqual({ status: 'SUCCEEDED', name: 'cut', output: { done: 'cut' } });
      expect(calls.filter((key) => key === 'done')).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});
