/**
 * Every AWS SDK client at once, for the code around the Lambdas (local stand-ins, CLI, benchmarks,
 * tests). A Lambda module imports the one client module it uses (`#commons/dynamo-client`, ...)
 * instead, so each function's bundle loads only its own clients; nothing under lambdas/ imports this.
 * Endpoints come from the standard AWS_ENDPOINT_URL_* variables, so the same code talks to AWS or
 * to the local stand-ins.
 */
import { resetDynamoClient } from '#commons/dynamo-client';
import { resetSecretsClient } from '#commons/secrets-client';
import { resetSfnClient } from '#commons/sfn-client';
import { resetSnsClient } from '#commons/sns-client';
import { resetSqsClient } from '#commons/sqs-client';

export { dynamoClient } from '#commons/dynamo-client';
export { secretsClient } from '#commons/secrets-client';
export { sfnClient } from '#commons/sfn-client';
export { snsClient } from '#commons/sns-client';
export { sqsClient } from '#commons/sqs-client';

/** Drops every cached client (tests that point the process at a new local endpoint). */
export function resetClients(): void {
  resetDynamoClient();
  resetSqsClient();
  resetSecretsClient();
  resetSfnClient();
  resetSnsClient();
}
