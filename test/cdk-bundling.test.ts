import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProducerSyncFunction } from '#lib/constructs/node-function';
import { TokenLayer } from '#lib/constructs/token-layer';

// Bundles for real (esbuild on this machine, no Docker). The function entry is a stable,
// dependency-free module so this test does not depend on handlers being written elsewhere.
describe('bundling with local esbuild', () => {
  let outdir: string;
  let template: Template;
  const assetDirs = (): string[] => readdirSync(outdir).filter((d) => d.startsWith('asset.')).map((d) => join(outdir, d));

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'producersync-bundling-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'BundlingProbe');
    const { layer } = new TokenLayer(stack, 'TokenLayer');
    new ProducerSyncFunction(stack, 'ProbeFunction', {
      entry: 'lambdas/producersync/endpoints.ts',
      name: 'probe',
      description: 'bundling probe',
      layers: [layer],
    });
    // A second entry in the same folder must get its own bundle (aws-cdk-lib caches bundles by options).
    new ProducerSyncFunction(stack, 'SiblingFunction', { entry: 'lambdas/producersync/errors.ts', name: 'sibling', description: 'bundling probe 2' });
    app.synth();
    template = Template.fromStack(stack);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('ships the token layer as nodejs/node_modules/@producersync/token-cache with an ESM package.json', async () => {
    const layerDir = assetDirs().find((d) => existsSync(join(d, 'nodejs/node_modules/@producersync/token-cache/index.mjs')));
    expect(layerDir).toBeDefined();
    const packageDir = join(layerDir!, 'nodejs/node_modules/@producersync/token-cache');
    expect(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'))).toEqual({
      name: '@producersync/token-cache',
      type: 'module',
      exports: './index.mjs',
    });
    // The layer module is self-contained ESM: it loads as Lambda would load it.
    const layerModule = (await import(pathToFileURL(join(packageDir, 'index.mjs')).href)) as Record<string, unknown>;
    expect(Object.values(layerModule).some((value) => typeof value === 'function')).toBe(true);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleRuntimes: ['nodejs24.x'] });
  });

  it('bundles each entry on its own, even two from one folder', () => {
    const codeOf = (prefix: string) => JSON.stringify((template.findResources('AWS::Lambda::Function')[Object.keys(template.findResources('AWS::Lambda::Function')).find((id) => id.startsWith(prefix))!] as { Properties: { Code: unknown } }).Properties.Code);
    expect(codeOf('ProbeFunction')).not.toEqual(codeOf('SiblingFunction'));
  });

  it('bundles functions as minified ESM index.mjs with a source map and a require shim', () => {
    const functionDir = assetDirs().find((d) => existsSync(join(d, 'index.mjs')) && readFileSync(join(d, 'index.mjs'), 'utf8').includes('api.sandbox.agentsync.io'));
    expect(functionDir).toBeDefined();
    const code = readFileSync(join(functionDir!, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __psCreateRequire } from 'node:module'; const require = __psCreateRequire(import.meta.url);")).toBe(true);
    expect(code).toMatch(/export\s*\{/);
    expect(code).toContain('sourceMappingURL=index.mjs.map');
    expect(existsSync(join(functionDir!, 'index.mjs.map'))).toBe(true);
    expect(code).toContain('api.sandbox.agentsync.io');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Architectures: ['arm64'],
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_METRICS_NAMESPACE: 'ProducerSync', POWERTOOLS_SERVICE_NAME: 'producersync-probe' } },
    });
  });
});
