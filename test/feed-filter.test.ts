import { describe, expect, it } from 'vitest';
import { checkFeedFilter, feedFilterPolicy, MAX_FILTER_COMBINATIONS } from '#feed/feed-filter';

describe('feed filter', () => {
  it('writes one policy key per option, states as "$or" with records that belong to no state', () => {
    expect(feedFilterPolicy(checkFeedFilter({}))).toBeUndefined();
    expect(feedFilterPolicy(checkFeedFilter({ recordTypes: ['licenses', 'appointments', 'licenses'] }))).toEqual({ recordType: ['appointments', 'licenses'] });
    expect(feedFilterPolicy(checkFeedFilter({ npns: ['19855109', '15645555'] }))).toEqual({ npn: ['15645555', '19855109'] });
    expect(feedFilterPolicy(checkFeedFilter({ states: ['TX', 'CA'] }))).toEqual({ $or: [{ forState: ['CA', 'TX'] }, { forState: [{ exists: false }] }] });
    expect(feedFilterPolicy(checkFeedFilter({ recordTypes: ['licenses'], states: ['TX'], npns: ['15645555'] }))).toEqual({
      recordType: ['licenses'],
      npn: ['15645555'],
      $or: [{ forState: ['TX'] }, { forState: [{ exists: false }] }],
    });
  });

  it.each([
    [{ recordTypes: ['license'] }, /recordTypes must be record types of entities, licenses.*npnStatus, got "license"/],
    [{ states: ['tx'] }, /states must be two upper-case letters \(TX\), got "tx"/],
    [{ states: ['TEX', 'TX'] }, /got "TEX"/],
    [{ npns: ['12a'] }, /npns must be NPNs of 1 to 10 digits, got "12a"/],
    [{ npns: [] }, /npns must not be empty/],
    [{ recordTypes: [] }, /recordTypes must not be empty/],
  ])('refuses %j', (filter, message) => {
    expect(() => checkFeedFilter(filter, 'change feed claims')).toThrow(message);
    expect(() => checkFeedFilter(filter, 'change feed claims')).toThrow(/^change feed claims: /);
  });

  it('refuses a filter over the 150 value combinations SNS allows, and accepts one at the limit', () => {
    const npns = (n: number) => Array.from({ length: n }, (_, i) => String(10_000_000 + i));
    // 2 record types x 25 NPNs x (2 states + 1) = 150.
    expect(() => checkFeedFilter({ recordTypes: ['licenses', 'appointments'], npns: npns(25), states: ['TX', 'CA'] })).not.toThrow();
    expect(() => checkFeedFilter({ recordTypes: ['licenses', 'appointments'], npns: npns(26), states: ['TX', 'CA'] })).toThrow(
      new RegExp(`156 value combinations .*SNS allows ${MAX_FILTER_COMBINATIONS}`),
    );
    expect(() => checkFeedFilter({ npns: npns(151) })).toThrow(/151 value combinations/);
  });
});
