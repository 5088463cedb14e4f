import type { Context } from 'aws-lambda';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

/** One entry of the interpreter's event log (StateEntered, StateRetried, MapIterationStarted...). */
export type ExecutionEvent = { type: string; timestamp: number; state?: { name: string; type: string } };
import { lambdaContext } from '#local/lambda-context';
import {
  pathContains,
  resolveIntrinsics,
  resourcesOfType,
  type PhysicalResource,
  type StackTemplate,
} from '#local/template';

/** A state machine definition (Amazon States Language), as loaded from a template. */
export type Asl = StateMachineDefinition;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = Record<string, unknown> & { Type: string };
type StatesContainer = { States: Record<string, State> };

const TYPE_TESTS = ['IsNull', 'IsPresent', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp'] as const;

export interface LoadStateMachineOptions {
  /** Provisioned resources (from provisionFromTemplates) so ARNs in the definition match them. */
  physical?: Map<string, PhysicalResource>;
}

/**
 * The synthesized definition of a state machine, intrinsics resolved and the interpreter's `Is*: false`
 * bug worked around (each becomes `Not {Is*: true}`).
 */
export function loadStateMachine(stacks: StackTemplate[], constructId = 'SyncStateMachine', options: LoadStateMachineOptions = {}): Asl {
  const machines = resourcesOfType(stacks, 'AWS::StepFunctions::StateMachine');
  const found =
    machines.find((m) => m.constructId === constructId || m.logicalId === constructId) ??
    machines.find((m) => pathContains(m.resource, constructId));
  if (!found) {
    throw new Error(`No state machine ${constructId} (found: ${machines.map((m) => m.constructId).join(', ') || 'none'})`);
  }
  const ctx = { stacks, stack: found.stack, physical: options.physical ?? new Map() };
  const props = found.resource.Properties ?? {};
  let definition: unknown;
  if (props.DefinitionString !== undefined) {
    let text = String(resolveIntrinsics(props.DefinitionString, ctx));
    const substitutions = resolveIntrinsics(props.DefinitionSubstitutions ?? {}, ctx) as Record<string, unknown>;
    for (const [key, value] of Object.entries(substitutions)) text = text.replaceAll(`\${${key}}`, String(value));
    definition = JSON.parse(text);
  } else if (props.Definition !== undefined) {
    definition = resolveIntrinsics(props.Definition, ctx);
  } else {
    throw new Error(`State machine ${constructId} has no definition (S3 definitions are not supported locally)`);
  }
  return rewriteTypeTests(definition) as Asl;
}

/** Rewrites `{Variable, IsNull: false}` (and every other `Is*: false`) into `{Not: {Variable, IsNull: true}}`. */
export function rewriteTypeTests(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteTypeTests);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const negated = TYPE_TESTS.find((test) => object[test] === false);
  if (negated && typeof object.Variable === 'string') {
    const { Next, [negated]: _dropped, ...rule } = object;
    const rewritten: Record<string, unknown> = { Not: { ...rule, [negated]: true } };
    if (Next !== undefined) rewritten.Next = Next;
    return rewritten;
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, rewriteTypeTests(v)]));
}

/** Every state of the machine, nested Map ItemProcessor/Iterator and Parallel branches included. */
export function allStates(asl: StatesContainer): Array<[string, State]> {
  const states: Array<[string, State]> = [];
  for (const [name, state] of Object.entries(asl.States)) {
    states.push([name, state]);
    const nested = [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[] | undefined) ?? [])];
    for (const machine of nested) if (machine) states.push(...allStates(machine as StatesContainer));
  }
  return states;
}

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface RunStateMachineOptions {
  /** Handlers by Lambda function id (`SyncPagesFunction`...); a Task state name works too. */
  handlers: Record<string, LambdaHandler>;
  /** `$$.Execution.Name` (the runId). */
  executionName: string;
  executionArn?: string;
  /**
   * Milliseconds every Wait state actually waits (default 0, so tests never sleep); `'as-defined'` waits what the
   * definition says (a 429's Retry-After against a real API must be honoured).
   */
  waitOverride?: number | 'as-defined';
  /** Milliseconds between retries (default 0). */
  retryIntervalMs?: number;
  abortSignal?: AbortSignal;
}

export interface StateMachineRun {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  output?: unknown;
  error?: string;
  cause?: string;
  /** State transitions (StateEntered events), nested Map/Parallel states included. */
  transitions: number;
  /** Handler invocations by function id. */
  invocations: Record<string, number>;
  /** The interpreter's event log, nested Map/Parallel events included. */
  events: ExecutionEvent[];
}

const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke(\.waitForTaskToken)?$/;

/** The function name inside a Lambda ARN (qualifier dropped) or a bare name. */
function functionNameOf(nameOrArn: string): string {
  const match = /:function:([^:]+)/.exec(nameOrArn);
  return match?.[1] ?? nameOrArn;
}

