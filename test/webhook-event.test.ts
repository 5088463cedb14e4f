import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, jsonDepthExceeds, MAX_JSON_DEPTH, npnsOf, parseWebhookEvent, runDateOf } from '#webhook/webhook-event';

const nested = (depth: number): unknown => JSON.parse('{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1));

describe('parseWebhookEvent', () => {
  it('accepts the documented envelope and keeps only its fields', () => {
    const body = { id: 'whe_1', type: EVENT_TYPES.updatesAvailable, timestamp: '2025-07-24T22:51:05.206Z', data: { runDate: '2025-07-24' }, extra: 1 };
    expect(parseWebhookEvent(body)).toEqual({ ok: true, event: { id: 'whe_1', type: EVENT_TYPES.updatesAvailable, timestamp: '2025-07-24T22:51:05.206Z', data: { runDate: '2025-07-24' } } });
    expect(parseWebhookEvent({ id: 'e', type: 'producersync.something_new', timestamp: 5, data: {} })).toEqual({
      ok: true,
      event: { id: 'e', type: 'producersync.something_new', timestamp: undefined, data: {} },
    });
  });

  it.each([
    [[1, 2], 'body is not a JSON object'],
    [{ type: 't', data: {} }, '"id" must be a non-empty string'],
    [{ id: '', type: 't', data: {} }, '"id" must be a non-empty string'],
    [{ id: 'e', data: {} }, '"type" must be a non-empty string'],
    [{ id: 'e', type: 't', data: [] }, '"data" must be an object'],
    [{ id: 'e', type: EVENT_TYPES.updatesAvailable, data: ['2025-07-24'] }, '"data" must be an object'],
    [{ id: 'e', type: EVENT_TYPES.npnActivated, data: 'x' }, '"data" must be an object or a list of NPNs'],
    [{ id: 'e', type: EVENT_TYPES.updatesAvailable, data: {} }, '"data.runDate" must be a yyyy-MM-dd date'],
    [{ id: 'e', type: EVENT_TYPES.updatesAvailable, data: { runDate: '2025-02-30' } }, '"data.runDate" must be a yyyy-MM-dd date'],
    [{ id: 'e', type: 't', data: nested(MAX_JSON_DEPTH) }, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`],
  ])('refuses %j: %s', (payload, problem) => {
    expect(parseWebhookEvent(payload)).toEqual({ ok: false, problem });
  });

  it('accepts an npn.activated / npn.deactivated whose data is the NPN list itself', () => {
    for (const type of [EVENT_TYPES.npnActivated, EVENT_TYPES.npnDeactivated]) {
      expect(parseWebhookEvent({ id: 'e', type, timestamp: '2025-07-24T22:51:05.206Z', data: ['15645555', '19855109'] })).toEqual({
        ok: true,
        event: { id: 'e', type, timestamp: '2025-07-24T22:51:05.206Z', data: ['15645555', '19855109'] },
      });
    }
  });

  it('measures nesting without recursion', () => {
    expect(jsonDepthExceeds(nested(32), 32)).toBe(false);
    expect(jsonDepthExceeds(nested(33), 32)).toBe(true);
    expect(jsonDepthExceeds(nested(100_000), 32)).toBe(true);
    expect(jsonDepthExceeds('text', 0)).toBe(false);
  });
});

describe('event data', () => {
  it('reads every payload shape the simulator sends: {npn}, {npns}, {npn: [...]} and the list itself', () => {
    expect(npnsOf({ npn: '19855109' })).toEqual(['19855109']);
    expect(npnsOf({ npns: ['15645555', '19855109'] })).toEqual(['15645555', '19855109']);
    expect(npnsOf({ npn: ['15645555', '19855109'] })).toEqual(['15645555', '19855109']);
    expect(npnsOf(['15645555', 19855109, '15645555'])).toEqual(['15645555', '19855109']);
  });

  it('reads one NPN or a list, tolerates numbers, and deduplicates', () => {
    expect(npnsOf({ npn: '19855109' })).toEqual(['19855109']);
    expect(npnsOf({ npns: ['15645555', 19855109, '15645555'] })).toEqual(['15645555', '19855109']);
    expect(npnsOf({ npns: ['1'], npn: '2' })).toEqual(['1']);
  });

  it.each([
    [{}, /neither "npn" nor "npns"/],
    [{ npns: [] }, /neither "npn" nor "npns"/],
    [{ npns: '15645555' }, /neither "npn" nor "npns"/],
    [{ npns: ['12a', '1', 12345678901] }, /2 NPN\(s\) that are not 1-10 digits/],
    [{ npn: -5 }, /1 NPN\(s\)/],
    [[], /neither "npn" nor "npns"/],
    [{ npn: [] }, /neither "npn" nor "npns"/],
    [['1', { npn: '2' }], /1 NPN\(s\)/],
  ])('refuses %j', (data, message) => {
    expect(() => npnsOf(data)).toThrow(message);
  });

  it('reads a calendar runDate', () => {
    expect(runDateOf({ runDate: '2025-07-24' })).toBe('2025-07-24');
    expect(() => runDateOf({ runDate: '2025-02-30' })).toThrow(/yyyy-MM-dd data.runDate/);
    expect(() => runDateOf({})).toThrow(/yyyy-MM-dd data.runDate/);
  });
});
