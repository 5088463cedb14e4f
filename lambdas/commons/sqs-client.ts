/**
 * The SQS client of a Lambda: created on first use and shared by every module of the function
 * (one module per SDK client, so a bundle loads only the clients it uses).
 */
import { SQSClient } from '@aws-sdk/client-sqs';

let client: SQSClient | undefined;

/**
 * The shared SQS client, created on first use. fauxqs hands out queue URLs on hosts that do not
 * resolve, so requests follow the configured endpoint instead of the queue URL (harmless in AWS).
 */
export const sqsClient = (): SQSClient => (client ??= new SQSClient({ useQueueUrlAsEndpoint: false }));

/** Drops the cached client (tests that point the process at a new local endpoint). */
export function resetSqsClient(): void {
  client = undefined;
}
