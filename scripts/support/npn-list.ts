import { isNpn } from '#producersync/npn';

export class InvalidNpnListError extends Error {}

/**
 * NPNs from free text, deduplicated in first-seen order: one per line, comma/space/semicolon
 * separated, or a CSV with a column named "npn" among others. With `allowHeader` (files), a
 * first line without digits (such as "NPN") is skipped. Anything else that is not 1-10 digits is
 * an error: a typo must not silently shrink a list (a `replace` would unsubscribe the rest).
 */
export function parseNpnList(text: string, options: { allowHeader?: boolean } = {}): string[] {
  const allowHeader = options.allowHeader ?? true;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const unquote = (t: string) => t.trim().replace(/^"|"$/g, '');
  const header = lines[0]?.toLowerCase().split(',').map(unquote);
  const npnColumn = allowHeader && header && header.length > 1 ? header.indexOf('npn') : -1;
  const tokens: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (npnColumn >= 0) {
      if (i > 0) tokens.push(unquote(line.split(',')[npnColumn] ?? ''));
      continue;
    }
    const fields = line.split(/[\s,;]+/).map(unquote).filter(Boolean);
    if (allowHeader && i === 0 && fields.every((t) => !/\d/.test(t))) continue;
    tokens.push(...fields);
  }
  const invalid = tokens.filter((t) => !isNpn(t));
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 5).map((t) => JSON.stringify(t)).join(', ');
    throw new InvalidNpnListError(`${invalid.length} value(s) are not NPNs (1-10 digits): ${shown}${invalid.length > 5 ? ', ...' : ''}`);
  }
  return [...new Set(tokens)];
}

/** Several NPN lists as one, deduplicated in first-seen order. */
export function mergeNpns(...lists: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(lists.flat())];
}
