import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import * as esbuild from 'esbuild';
import { PROJECT_ROOT, TOKEN_CACHE_PACKAGE } from '../paths.ts';
import { ESM_REQUIRE_BANNER, NODE_RUNTIME } from './node-function.ts';

const LAYER_SOURCE_DIR = join(PROJECT_ROOT, 'lambdas/layers/token-cache');

/** Where Lambda resolves the package from: /opt/nodejs/node_modules/@producersync/token-cache. */
export const TOKEN_LAYER_PACKAGE_DIR = `nodejs/node_modules/${TOKEN_CACHE_PACKAGE}`;

/**
 * The `@producersync/token-cache` package as a Lambda layer: one esbuild bundle
 * (`index.mjs`) plus a package.json, built on this machine (no Docker).
 */
export class TokenLayer extends Construct {
  public readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: `${TOKEN_CACHE_PACKAGE}: cached ProducerSync OAuth token`,
      compatibleRuntimes: [NODE_RUNTIME],
      compatibleArchitectures: [lambda.Architecture.ARM_64, lambda.Architecture.X86_64],
      code: lambda.Code.fromAsset(LAYER_SOURCE_DIR, {
        // The bundle may pull in shared modules outside the layer folder, so hash what is shipped.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          image: DockerImage.fromRegistry('none'), // never used: local bundling always succeeds
          local: { tryBundle: (outputDir) => bundleTokenLayer(outputDir) },
        },
      }),
    });
  }
}

/** Writes the layer tree into `outputDir`; exported so tests and local tooling build the same thing. */
export function bundleTokenLayer(outputDir: string): true {
  const packageDir = join(outputDir, TOKEN_LAYER_PACKAGE_DIR);
  mkdirSync(packageDir, { recursive: true });
  esbuild.buildSync({
    entryPoints: [join(LAYER_SOURCE_DIR, 'index.ts')],
    outfile: join(packageDir, 'index.mjs'),
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    external: ['@aws-sdk/*'],
    minify: true,
    sourcemap: true,
    logLevel: 'error',
  });
  writeFileSync(
    join(packageDir, 'package.json'),
    `${JSON.stringify({ name: TOKEN_CACHE_PACKAGE, type: 'module', exports: './index.mjs' }, null, 2)}\n`,
  );
  return true;
}
