#!/usr/bin/env node
/**
 * Builds what the published package runs (`npm run build`, also run by `npm pack`/`npm publish`):
 * - dist/index.js: the construct library (lib/index.ts) as one ESM module, dependencies left external;
 * - dist/read.js: the read module (lambdas/read/index.ts), the package's `producersync-aws/read`;
 * - dist/types/: its type declarations (tsc, tsconfig.build.json);
 * - dist/cli/: the `producersync` CLI (scripts/cli.ts), code-split so each command loads only its own
 *   modules, runnable without tsx or any other devDependency.
 * The Lambda handlers are not built here: the construct bundles them from the package's lambdas/
 * sources at synth time, exactly as in this repository.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}/dist`, { recursive: true, force: true });

const common = { absWorkingDir: root, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' };
await esbuild.build({ ...common, entryPoints: ['lib/index.ts'], outfile: 'dist/index.js' });
// `producersync-aws/read`: answers from the copy for downstream code (lambdas/read/index.ts).
await esbuild.build({ ...common, entryPoints: ['lambdas/read/index.ts'], outfile: 'dist/read.js' });
// The token layer's workspace package is not published: the CLI carries its code. Every CLI file sits
// two levels below the package root, as scripts/commands/ and scripts/support/ do, so a
// `new URL('../../package.json', import.meta.url)` in them still names the package's own files.
await esbuild.build({
  ...common,
  entryPoints: ['scripts/cli.ts'],
  outdir: 'dist/cli',
  splitting: true,
  chunkNames: '[name]-[hash]',
  alias: { '@producersync/token-cache': './lambdas/layers/token-cache/index.ts' },
});

const tsc = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// tsc keeps the sources' specifiers in declarations: `./x.ts` and subpath imports (`#commons/metrics`)
// that only resolve in this repository. Point them at the emitted `.js`/`.d.ts` pair instead.
const typesDir = join(root, 'dist/types');
const { imports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const subpath = (specifier) => {
  for (const [pattern, target] of Object.entries(imports)) {
    const prefix = pattern.slice(0, -1); // '#commons/'
    if (pattern.endsWith('*') && specifier.startsWith(prefix)) return target.replace('*', specifier.slice(prefix.length)).replace(/^\.\//, '');
  }
  throw new Error(`declarations import ${specifier}, which package.json imports does not map`);
};
for (const entry of readdirSync(typesDir, { recursive: true })) {
  const file = join(typesDir, entry);
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8').replace(/(from |import\()(['"])([^'"]+)\2/g, (whole, keyword, quote, specifier) => {
    let target = specifier;
    if (specifier.startsWith('#')) {
      target = relative(dirname(file), join(typesDir, subpath(specifier)));
      if (!target.startsWith('.')) target = `./${target}`;
    }
    return target.startsWith('.') ? `${keyword}${quote}${target.replace(/\.ts$/, '.js')}${quote}` : whole;
  });
  writeFileSync(file, text);
}
