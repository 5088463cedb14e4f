import { describe, expect, it } from 'vitest';
import { parseFeedSpec } from '../scripts/local-deployment/feed-spec.ts';

describe('local up --feed SPEC', () => {
  it('reads several feeds, each with options whose values follow their key', () => {
    expect(parseFeedSpec('claims:recordTypes=licenses,states=TX,OK;watch:npns=19855109,15645555; everything')).toEqual({
      claims: { recordTypes: ['licenses'], states: ['OK', 'TX'] },
      watch: { npns: ['15645555', '19855109'] },
      everything: {},
    });
    expect(parseFeedSpec('claims:recordTypes=licenses,appointments')).toEqual({ claims: { recordTypes: ['appointments', 'licenses'] } });
  });

  it.each([
    ['', /needs at least one feed/],
    ['claims team', /a feed name must be 1-40 letters.*"claims team"/],
    ['claims;claims', /claims is given twice/],
    ['claims:recordType=licenses', /unknown option "recordType"/],
    ['claims:licenses', /"licenses" names no option/],
    ['claims:states=TX,states=OK', /states is given twice/],
    ['claims:states=', /--feed claims: states must not be empty/],
    ['claims:states=Texas', /--feed claims: states must be two upper-case letters/],
    ['claims:recordTypes=license', /--feed claims: recordTypes must be record types of/],
  ])('refuses %j', (spec, message) => {
    expect(() => parseFeedSpec(spec)).toThrow(message);
  });
});
