#!/usr/bin/env node
// The `producersync` CLI. In this repository it loads the TypeScript sources through tsx, so the CLI
// runs exactly the code the Lambdas bundle; the installed package (which ships no scripts/) runs the
// build in dist/cli (bin/build.mjs) and needs no devDependency.
import { existsSync } from 'node:fs';

const source = new URL('../scripts/cli.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/cli/cli.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
