/**
 * What a team's feed receives, and the SNS subscription filter policy (MessageBody scope) that says
 * it, on the top-level fields of the change event (change-event.ts). One home for the rule, used by
 * the CDK construct (lib/constructs/change-feed.ts) and checked at synth time against SNS's limits:
 * https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
 *
 * - `recordTypes`: only changes of these record types (endpoint names, or `npnStatus`);
 * - `states`: only records on file for these states (`forState`); records that belong to no state
 *   (entities, NPN status changes) still pass, so a state team hears when a producer is deactivated
 *   (narrow them away with `recordTypes`);
 * - `npns`: only these producers.
 * Options left out do not filter; a feed with none receives every change.
 */
import { ENDPOINT_NAMES } from '#producersync/endpoints';
import { isNpn } from '#producersync/npn';

export interface FeedFilter {
  /** Record types to receive: endpoint names (`licenses`, `appointments`, ...) or `npnStatus`. @default every type */
  readonly recordTypes?: readonly string[];
  /** Two-letter states (`forState`); records without a state pass. @default every state */
  readonly states?: readonly string[];
  /** NPNs to receive changes of. @default every NPN */
  readonly npns?: readonly string[];
}

/** A team's feed name: letters, digits and hyphens, starting with a letter (it names the construct and the outputs). */
export const TEAM_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** The tag naming the team on its feed's queues (cost allocation; the local harness finds a team's queues by it). */
export const CHANGE_FEED_TAG = 'producersync:change-feed';

/** Every record type a change event can carry. */
export const FEED_RECORD_TYPES: readonly string[] = [...ENDPOINT_NAMES, 'npnStatus'];

/** SNS allows at most this many value combinations in one filter policy. */
export const MAX_FILTER_COMBINATIONS = 150;

const STATE = /^[A-Z]{2}$/;

/** Checks a filter and returns it deduplicated and sorted; throws with the option's name on a bad value. */
export function checkFeedFilter(filter: FeedFilter, where = 'change feed'): FeedFilter {
  const list = (name: keyof FeedFilter, values: readonly string[] | undefined, valid: (value: string) => boolean, expected: string): string[] | undefined => {
    if (values === undefined) return undefined;
    if (values.length === 0) throw new Error(`${where}: ${name} must not be empty (leave it out to receive every value)`);
    const bad = values.filter((value) => !valid(value));
    if (bad.length > 0) throw new Error(`${where}: ${name} must be ${expected}, got ${bad.map((v) => JSON.stringify(v)).join(', ')}`);
    return [...new Set(values)].sort();
  };
  const checked = {
    recordTypes: list('recordTypes', filter.recordTypes, (v) => FEED_RECORD_TYPES.includes(v), `record types of ${FEED_RECORD_TYPES.join(', ')}`),
    states: list('states', filter.states, (v) => STATE.test(v), 'two upper-case letters (TX)'),
    npns: list('npns', filter.npns, isNpn, 'NPNs of 1 to 10 digits'),
  };
  const combinations = (checked.recordTypes?.length ?? 1) * (checked.npns?.length ?? 1) * (checked.states ? checked.states.length + 1 : 1);
  if (combinations > MAX_FILTER_COMBINATIONS) {
    throw new Error(
      `${where}: the filter has ${combinations} value combinations (record types x NPNs x (states + 1)); SNS allows ${MAX_FILTER_COMBINATIONS}. ` +
        'Split it into several feeds, or filter the rest in the consumer.',
    );
  }
  return Object.fromEntries(Object.entries(checked).filter(([, v]) => v !== undefined)) as FeedFilter;
}

/** The subscription filter policy (MessageBody scope) of a checked filter; undefined = no filter (every change). */
export function feedFilterPolicy(filter: FeedFilter): Record<string, unknown> | undefined {
  const policy: Record<string, unknown> = {};
  if (filter.recordTypes) policy.recordType = [...filter.recordTypes];
  if (filter.npns) policy.npn = [...filter.npns];
  // "$or" (https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html): one of the states, or no state at all.
  if (filter.states) policy.$or = [{ forState: [...filter.states] }, { forState: [{ exists: false }] }];
  return Object.keys(policy).length > 0 ? policy : undefined;
}
