import { describe, expect, it } from 'vitest';
import { afterPage, initialCheckpoint } from '#sync/checkpoint';
import { atFirstPage, currentPageUrl } from '#sync/cursor';
import type { SyncPagesEvent } from '#sync/events';
import { emptyOutcome } from '#sync/record-store';

const options = { apiBaseUrl: 'https://api.sandbox.agentsync.io', pageSize: 1000 };
const event = (overrides: Partial<SyncPagesEvent> = {}): SyncPagesEvent => ({ runId: 'r', endpoint: 'licenses', mode: 'incremental', updatedSince: '2025-07-24', npns: null, ...overrides });

describe('cursor', () => {
  it('starts at the first page built from the event, always asking for deleted records', () => {
    expect(currentPageUrl(event(), initialCheckpoint('r', 'licenses'), options)).toBe(
      'https://api.sandbox.agentsync.io/v2/licenses?updatedSince=2025-07-24&size=1000&includeDeleted=true',
    );
    expect(currentPageUrl(event({ mode: 'backfill', updatedSince: null, npns: ['1', '2'] }), initialCheckpoint('r', 'licenses'), { ...options, pageSize: 20 })).toBe(
      'https://api.sandbox.agentsync.io/v2/licenses?npns=1%2C2&size=20&includeDeleted=true',
    );
  });

  it('then follows the checkpoint\'s nextUrl exactly as the API gave it', () => {
    const next = 'https://other.host/v2/licenses?continuationToken=abc&size=1000';
    const checkpoint = afterPage(initialCheckpoint('r', 'licenses'), 1000, emptyOutcome(), next);
    expect(currentPageUrl(event(), checkpoint, options)).toBe(next);
    expect(atFirstPage(initialCheckpoint('r', 'licenses'))).toBe(true);
    expect(atFirstPage(checkpoint)).toBe(false);
  });
});
