/** SHA-256 of text, the one digest the product uses (content hashes, quarantine keys, execution names). */
import { hash } from 'node:crypto';

/**
 * sha256 of a UTF-8 string, as lower-case hex. The one-shot `crypto.hash` (Node >= 21.7) gives the
 * same digest as createHash().update().digest() without a Hash object per call: hashing every record
 * of a page was a visible share of the engine's own CPU in figure 4's profile (bench/README.md).
 */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}
