import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the package root (where package.json and `lambdas/` live): the checkout when run
 * from source (lib/paths.ts), the installed package when run from its build (dist/index.js). Both
 * sit one level below the root, so the same expression finds the Lambda sources either way.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** Package name of the token layer: external in every function bundle, resolved from /opt/nodejs/node_modules. */
export const TOKEN_CACHE_PACKAGE = '@producersync/token-cache';
