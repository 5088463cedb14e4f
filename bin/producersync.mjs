#!/usr/bin/env node
// The `producersync` CLI: loads the TypeScript sources through tsx so the CLI runs exactly the code the Lambdas bundle.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scripts/cli.ts');
process.exitCode = await main(process.argv.slice(2));
