import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * One lazily created AWS SDK client per service, shared by every module of a Lambda.
 * Endpoints come from the standard AWS_ENDPOINT_URL_* variables, so the same code talks
 * to AWS or to the local stand-ins.
 */
let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let secrets: SecretsManagerClient | undefined;
let sfn: SFNClient | undefined;

export const dynamoClient = (): DynamoDBClient => (dynamo ??= new DynamoDBClient({}));
// fauxqs hands out queue URLs on hosts that do not resolve; following the configured endpoint is harmless in AWS.
export const sqsClient = (): SQSClient => (sqs ??= new SQSClient({ useQueueUrlAsEndpoint: false }));
export const secretsClient = (): SecretsManagerClient => (secrets ??= new SecretsManagerClient({}));
export const sfnClient = (): SFNClient => (sfn ??= new SFNClient({}));

/** Drop cached clients (tests that point the process at a new local endpoint). */
export function resetClients(): void {
  dynamo = sqs = secrets = sfn = undefined;
}
