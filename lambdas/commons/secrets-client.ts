/**
 * The Secrets Manager client of a Lambda: created on first use and shared by every module of the
 * function (one module per SDK client, so a bundle loads only the clients it uses).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let client: SecretsManagerClient | undefined;

/** The shared Secrets Manager client, created on first use. */
export const secretsClient = (): SecretsManagerClient => (client ??= new SecretsManagerClient({}));

/** Drops the cached client (tests that point the process at a new local endpoint). */
export function resetSecretsClient(): void {
  client = undefined;
}
