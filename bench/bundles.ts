/**
 * 6. Lambda bundles: size of each function bundle and of the token layer exactly as `cdk synth`
 * builds them (the run synthesizes the real app with bundling on), and the time to import each
 * one in a fresh Node process laid out as Lambda does: the handler file, the layer package in
 * node_modules, the AWS SDK from outside the bundle (on Lambda it comes with the runtime), and
 * the function's own NODE_OPTIONS (source maps on).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TOKEN_CACHE_PACKAGE } from '#lib/paths';
import { TOKEN_LAYER_PACKAGE_DIR } from '#lib/constructs/token-layer';
import { constructIdOf } from '#local/template';
import type { BenchStack } from './support/local-stack.ts';
import { median, num, type BenchOutcome, type Figure } from './support/report.ts';

export interface BundleFigure {
  name: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  /** Median time of `await import(bundle)` in a fresh process. */
  importMs: number;
  /** Median spawn-to-exit of that process (Node's own start included). */
  processMs: number;
}

const BUNDLE_FILE = 'index.mjs';

function sizes(file: string): Pick<BundleFigure, 'bytes' | 'gzipBytes' | 'sourceMapBytes'> {
  const map = `${file}.map`;
  return {
    bytes: statSync(file).size,
    gzipBytes: gzipSync(readFileSync(file)).length,
    sourceMapBytes: existsSync(map) ? statSync(map).size : 0,
  };
}

/** Imports `file` in a new Node process `runs` times; the medians of the import and of the whole process. */
function loadTimes(file: string, nodeOptions: string, runs: number): Pick<BundleFigure, 'importMs' | 'processMs'> {
  const script = 'const t = performance.now(); await import(process.env.BENCH_BUNDLE_URL); process.stdout.write(String(performance.now() - t));';
  const imports: number[] = [];
  const processes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_OPTIONS: nodeOptions,
        AWS_REGION: 'us-east-1',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        BENCH_BUNDLE_URL: pathToFileURL(file).href,
      },
      encoding: 'utf8',
    });
    processes.push(performance.now() - started);
    if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr.trim().slice(0, 1_000)}`);
    imports.push(Number(child.stdout));
  }
  return { importMs: median(imports), processMs: median(processes) };
}

export function measureBundles(stack: BenchStack, cacheDir: string, loadRuns: number): BenchOutcome<BundleFigure[]> {
  const loadRoot = join(cacheDir, 'load');
  rmSync(loadRoot, { recursive: true, force: true });
  const functions: Array<{ name: string; dir: string; nodeOptions: string }> = [];
  let layerPackage: string | undefined;
  for (const { template } of stack.stacks) {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') continue;
      const dir = join(stack.assemblyDir, assetPath);
      if (resource.Type === 'AWS::Lambda::LayerVersion' && existsSync(join(dir, TOKEN_LAYER_PACKAGE_DIR, BUNDLE_FILE))) {
        layerPackage = join(dir, TOKEN_LAYER_PACKAGE_DIR);
      }
      if (resource.Type === 'AWS::Lambda::Function' && existsSync(join(dir, BUNDLE_FILE))) {
        const variables = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
        functions.push({ name: constructIdOf(resource, logicalId), dir, nodeOptions: typeof variables.NODE_OPTIONS === 'string' ? variables.NODE_OPTIONS : '' });
      }
    }
  }
  if (!layerPackage || functions.length === 0) throw new Error(`no bundled functions or token layer under ${stack.assemblyDir}`);

  // Lambda's layout: the layer's package under node_modules, next to (above) each handler.
  cpSync(layerPackage, join(loadRoot, 'node_modules', TOKEN_CACHE_PACKAGE), { recursive: true });
  const results: BundleFigure[] = [];
  for (const fn of functions.sort((a, b) => a.name.localeCompare(b.name))) {
    const target = join(loadRoot, fn.name);
    mkdirSync(target, { recursive: true });
    for (const file of [BUNDLE_FILE, `${BUNDLE_FILE}.map`]) if (existsSync(join(fn.dir, file))) cpSync(join(fn.dir, file), join(target, file));
    const file = join(target, BUNDLE_FILE);
    results.push({ name: fn.name, ...sizes(file), ...loadTimes(file, fn.nodeOptions, loadRuns) });
  }
  const layerFile = join(loadRoot, 'node_modules', TOKEN_CACHE_PACKAGE, BUNDLE_FILE);
  results.push({ name: `TokenLayer (${TOKEN_CACHE_PACKAGE})`, ...sizes(layerFile), ...loadTimes(layerFile, '--enable-source-maps', loadRuns) });

  const kib = (bytes: number) => `${num(bytes / 1024, 1)} KiB`;
  const figures: Figure[] = results.map((b) => ({
    section: '6',
    name: `Bundle ${b.name}`,
    value: `${kib(b.bytes)} (gzip ${kib(b.gzipBytes)}, map ${kib(b.sourceMapBytes)}); import ${num(b.importMs, 1)} ms, process ${num(b.processMs)} ms`,
    target: '-',
    verdict: 'info',
  }));
  return { figures, data: results };
}
