import { randomBytes, randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '#local/aws-env';
import type { LocalService } from '#local/dynamodb-local';
import { AwsJsonError, startJsonRpcServer } from '#local/json-rpc-server';

interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  createdAt: number;
  /** Seconds, as the service answers: any change to the secret (a value, the description). */
  lastChangedAt: number;
  versionId?: string;
  /** The version that held AWSCURRENT before the current one (AWSPREVIOUS), as a put-secret-value leaves it. */
  previousVersionId?: string;
  secretString?: string;
  secretBinary?: string;
}

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';

function str(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A Secrets Manager stand-in (JSON 1.1): CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret (labelled versions: the
 * freshness check counts them), UpdateSecret.
 * Secrets are addressed by name or ARN, like the real service. Values never appear in error messages.
 */
export async function startSecretsManager(): Promise<LocalService> {
  const secrets = new Map<string, StoredSecret>();

  const find = (input: Record<string, unknown>): StoredSecret => {
    const id = str(input, 'SecretId') ?? '';
    const secret = secrets.get(id) ?? [...secrets.values()].find((s) => s.arn === id);
    if (!secret) throw new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  };

  const storeValue = (secret: StoredSecret, input: Record<string, unknown>): boolean => {
    const secretString = str(input, 'SecretString');
    const secretBinary = str(input, 'SecretBinary');
    if (secretString === undefined && secretBinary === undefined) return false;
    secret.secretString = secretString;
    secret.secretBinary = secretBinary;
    if (secret.versionId !== undefined) secret.previousVersionId = secret.versionId;
    secret.versionId = str(input, 'ClientRequestToken') ?? randomUUID();
    secret.lastChangedAt = Date.now() / 1000;
    return true;
  };

  return startJsonRpcServer({
    targetPrefix: 'secretsmanager',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      CreateSecret(input) {
        const name = str(input, 'Name');
        if (!name) throw new AwsJsonError('InvalidParameterException', 'Name is required.');
        if (secrets.has(name)) throw new AwsJsonError('ResourceExistsException', `The secret ${name} already exists.`);
        const suffix = randomBytes(3).toString('hex');
        const secret: StoredSecret = {
          name,
          arn: `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:secret:${name}-${suffix}`,
          description: str(input, 'Description'),
          createdAt: Date.now() / 1000,
          lastChangedAt: Date.now() / 1000,
        };
        storeValue(secret, input);
        secrets.set(name, secret);
        return { ARN: secret.arn, Name: name, VersionId: secret.versionId };
      },
      GetSecretValue(input) {
        const secret = find(input);
        if (secret.versionId === undefined) {
          throw new AwsJsonError(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret value for staging label: ${CURRENT}`,
          );
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: secret.versionId,
          VersionStages: [CURRENT],
          CreatedDate: secret.createdAt,
          ...(secret.secretString !== undefined ? { SecretString: secret.secretString } : {}),
          ...(secret.secretBinary !== undefined ? { SecretBinary: secret.secretBinary } : {}),
        };
      },
      PutSecretValue(input) {
        const secret = find(input);
        if (!storeValue(secret, input)) {
          throw new AwsJsonError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
        }
        return { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId, VersionStages: [CURRENT] };
      },
      UpdateSecret(input) {
        const secret = find(input);
        const description = str(input, 'Description');
        if (description !== undefined) {
          secret.description = description;
          secret.lastChangedAt = Date.now() / 1000;
        }
        storeValue(secret, input);
        return { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId };
      },
      DescribeSecret(input) {
        const secret = find(input);
        return {
          ARN: secret.arn,
          Name: secret.name,
          Description: secret.description,
          CreatedDate: secret.createdAt,
          LastChangedDate: secret.lastChangedAt,
          // The labelled versions, as the service lists them: AWSCURRENT and, after a second value, AWSPREVIOUS.
          VersionIdsToStages: {
            ...(secret.previousVersionId ? { [secret.previousVersionId]: [PREVIOUS] } : {}),
            ...(secret.versionId ? { [secret.versionId]: [CURRENT] } : {}),
          },
        };
      },
    },
  });
}
