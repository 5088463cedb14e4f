/**
 * Short pages: how many records the server puts on a page, which may be fewer than the
 * `size` asked (a ProducerSync-compatible server did exactly that; clients must not assume
 * full pages). Tokens keep their meaning: the next token is the id of the last record served.
 */
import { hashInts, hashString, unitOf } from './random.ts';

export interface PageSizeOptions {
  /** Never more than this many records a page, whatever `size` asked. */
  cap?: number;
  /** Share of pages served short: such a page holds a seeded 1..(size − 1) records. */
  shortFraction?: number;
  seed: number;
}

export class PageSizer {
  constructor(private readonly options: PageSizeOptions) {
    const { cap, shortFraction } = options;
    if (cap !== undefined && !(Number.isInteger(cap) && cap >= 1)) throw new Error(`pageSizeCap must be an integer >= 1, got ${cap}`);
    if (shortFraction !== undefined && !(shortFraction >= 0 && shortFraction <= 1)) throw new Error(`shortPageFraction must be between 0 and 1, got ${shortFraction}`);
  }

  /**
   * Records to serve for a page that asked `asked`. Keyed on the request URL, so the same URL
   * always gets the same page (a retry sees the same records and the same next token).
   */
  served(asked: number, requestKey: string): number {
    const size = Math.min(asked, this.options.cap ?? asked);
    const fraction = this.options.shortFraction ?? 0;
    if (fraction === 0 || size <= 1) return size;
    const hash = hashInts(this.options.seed, 0x5407, hashString(requestKey));
    if (unitOf(hash) >= fraction) return size;
    return 1 + (hashInts(hash, 1) % (size - 1));
  }
}
