import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { TOKEN_CACHE_PACKAGE } from '../paths.ts';
import { bundleLambdaModule, localBundleCode } from './bundle.ts';
import { NODE_RUNTIME } from './node-function.ts';

const LAYER_ENTRY = 'lambdas/layers/token-cache/index.ts';

/** Where Lambda resolves the package from: /opt/nodejs/node_modules/@producersync/token-cache. */
export const TOKEN_LAYER_PACKAGE_DIR = `nodejs/node_modules/${TOKEN_CACHE_PACKAGE}`;

/**
 * The `@producersync/token-cache` package as a Lambda layer: one esbuild bundle
 * (`index.mjs`) plus a package.json, built on this machine (no Docker).
 */
export class TokenLayer extends Construct {
  /** The layer version. */
  public readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: `${TOKEN_CACHE_PACKAGE}: cached ProducerSync OAuth token`,
      compatibleRuntimes: [NODE_RUNTIME],
      compatibleArchitectures: [lambda.Architecture.ARM_64, lambda.Architecture.X86_64],
      code: localBundleCode(LAYER_ENTRY, bundleTokenLayer),
    });
  }
}

/** Writes the layer tree into `outputDir`; exported so tests and local tooling build the same thing. */
export function bundleTokenLayer(outputDir: string): void {
  const packageDir = join(outputDir, TOKEN_LAYER_PACKAGE_DIR);
  mkdirSync(packageDir, { recursive: true });
  bundleLambdaModule({ entry: LAYER_ENTRY, outfile: join(packageDir, 'index.mjs'), external: ['@aws-sdk/*'] });
  writeFileSync(
    join(packageDir, 'package.json'),
    `${JSON.stringify({ name: TOKEN_CACHE_PACKAGE, type: 'module', exports: './index.mjs' }, null, 2)}\n`,
  );
}
