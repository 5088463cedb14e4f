/**
 * `local up --feed SPEC`: the teams' change feeds of the local deployment, written the way the construct takes them
 * (docs/STREAM-CONTRACT.md §7.1), as the `producersync:changeFeeds` context the app is synthesized with.
 *
 *   claims:recordTypes=licenses,states=TX,OK;watch:npns=15645555;everything
 *
 * Feeds are separated by `;`; after a team's name and `:` come `key=value,value` options (recordTypes, states,
 * npns); a value without `=` belongs to the option before it.
 */
import { checkFeedFilter, TEAM_NAME_PATTERN, type FeedFilter } from '#feed/feed-filter';
import { UsageError } from '../support/options.ts';

const KEYS = ['recordTypes', 'states', 'npns'] as const;
type Key = (typeof KEYS)[number];

/** The feeds of a `--feed` value by team name, checked as the synth would check them (a UsageError otherwise). */
export function parseFeedSpec(spec: string): Record<string, FeedFilter> {
  const feeds: Record<string, FeedFilter> = {};
  for (const part of spec.split(';').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', options = ''] = part.split(/:(.*)/s, 2);
    if (!TEAM_NAME_PATTERN.test(name)) throw new UsageError(`--feed: a feed name must be 1-40 letters, digits or hyphens starting with a letter, got ${JSON.stringify(name)}`);
    if (Object.hasOwn(feeds, name)) throw new UsageError(`--feed: ${name} is given twice`);
    const filter: Partial<Record<Key, string[]>> = {};
    let current: Key | undefined;
    for (const token of options.split(',').map((t) => t.trim()).filter(Boolean)) {
      const [key, value] = token.includes('=') ? (token.split(/=(.*)/s, 2) as [string, string]) : [undefined, token];
      if (key !== undefined) {
        if (!(KEYS as readonly string[]).includes(key)) throw new UsageError(`--feed ${name}: unknown option ${JSON.stringify(key)} (options: ${KEYS.join(', ')})`);
        current = key as Key;
        if (filter[current]) throw new UsageError(`--feed ${name}: ${current} is given twice`);
        filter[current] = [];
      }
      if (!current) throw new UsageError(`--feed ${name}: ${JSON.stringify(token)} names no option (write ${KEYS[0]}=...)`);
      if (value.trim()) filter[current]!.push(value.trim());
    }
    try {
      feeds[name] = checkFeedFilter(filter, `--feed ${name}`);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  if (Object.keys(feeds).length === 0) throw new UsageError('--feed needs at least one feed: NAME[:recordTypes=...,states=...,npns=...]');
  return feeds;
}
