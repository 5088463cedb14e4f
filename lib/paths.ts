import { fileURLToPath } from 'node:url';

/** Absolute path of the project root (where package.json and package-lock.json live). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** Package name of the token layer: external in every function bundle, resolved from /opt/nodejs/node_modules. */
export const TOKEN_CACHE_PACKAGE = '@producersync/token-cache';

/** Powertools service name shared by every function, so each EMF metric is one series (dimension `service`). */
export const SERVICE_NAME = 'producersync-aws';
