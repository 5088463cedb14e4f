import { describe, expect, it } from 'vitest';
import { FUNCTION_IDS, FUNCTION_MODULES, handlerFor, loadHandlers } from '#local/handlers';
import { appTemplates } from '#local/synth';
import { resourcesOfType } from '#local/template';

describe('the function map', () => {
  it('has a handler module for every function of the product in the synthesized app', async () => {
    // The product's functions all set a Powertools service name; CDK's own provider functions do not.
    const functions = resourcesOfType(await appTemplates(), 'AWS::Lambda::Function')
      .filter((f) => (f.resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map((f) => f.constructId);
    expect(functions.length).toBeGreaterThan(0);
    expect(functions.filter((id) => !(id in FUNCTION_MODULES))).toEqual([]);
  });

  it('loads each handler; fresh containers are separate module instances, the default is the process-wide one', async () => {
    const shared = await loadHandlers();
    expect(Object.keys(shared).sort()).toEqual([...FUNCTION_IDS].sort());
    for (const handler of Object.values(shared)) expect(typeof handler).toBe('function');
    const { handler: prepare } = await import('#sync/prepare');
    expect(shared.PrepareFunction).toBe(prepare);
    const fresh = await loadHandlers(['PrepareFunction'], { freshContainers: true });
    expect(fresh.PrepareFunction).not.toBe(prepare);
  });

  it('names the function and what asked for it when a handler is missing', () => {
    expect(() => handlerFor({}, 'ReconcilerFunction', 'route POST /x')).toThrow(
      'No local handler for function ReconcilerFunction (route POST /x): add its handler module to FUNCTION_MODULES in local/handlers.ts',
    );
  });
});
