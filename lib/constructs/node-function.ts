import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '#commons/metrics';
import { TOKEN_CACHE_PACKAGE } from '../paths.ts';
import { bundleLambdaModule, localBundleCode } from './bundle.ts';

/** Node.js 24 on Lambda. */
export const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Log retention for every log group of the product: a year covers typical insurance audit look-backs (and CT.CLOUDWATCH.PR.2). */
export const LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/** The `POWERTOOLS_SERVICE_NAME` of a function: one per function, so logs tell them apart (CONTRACTS.md §2). */
export const serviceNameOf = (name: string): string => `producersync-${name}`;

export interface ProducerSyncFunctionProps {
  /** Handler source relative to the package root, e.g. `lambdas/sync/prepare.ts`. */
  readonly entry: string;
  /** Short name of the function, e.g. `sync-pages`: its Powertools service name is `producersync-<name>`. */
  readonly name: string;
  /** Human-readable purpose, shown in the Lambda console. */
  readonly description: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 (MB) */
  readonly memorySize?: number;
  /** Extra environment variables (the Powertools variables are always set). @default none */
  readonly environment?: Record<string, string>;
  /** Layers to attach (e.g. the token layer). @default none */
  readonly layers?: lambda.ILayerVersion[];
  /** Active X-Ray tracing. @default true */
  readonly tracing?: boolean;
  /** Reserved concurrent executions. @default no reservation (account pool) */
  readonly reservedConcurrentExecutions?: number;
  /** Log group retention. @default LOG_RETENTION (one year) */
  readonly logRetention?: logs.RetentionDays;
  /** Key encrypting the log group (its policy must admit CloudWatch Logs). @default AWS-owned encryption */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * One Lambda function the way every ProducerSync function is built: Node.js 24 on ARM64, an ESM
 * bundle (`index.mjs`, minified, with a source map) built from this package's sources that leaves
 * the AWS SDK and the token layer package external, its own log group with retention, and its own
 * role that can only write to that log group. Callers grant everything else.
 */
export class ProducerSyncFunction extends Construct {
  /** The function. */
  public readonly function: lambda.Function;
  /** Its execution role: starts with log-group write only (plus X-Ray when tracing). */
  public readonly role: iam.Role;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ProducerSyncFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? LOG_RETENTION,
      encryptionKey: props.logEncryptionKey,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.entry}`,
    });
    // Instead of the AWSLambdaBasicExecutionRole managed policy (any log group): this log group only.
    this.logGroup.grantWrite(this.role);

    const tracing = props.tracing ?? true;
    this.function = new lambda.Function(this, 'Function', {
      code: localBundleCode(props.entry, (outputDir) =>
        bundleLambdaModule({ entry: props.entry, outfile: `${outputDir}/index.mjs`, external: ['@aws-sdk/*', TOKEN_CACHE_PACKAGE] }),
      ),
      handler: 'index.handler',
      description: props.description,
      runtime: NODE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      role: this.role,
      logGroup: this.logGroup,
      layers: props.layers,
      tracing: tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceNameOf(props.name),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // Readable stack traces for about 5 ms per cold start (lib/constructs/bundle.ts).
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason:
        'The functions only reach AWS service endpoints and the public AgentSync API over TLS; a VPC would add NAT cost and no isolation. ' +
        'Accounts that require one can add VpcConfig with an escape hatch.',
    });
    if (tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions; AWS requires Resource "*".',
      });
    }
  }
}
