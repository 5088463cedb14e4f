import type { TestProject } from 'vitest/node';
import { localAwsEnv } from '#local/aws-env';
import { startDynamoDbLocal } from '#local/dynamodb-local';

/** One DynamoDB Local JVM for the whole run; test files use unique table names so they can share it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await startDynamoDbLocal({ inMemory: true });
  project.provide('dynamoEndpoint', dynamo.endpoint);
  // Forked workers inherit process.env, so handlers under test reach DynamoDB Local without extra wiring.
  Object.assign(process.env, localAwsEnv({ dynamo: dynamo.endpoint }));
  return () => dynamo.stop();
}
