import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { allStates, loadStateMachine, runStateMachine, type Asl, type LambdaHandler } from '#local/state-machine';
import type { StackTemplate } from '#local/template';
import { smallAppTemplates } from './support/small-app.ts';

class InvalidInput extends Error {
  override name = 'InvalidInput';
}
class Throttled extends Error {
  override name = 'Throttled';
}

type Page = { endpoint: string; pages: number; page: number; nextPage: number | null; waitSeconds: number };

/** Handlers shaped like the product's: prepare fans out endpoints, sync-pages pages with a throttle and a wait. */
function handlers(seen: { prepare: unknown[]; pages: Page[]; throttleOnce: Set<string> }): Record<string, LambdaHandler> {
  return {
    PrepareFunction: async (event) => {
      seen.prepare.push(event);
      const { input } = event as { input: { pages?: Record<string, number>; bad?: boolean } };
      if (input.bad) throw new InvalidInput('runDate must be yyyy-MM-dd');
      return { endpoints: Object.entries(input.pages ?? {}).map(([endpoint, pages]) => ({ endpoint, pages, page: 0 })) };
    },
    SyncPagesFunction: async (event) => {
      const { endpoint, pages, page } = event as Page;
      if (seen.throttleOnce.delete(endpoint)) throw new Throttled('slow down');
      const result: Page = { endpoint, pages, page: page + 1, nextPage: page + 1 < pages ? page + 1 : null, waitSeconds: page === 0 ? 30 : 0 };
      seen.pages.push(result);
      return result;
    },
    FinalizeFunction: async (event) => ({ status: 'SUCCEEDED', endpoints: (event as { results: Page[] }).results.length }),
  };
}

describe('the synthesized state machine in aws-local-stepfunctions', () => {
  let stacks: StackTemplate[];
  beforeAll(async () => {
    stacks = await smallAppTemplates();
  });

  it('loads the ASL with ARNs resolved and rewrites IsNull:false into Not{IsNull:true}', () => {
    const asl = loadStateMachine(stacks, 'IsNotNullStateMachine');
    const text = JSON.stringify(asl);
    expect(text).not.toContain('"IsNull":false');
    expect(text).not.toContain('Fn::');
    const choice = allStates(asl as never).find(([name]) => name === 'BMorePages')?.[1] as unknown as { Choices: unknown[] };
    expect(choice.Choices[1]).toEqual({ Not: { Variable: '$.nextPage', IsNull: true }, Next: 'BSyncPages' });
  });

  it('proves the interpreter bug the rewrite avoids: raw IsNull:false stops the loop after one page', async () => {
    const asl: Asl = {
      StartAt: 'Page',
      States: {
        Page: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, 1)', 'next.$': '$.next' }, Next: 'More' },
        More: { Type: 'Choice', Choices: [{ Variable: '$.next', IsNull: false, Next: 'Page' } as never], Default: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const output = await new StateMachine(asl).run({ n: 0, next: 'x' }).result;
    // With correct semantics this would loop forever; the interpreter evaluates IsNull:false as false.
    expect(output).toEqual({ n: 1, next: 'x' });
  });

  for (const [constructId, label] of [
    ['SyncStateMachine', 'Condition.not(Condition.isNull())'],
    ['IsNotNullStateMachine', 'Condition.isNotNull() (rewritten on load)'],
  ] as const) {
    it(`pages every endpoint to the end with ${label}`, async () => {
      const seen = { prepare: [] as unknown[], pages: [] as Page[], throttleOnce: new Set(['licenses']) };
      const run = await runStateMachine(loadStateMachine(stacks, constructId), { pages: { entities: 3, licenses: 4, contacts: 1 } }, {
        handlers: handlers(seen),
        executionName: `run-${constructId}`,
      });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output).toEqual({ status: 'SUCCEEDED', endpoints: 3 });
      const pagesBy = (endpoint: string) => seen.pages.filter((p) => p.endpoint === endpoint).map((p) => p.page);
      expect(pagesBy('entities')).toEqual([1, 2, 3]);
      expect(pagesBy('licenses')).toEqual([1, 2, 3, 4]);
      expect(pagesBy('contacts')).toEqual([1]);
      // 8 successful pages + 1 throttled attempt retried at once (the 30 s retry interval and Wait are overridden).
      expect(run.invocations).toEqual({ PrepareFunction: 1, SyncPagesFunction: 9, FinalizeFunction: 1 });
      expect(seen.prepare).toEqual([{ input: { pages: { entities: 3, licenses: 4, contacts: 1 } }, executionName: `run-${constructId}` }]);
      expect(run.events.filter((e) => e.type === 'StateRetried').map((e) => e.state?.name)).toEqual([
        constructId === 'SyncStateMachine' ? 'SyncPages' : 'BSyncPages',
      ]);
      expect(run.transitions).toBe(run.events.filter((e) => e.type === 'StateEntered').length);
      expect(run.transitions).toBeGreaterThan(20);
    });
  }

  it('reports a handler error caught into a Fail state with the Lambda error document as cause', async () => {
    const seen = { prepare: [] as unknown[], pages: [] as Page[], throttleOnce: new Set<string>() };
    const run = await runStateMachine(loadStateMachine(stacks), { bad: true }, { handlers: handlers(seen), executionName: 'bad-input' });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInput');
    expect(JSON.parse(run.cause ?? '{}')).toEqual({ errorType: 'InvalidInput', errorMessage: 'runDate must be yyyy-MM-dd' });
    expect(seen.pages).toEqual([]);
  });

  it('fails an uncaught handler error with its type', async () => {
    const seen = { prepare: [] as unknown[], pages: [] as Page[], throttleOnce: new Set<string>() };
    const run = await runStateMachine(loadStateMachine(stacks), { pages: { entities: 2 } }, {
      handlers: { ...handlers(seen), FinalizeFunction: async () => { throw new TypeError('boom'); } },
      executionName: 'uncaught',
    });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TypeError');
    expect(run.invocations.SyncPagesFunction).toBe(2);
  });

  it('refuses to run when a Task has no handler', async () => {
    await expect(
      runStateMachine(loadStateMachine(stacks), {}, { handlers: { PrepareFunction: async () => ({}) }, executionName: 'x' }),
    ).rejects.toThrow(/No local handler for Task SyncPages/);
  });
});

describe("runStateMachine waitOverride: 'as-defined'", () => {
  const asl = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 1, Next: 'Done' }, Done: { Type: 'Succeed' } } } as unknown as Asl;
  const timed = async (options: Parameters<typeof runStateMachine>[2]): Promise<number> => {
    const started = Date.now();
    expect((await runStateMachine(asl, {}, options)).status).toBe('SUCCEEDED');
    return Date.now() - started;
  };

  it('waits what the definition says (a Retry-After must be honoured against a real API)', async () => {
    expect(await timed({ handlers: {}, executionName: 'wait-as-defined', waitOverride: 'as-defined' })).toBeGreaterThanOrEqual(950);
  });

  it('still skips waits by default', async () => {
    expect(await timed({ handlers: {}, executionName: 'wait-default' })).toBeLessThan(900);
  });
});