function handlerIdFor(functionName: string, stateName: string, handlers: Record<string, LambdaHandler>): string {
  const ids = Object.keys(handlers);
  const byFunction = ids.find((id) => functionName === id || functionName.endsWith(`-${id}`));
  const id = byFunction ?? (handlers[stateName] ? stateName : undefined);
  if (!id) throw new Error(`No local handler for Task ${stateName} (function ${functionName}); known: ${ids.join(', ')}`);
  return id;
}

/** Lambda's failure shape: the error type names the Step Functions error, the cause is the JSON error document. */
class LambdaFunctionError extends Error {
  constructor(original: unknown) {
    const error = original instanceof Error ? original : new Error(String(original));
    const errorType = error.name && error.name !== 'Error' ? error.name : (error.constructor?.name ?? 'Error');
    super(JSON.stringify({ errorType, errorMessage: error.message }));
    this.name = errorType;
  }
}

/**
 * One validated StateMachine per definition: its constructor checks the ASL against JSON schemas
 * it compiles anew each time (about 200 ms of CPU for the sync machine, a visible share of the
 * benchmarks' engine CPU per record); the handlers and overrides are per run, so it is reusable.
 */
const machines = new WeakMap<Asl, StateMachine>();

function machineFor(asl: Asl): StateMachine {
  let machine = machines.get(asl);
  if (!machine) {
    machine = new StateMachine(asl, { validationOptions: { checkArn: false } });
    machines.set(asl, machine);
  }
  return machine;
}

/** Runs the definition in aws-local-stepfunctions, Lambda tasks served by local handlers. */
export async function runStateMachine(asl: Asl, input: unknown, options: RunStateMachineOptions): Promise<StateMachineRun> {
  const invocations: Record<string, number> = {};
  const taskHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [stateName, state] of allStates(asl as unknown as StatesContainer)) {
    if (state.Retry || state.Catch) retryIntervalOverrides[stateName] = options.retryIntervalMs ?? 0;
    if (state.Type === 'Wait' && options.waitOverride !== 'as-defined') waitTimeOverrides[stateName] = options.waitOverride ?? 0;
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    const viaInvoke = LAMBDA_INVOKE.test(resource);
    const parameters = state.Parameters as Record<string, unknown> | undefined;
    const target = viaInvoke ? String(parameters?.FunctionName ?? parameters?.['FunctionName.$'] ?? '') : resource;
    if (!viaInvoke && !/:lambda:.*:function:/.test(resource)) {
      throw new Error(`Task ${stateName} uses ${resource}: only Lambda tasks run locally`);
    }
    const id = handlerIdFor(functionNameOf(target), stateName, options.handlers);
    const handler = options.handlers[id] as LambdaHandler;
    const invoke = async (event: unknown): Promise<Json> => {
      invocations[id] = (invocations[id] ?? 0) + 1;
      try {
        // A Lambda's result crosses a JSON boundary; undefined becomes null.
        return JSON.parse(JSON.stringify((await handler(event, lambdaContext(id))) ?? null)) as Json;
      } catch (error) {
        throw new LambdaFunctionError(error);
      }
    };
    taskHandlers[stateName] = viaInvoke
      ? async (request) => {
          const payload = await invoke((request as { Payload?: unknown }).Payload);
          return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
        }
      : invoke;
  }

  const machine = machineFor(asl);
  const executionArn =
    options.executionArn ?? `arn:aws:states:us-east-1:000000000000:execution:local:${options.executionName}`;
  const execution = machine.run(input as Json, {
    overrides: { taskResourceLocalHandlers: taskHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: { Execution: { Id: executionArn, Name: options.executionName, RoleArn: 'arn:aws:iam::000000000000:role/local' } },
  });
  options.abortSignal?.addEventListener('abort', () => execution.abort(), { once: true });

  const events: ExecutionEvent[] = [];
  const recording = (async () => {
    for await (const event of execution.eventLogs) events.push(event as ExecutionEvent);
  })();

  let run: StateMachineRun;
  try {
    const output = await execution.result;
    run = { status: 'SUCCEEDED', output, transitions: 0, invocations, events };
  } catch (error) {
    const failure = error as Error & { cause?: unknown };
    const kind = failure.constructor?.name;
    const status = kind === 'ExecutionAbortedError' ? 'ABORTED' : kind === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
    run = { status, transitions: 0, invocations, events, ...executionFailure(failure) };
  }
  await recording.catch(() => undefined);
  run.transitions = events.filter((event) => event.type === 'StateEntered').length;
  return run;
}

/** Error/cause of a failed execution as Step Functions reports them. */
function executionFailure(failure: Error & { cause?: unknown }): { error: string; cause?: string } {
  const inner = failure.cause as (Error & { cause?: unknown }) | undefined;
  const source = inner instanceof Error ? inner : failure;
  const cause = source.cause ?? source.message;
  return { error: source.name, ...(cause !== undefined && cause !== '' ? { cause: String(cause) } : {}) };
}
