/**
 * The app's CloudFormation templates for the local stand-ins. `buildApp()` costs seconds of CPU, so the
 * templates without bundling (the handlers run from source) are synthesized once per content of their inputs
 * and kept as JSON in the temp dir: every later process (test workers, `npm run local`, `local up`) reads them
 * in milliseconds. The benchmarks need the real bundles, so they synthesize with bundling into a directory.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { templatesFromAssembly, type StackTemplate } from '#local/template';

export const PROJECT_ROOT = join(import.meta.dirname, '..');

/**
 * What the app's templates are made from: lib/ builds them and imports from lambdas/ (the endpoint catalogue,
 * metric names), cdk.json holds the context, the lock file pins aws-cdk-lib.
 */
const APP_INPUTS = ['lib', 'lambdas', 'cdk.json', 'package.json', 'package-lock.json'];

/** Content hash of the given project files and folders (`.ts`/`.json` files, recursively; node_modules skipped). */
function fingerprint(inputs: string[], extra: string): string {
  const hash = createHash('sha256').update(extra);
  const add = (path: string): void => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== 'node_modules') add(join(path, name));
    } else if (/\.(ts|json)$/.test(path)) {
      hash.update(`${relative(PROJECT_ROOT, path)}\n`).update(readFileSync(path));
    }
  };
  for (const input of inputs) add(join(PROJECT_ROOT, input));
  return hash.digest('hex').slice(0, 16);
}

const memory = new Map<string, Promise<StackTemplate[]>>();

/**
 * Synthesizes once per content of `inputs` (plus `extraKey`) and shares the templates across processes through a
 * temp-dir cache. `synth` should import aws-cdk-lib lazily so a cache hit never loads it.
 */
export function cachedTemplates(name: string, inputs: string[], synth: () => Promise<StackTemplate[]>, extraKey = ''): Promise<StackTemplate[]> {
  const key = `${name}-${fingerprint(inputs, extraKey)}`;
  let pending = memory.get(key);
  if (!pending) {
    pending = (async () => {
      const dir = join(tmpdir(), 'producersync-local-synth');
      const file = join(dir, `${key}.json`);
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as StackTemplate[];
      } catch {
        const stacks = await synth();
        mkdirSync(dir, { recursive: true });
        // Write then rename, so a concurrent reader never sees half a file.
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(stacks));
        renameSync(tmp, file);
        return stacks;
      }
    })();
    memory.set(key, pending);
    pending.catch(() => memory.delete(key));
  }
  return pending;
}

type BuildApp = (options?: { context?: Record<string, unknown>; outdir?: string }) => {
  app: { synth(): { stacks: ReadonlyArray<{ stackName: string; template: unknown }> } };
};

async function loadBuildApp(): Promise<BuildApp> {
  try {
    return (await import('#lib/app')).buildApp as BuildApp;
  } catch (error) {
    throw new Error(`the local harness needs buildApp() from '#lib/app' (lib/app.ts), which could not be loaded: ${(error as Error).message}`);
  }
}

/**
 * The real app's templates (`buildApp()` from lib/app.ts) without bundling, cached. CDK_CONTEXT_JSON (the CLI's
 * way to pass `-c` context, honoured by the App) is part of the key, so each context gets its own templates.
 */
export function appTemplates(): Promise<StackTemplate[]> {
  const contextJson = process.env.CDK_CONTEXT_JSON ?? '';
  return cachedTemplates(
    'app',
    APP_INPUTS,
    async () => {
      const buildApp = await loadBuildApp();
      const { app } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
      return templatesFromAssembly(app.synth());
    },
    contextJson,
  );
}

/**
 * The real app synthesized the way `cdk synth` does it, esbuild bundles included, into `outdir` (never cached:
 * the benchmarks read the bundles). Construct paths name the functions, asset metadata locates their bundles.
 */
export async function bundledAppTemplates(outdir: string): Promise<StackTemplate[]> {
  const buildApp = await loadBuildApp();
  const { app } = buildApp({ outdir, context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true } });
  return templatesFromAssembly(app.synth());
}
