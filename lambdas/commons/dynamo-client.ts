/**
 * The DynamoDB client of a Lambda: created on first use and shared by every module of the function.
 * One module per SDK client, so a function's bundle loads only the clients it uses; the endpoint
 * comes from AWS_ENDPOINT_URL_DYNAMODB when set (the local stand-ins), else from the region.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let client: DynamoDBClient | undefined;

/** The shared DynamoDB client, created on first use. */
export const dynamoClient = (): DynamoDBClient => (client ??= new DynamoDBClient({}));

/** Drops the cached client (tests that point the process at a new local endpoint). */
export function resetDynamoClient(): void {
  client = undefined;
}
