import { dirname, join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as esbuild from 'esbuild';
import { PACKAGE_ROOT } from '../paths.ts';

/**
 * The one way this product bundles Lambda code (function handlers and the token layer): esbuild's
 * JavaScript API in the synthesizing process, from the sources of the package that holds this file
 * (a checkout or an installed `producersync-aws`), no Docker and no `npx esbuild`.
 */

/**
 * ESM bundles still meet CommonJS dependencies that call `require`; define it once per bundle.
 * `import.meta.url` is the bundle's own file, so resolution starts next to it.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire as __psCreateRequire } from 'node:module'; const require = __psCreateRequire(import.meta.url);";

export interface BundleOptions {
  /** Source file relative to the package root, e.g. `lambdas/sync/prepare.ts`. */
  readonly entry: string;
  /** Output file (absolute). */
  readonly outfile: string;
  /** Packages left out of the bundle (the runtime or a layer provides them). */
  readonly external: readonly string[];
}

/**
 * Minified ESM for Node 24 with a source map. The map leaves out the sources' text
 * (`sourcesContent: false`): stack traces under `--enable-source-maps` still name file and line,
 * and the SyncPages map shrinks from 2.2 MB to 0.65 MB. Measured on Node 24 (SyncPages, 7 runs):
 * `--enable-source-maps` adds about 5 ms to the import and about 30 ms to the first stack trace
 * of a container (the map is parsed then), with or without the sources' text.
 */
export function bundleLambdaModule(options: BundleOptions): void {
  esbuild.buildSync({
    entryPoints: [join(PACKAGE_ROOT, options.entry)],
    outfile: options.outfile,
    absWorkingDir: PACKAGE_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    external: [...options.external],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
  });
}

/**
 * Asset code built by `bundle(outputDir)` on this machine from `entry` (relative to the package root).
 * Hashed by its output, so an unchanged bundle is an unchanged asset; with bundling skipped
 * (`aws:cdk:bundling-stacks: []`) nothing is built.
 */
export function localBundleCode(entry: string, bundle: (outputDir: string) => void): lambda.AssetCode {
  return lambda.Code.fromAsset(join(PACKAGE_ROOT, dirname(entry)), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('none'), // never used: local bundling always succeeds
      // Never run either, but part of aws-cdk-lib's bundling cache key (which skips functions): without
      // it, entries in one folder (prepare, sync-pages, finalize) would share the first one's bundle.
      command: ['esbuild', entry],
      local: {
        tryBundle: (outputDir) => {
          bundle(outputDir);
          return true;
        },
      },
    },
  });
}
