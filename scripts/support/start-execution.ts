import { DescribeExecutionCommand, ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { executionConsoleUrl } from './deployed-stack.ts';

/**
 * StartExecution with exactly the input an operator would type in the console, then
 * optionally wait for the outcome with a progress line.
 */
export async function startAndMaybeWait(
  sfn: SFNClient,
  opts: { stateMachineArn: string; input: unknown; name?: string; wait: boolean; pollMs?: number },
): Promise<number> {
  const input = JSON.stringify(opts.input);
  let executionArn: string;
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: opts.stateMachineArn, input, name: opts.name }));
    executionArn = started.executionArn!;
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) {
      console.error(`an execution named "${opts.name}" already exists; pick another --name or redrive it from the console`);
      return 1;
    }
    throw error;
  }
  console.log(`started ${executionArn}\ninput   ${input}\nconsole ${executionConsoleUrl(executionArn)}`);
  if (!opts.wait) return 0;
  const started = Date.now();
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const elapsed = Math.round((Date.now() - started) / 1000);
    process.stdout.write(`\r${d.status} after ${elapsed}s   `);
    if (d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') {
      process.stdout.write('\n');
      if (d.status === 'SUCCEEDED') {
        console.log(d.output ?? '');
        return 0;
      }
      console.error(`execution ${d.status}: ${d.error ?? ''} ${d.cause ?? ''}`.trim());
      return 1;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 5000));
  }
}
