/** SHA-256 of text, the one digest the product uses (content hashes, quarantine keys, execution names). */
import { createHash } from 'node:crypto';

/** sha256 of a UTF-8 string, as lower-case hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
