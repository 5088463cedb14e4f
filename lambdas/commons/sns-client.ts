/**
 * The SNS client of a Lambda: created on first use and shared by every module of the function
 * (one module per SDK client, so a bundle loads only the clients it uses). The endpoint comes from
 * AWS_ENDPOINT_URL_SNS when set (the local stand-ins), else from the region.
 */
import { SNSClient } from '@aws-sdk/client-sns';

let client: SNSClient | undefined;

/** The shared SNS client, created on first use. */
export const snsClient = (): SNSClient => (client ??= new SNSClient({}));

/** Drops the cached client (tests that point the process at a new local endpoint). */
export function resetSnsClient(): void {
  client = undefined;
}
