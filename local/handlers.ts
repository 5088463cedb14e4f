/**
 * The one map from a function's construct id (as the templates name it: `SyncPagesFunction`, ...) to the
 * handler module that lib/ deploys for it. The harness wires every function the templates reference (state
 * machine Tasks, HTTP routes, event source mappings, schedules) through it; a function missing here fails
 * with a clear error instead of being skipped.
 */
import type { LambdaHandler } from '#local/state-machine';

export const FUNCTION_MODULES = {
  WebhookFunction: '../lambdas/webhook/handler.ts',
  DispatcherFunction: '../lambdas/dispatcher/handler.ts',
  PrepareFunction: '../lambdas/sync/prepare.ts',
  SyncPagesFunction: '../lambdas/sync/sync-pages.ts',
  FinalizeFunction: '../lambdas/sync/finalize.ts',
  ExampleConsumerFunction: '../lambdas/stream-consumer/example-consumer.ts',
  FeedPublisherFunction: '../lambdas/feed/publisher.ts',
} as const;

export type FunctionId = keyof typeof FUNCTION_MODULES;
export type HandlerMap = Partial<Record<FunctionId, LambdaHandler>> & Record<string, LambdaHandler>;

export const FUNCTION_IDS = Object.keys(FUNCTION_MODULES) as FunctionId[];

export function isFunctionId(id: string): id is FunctionId {
  return Object.hasOwn(FUNCTION_MODULES, id);
}

export interface LoadHandlersOptions {
  /**
   * A fresh module instance per call, like a new Lambda container: modules keep their clients, table names and
   * credentials at module level, so a second harness in one process must not see the first one's. Default false
   * (the instance the rest of the process imports).
   */
  freshContainers?: boolean;
}

let containers = 0;

/** The real handlers of the given functions (default: all), imported only now so they read the environment set up before. */
export async function loadHandlers(ids: readonly FunctionId[] = FUNCTION_IDS, options: LoadHandlersOptions = {}): Promise<HandlerMap> {
  const container = options.freshContainers ? ++containers : undefined;
  const entries = await Promise.all(
    ids.map(async (id) => {
      const url = new URL(FUNCTION_MODULES[id], import.meta.url);
      if (container !== undefined) url.searchParams.set('container', String(container));
      const module = (await import(url.href)) as { handler?: unknown };
      if (typeof module.handler !== 'function') throw new Error(`${FUNCTION_MODULES[id]} exports no handler function (${id})`);
      return [id, module.handler as LambdaHandler] as const;
    }),
  );
  return Object.fromEntries(entries) as HandlerMap;
}

/** The handler of a function id, or a clear error naming what the templates asked for. */
export function handlerFor(handlers: HandlerMap, id: string, usedBy: string): LambdaHandler {
  const handler = handlers[id];
  if (handler) return handler;
  const hint = isFunctionId(id) ? 'it was not loaded' : 'add its handler module to FUNCTION_MODULES in local/handlers.ts';
  throw new Error(`No local handler for function ${id} (${usedBy}): ${hint}`);
}
