/**
 * The National Producer Number rule, written once for the Lambdas, the simulator and the CLI:
 * 1 to 10 digits (producersync-api.md; NIPR numbers are at most 10 digits).
 */

/** A National Producer Number: 1 to 10 digits. */
export const NPN_PATTERN = /^\d{1,10}$/;

/** True for a string that is a valid NPN. */
export function isNpn(value: unknown): value is string {
  return typeof value === 'string' && NPN_PATTERN.test(value);
}
