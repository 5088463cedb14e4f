/**
 * How the CLI's AWS SDK clients are configured: `--profile` and `--region` when given, and otherwise
 * nothing at all, so the SDK's own resolution (AWS_PROFILE, AWS_REGION, the profile's region in
 * ~/.aws/config, SSO, instance roles) decides, exactly as for the AWS CLI. Never a hard-coded region.
 */

/** Spread into every client: `new SFNClient({ ...ctx.aws })`. */
export interface AwsClientConfig {
  readonly profile?: string;
  readonly region?: string;
}

/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-7`... */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function awsClientConfig(flags: { profile?: string | undefined; region?: string | undefined }): AwsClientConfig {
  return { ...(flags.profile ? { profile: flags.profile } : {}), ...(flags.region ? { region: flags.region } : {}) };
}

/** One line for an AWS failure, with the fix when it is a missing region or missing credentials. */
export function describeAwsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/region is missing/i.test(message)) return 'no AWS region: pass --region, set AWS_REGION, or give the profile a region in ~/.aws/config';
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause.name === 'CredentialsProviderError') return `no AWS credentials (${cause.message.split('\n')[0]}): pass --profile, or configure credentials as for the AWS CLI`;
  }
  return message.split('\n')[0] ?? message;
}
