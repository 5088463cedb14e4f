/**
 * Whether an operator has put the ProducerSync credentials in (docs/DEPLOY.md "After cdk deploy"),
 * without reading the secret's value: the freshness check must not start a full pull that can only fail
 * (and page) every hour before then. Secrets Manager's DescribeSecret lists the versions that carry a
 * staging label; the deployment creates the secret with one (the generated placeholder), and every
 * `put-secret-value` adds one while the one before keeps AWSPREVIOUS, so more than one labelled
 * version means a value was put after the deploy. `LastChangedDate` alone would not do: a redeploy that
 * only edits the description changes it too.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
 * The probe interface and its Secrets Manager adapter.
 */
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Whether the credentials secret holds a value an operator put in. */
export interface CredentialsProbe {
  isSet(): Promise<boolean>;
}

/** Options of `createSecretsManagerCredentialsProbe`. */
export interface SecretsManagerCredentialsProbeOptions {
  client: SecretsManagerClient;
  /** The credentials secret (id or ARN); undefined: a deployment that did not tell the dispatcher, which then fails the check naming it. */
  secretId: string | undefined;
}

/** The probe on Secrets Manager (DescribeSecret only: metadata, never the value). */
export function createSecretsManagerCredentialsProbe({ client, secretId }: SecretsManagerCredentialsProbeOptions): CredentialsProbe {
  return {
    async isSet() {
      if (!secretId) throw new Error('Missing required environment variable PRODUCERSYNC_SECRET_ARN (the credentials secret the freshness check looks at)');
      const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return Object.keys(out.VersionIdsToStages ?? {}).length > 1;
    },
  };
}
