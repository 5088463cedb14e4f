/**
 * The Step Functions client of a Lambda: created on first use and shared by every module of the
 * function (one module per SDK client, so a bundle loads only the clients it uses).
 */
import { SFNClient } from '@aws-sdk/client-sfn';

let client: SFNClient | undefined;

/** The shared Step Functions client, created on first use. */
export const sfnClient = (): SFNClient => (client ??= new SFNClient({}));

/** Drops the cached client (tests that point the process at a new local endpoint). */
export function resetSfnClient(): void {
  client = undefined;
}
