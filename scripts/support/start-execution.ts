import { DescribeExecutionCommand, ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sleep } from '#producersync/retry';
import { connectLocalDeployment } from '../local-deployment/connect.ts';
import type { TextSink } from './cli-io.ts';
import type { CommandContext } from './command.ts';
import type { Options } from './options.ts';
import { executionConsoleUrl, resolveStateMachineArn } from './deployed-stack.ts';

/**
 * StartExecution with exactly the input an operator would type in the console, then optionally
 * wait for the outcome, progress on stderr (a redrawn line on a terminal, a line per status change
 * otherwise), never on stdout.
 */
export interface ExecutionReport {
  name: string;
  executionArn: string;
  input: unknown;
  /** The execution in the Step Functions console (absent for the local deployment, which has none). */
  consoleUrl?: string;
  /** With --wait: the final status, and the output or the error. */
  status?: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

const FINAL = (status: string | undefined): boolean => status !== 'RUNNING' && status !== 'PENDING_REDRIVE';

function progressLine(stderr: TextSink): { update(status: string, seconds: number): void; end(): void } {
  let last = '';
  return {
    update(status, seconds) {
      if (stderr.isTTY) stderr.write(`\r${status} after ${seconds}s   `);
      else if (status !== last) stderr.write(`${status} after ${seconds}s\n`);
      last = status;
    },
    end: () => void (stderr.isTTY && last ? stderr.write('\n') : undefined),
  };
}

const parsedOutput = (output: string | undefined): unknown => {
  if (output === undefined) return undefined;
  try {
    return JSON.parse(output) as unknown;
  } catch {
    return output;
  }
};

/** Where executions start: the state machine of the local deployment (`--local`) or of the deployed account. */
export interface ExecutionTarget {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  readonly local: boolean;
}

export async function executionTarget(
  context: CommandContext<Options>,
  values: { local: boolean; 'data-dir'?: string | undefined; 'state-machine-arn'?: string | undefined },
): Promise<ExecutionTarget> {
  if (!values.local) return { sfn: new SFNClient({ ...context.aws }), stateMachineArn: await resolveStateMachineArn(context, values['state-machine-arn']), local: false };
  const { sfn, stateMachineArn } = connectLocalDeployment(values['data-dir']);
  return { sfn, stateMachineArn, local: true };
}

/**
 * Starts the executions one after the other (with `wait`, each ends before the next starts), telling
 * people what started as it goes; returns their reports and the exit code (1 if any did not succeed).
 */
export async function runExecutions(
  context: CommandContext<Options>,
  target: ExecutionTarget,
  opts: { executions: ReadonlyArray<{ name: string; input: unknown }>; wait: boolean; pollMs?: number },
): Promise<{ reports: ExecutionReport[]; exitCode: number }> {
  const { sfn, stateMachineArn } = target;
  const reports: ExecutionReport[] = [];
  let exitCode = 0;
  for (const { name, input } of opts.executions) {
    let executionArn: string;
    try {
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), name }));
      executionArn = started.executionArn!;
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) throw new Error(`an execution named "${name}" already exists; pick another --name or redrive it from the console`, { cause: error });
      throw error;
    }
    const report: ExecutionReport = { name, executionArn, input, ...(target.local ? {} : { consoleUrl: executionConsoleUrl(executionArn) }) };
    reports.push(report);
    context.info([`started ${executionArn}`, `input   ${JSON.stringify(input)}`, ...(report.consoleUrl ? [`console ${report.consoleUrl}`] : [])].join('\n'));
    if (!opts.wait) continue;

    const startedAt = Date.now();
    const progress = progressLine(context.io.stderr);
    for (;;) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      const seconds = Math.round((Date.now() - startedAt) / 1000);
      progress.update(d.status ?? 'UNKNOWN', seconds);
      if (FINAL(d.status)) {
        progress.end();
        Object.assign(report, { status: d.status }, d.output === undefined ? {} : { output: parsedOutput(d.output) }, d.error ? { error: d.error } : {}, d.cause ? { cause: d.cause } : {});
        if (d.status === 'SUCCEEDED') context.info(`status  SUCCEEDED after ${seconds}s\noutput  ${d.output ?? ''}`);
        else {
          context.log(`execution ${name} ${d.status}: ${[d.error, d.cause].filter(Boolean).join(' ')}`.trim());
          exitCode = 1;
        }
        break;
      }
      await sleep(opts.pollMs ?? 5000);
    }
  }
  return { reports, exitCode };
}
