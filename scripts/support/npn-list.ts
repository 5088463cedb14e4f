/**
 * NPNs from free text: one per line, comma/space separated, or a CSV whose first column
 * (or a column named "npn") holds them. Header lines and blanks are skipped; duplicates dropped.
 */
export function parseNpnList(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const header = lines[0]?.toLowerCase().split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const npnColumn = header?.indexOf('npn') ?? -1;
  const tokens: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (npnColumn >= 0) {
      if (i === 0) continue;
      tokens.push(line.split(',')[npnColumn] ?? '');
    } else {
      tokens.push(...line.split(/[\s,;]+/));
    }
  }
  const npns = tokens.map((t) => t.trim().replace(/^"|"$/g, '')).filter((t) => /^\d{1,10}$/.test(t));
  return [...new Set(npns)];
}
