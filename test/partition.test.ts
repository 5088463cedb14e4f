import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_ENDPOINTS, isEndpointName } from '#producersync/endpoints';
import { firstPageUrl } from '#producersync/paginator';
import {
  DEFAULT_URL_BYTES,
  FIRST_PAGE_URL_BYTES,
  npnsPerSlice,
  parseForcedPartitions,
  planPartitions,
  sliceEndpoints,
  streamPlanOf,
  withStreams,
  type PartitionInput,
  type SlicedEndpoint,
} from '#sync/partition';

/** docs/SYNC.md "History size": records per NPN of the default endpoints. */
const PER_NPN = { entities: 1, licenses: 12, appointments: 25, addresses: 6, contactInfos: 4, otherNames: 1, regulatoryActions: 0.1 } as const;
const population = (npns: number): PartitionInput['records'] =>
  Object.fromEntries(Object.entries(PER_NPN).map(([endpoint, perNpn]) => [endpoint, Math.round(npns * perNpn)]));
const base = { pageSize: 1_000, requestsPerMinute: 300, loopSecondsPerPage: 1, npnsPerSlice: 620 };

describe('partition sizing (NPN slices under the 5% rule)', () => {
  it('fits a slice list in the URL bound: the whole first-page URL with its npns list stays within 8 KiB', () => {
    const plain = firstPageUrl('https://api.agentsync.io', 'appointments', { size: 1_000, includeDeleted: true });
    const room = npnsPerSlice(plain.length + '&npns='.length);
    const npns = Array.from({ length: room }, (_, i) => String(9_000_000_000 + i));
    expect(firstPageUrl('https://api.agentsync.io', 'appointments', { size: 1_000, includeDeleted: true, npns }).length).toBeLessThanOrEqual(DEFAULT_URL_BYTES);
    expect(room).toBeGreaterThan(600);
    expect(() => npnsPerSlice(DEFAULT_URL_BYTES)).toThrow(/no room/);
  });

  it('splits appointments of 500,000 NPNs into 807 slices worked by 3 loops within 5%, and leaves licenses as the tail', () => {
    const plan = planPartitions({ ...base, records: population(500_000), npns: 500_000 });
    expect(plan.baseRequests).toBe(24_557);
    expect(plan.budgetSeconds).toBeCloseTo(4_911.4, 1);
    expect(plan.partitions).toEqual([{ endpoint: 'appointments', slices: 807, npnsPerSlice: 620, streams: 3, extraRequests: 1_209 }]);
    expect(plan.extraRequests / plan.baseRequests).toBeLessThanOrEqual(0.05);
    // Slicing licenses as well would cost 2,418 requests, 9.8%: it keeps one loop.
    expect(plan.leftAsTail).toEqual(['licenses']);
    expect(plan.longestLoopSeconds).toEqual({ unpartitioned: 12_501, partitioned: 6_001 });
  });

  it('partitions nothing where no endpoint outlasts the run, and no endpoint whose slices would cost over 5%', () => {
    const fast = planPartitions({ ...base, loopSecondsPerPage: 0.2, records: population(100_000), npns: 100_000 });
    expect(fast.partitions).toEqual([]);
    expect(fast.leftAsTail).toEqual([]);
    // 1,000 NPNs (56 requests, 2 extra allowed): appointments' 3 slices would cost 3; licenses' 2 cost 2.
    const small = planPartitions({ ...base, records: population(1_000), npns: 1_000 });
    expect(small.leftAsTail).toEqual(['appointments']);
    expect(small.partitions).toEqual([{ endpoint: 'licenses', slices: 2, npnsPerSlice: 500, streams: 2, extraRequests: 2 }]);
  });

  it('takes a looser overhead budget or wider slices into account', () => {
    const loose = planPartitions({ ...base, records: population(500_000), npns: 500_000, overheadBudget: 0.1 });
    expect(loose.partitions.map((p) => [p.endpoint, p.streams])).toEqual([
      ['appointments', 3],
      ['licenses', 2],
    ]);
    const wide = planPartitions({ ...base, records: population(500_000), npns: 500_000, npnsPerSlice: 1_300 });
    expect(wide.partitions.map((p) => p.endpoint)).toEqual(['appointments', 'licenses']);
    expect(wide.extraRequests).toBeLessThanOrEqual(0.05 * wide.baseRequests);
  });
});

describe('slices of a full pull (Prepare\'s side of the wiring)', () => {
  const npnList = (count: number) => Array.from({ length: count }, (_, i) => String(1_000_000_000 + i));
  const perSlice = npnsPerSlice(FIRST_PAGE_URL_BYTES);

  it('keeps the state far below 256 KB at 500,000 NPNs: the Map items carry stream numbers, never NPN lists', () => {
    const npns = npnList(500_000);
    const { sliced, plan } = sliceEndpoints({ ...base, npnsPerSlice: perSlice, records: population(500_000), npns }, []);
    expect(plan?.partitions.map((p) => p.endpoint)).toEqual(['appointments']);
    expect(sliced.map(({ endpoint, streams, slices }) => ({ endpoint, streams, slices: slices.length }))).toEqual([{ endpoint: 'appointments', streams: 3, slices: Math.ceil(500_000 / perSlice) }]);
    // Every NPN in exactly one slice, each within the URL bound.
    const [{ slices }] = sliced as [SlicedEndpoint];
    expect(slices.flat()).toEqual(npns);
    expect(Math.max(...slices.map((s) => s.length))).toBeLessThanOrEqual(perSlice);

    const items = withStreams(
      DEFAULT_SYNC_ENDPOINTS.map((endpoint) => ({ runId: 'initial-load-2025-08-01', endpoint, mode: 'backfill' as const, updatedSince: null, npns: null })),
      streamPlanOf(sliced),
    );
    expect(items.filter((i) => i.endpoint === 'appointments').map((i) => i.stream)).toEqual([0, 1, 2]);
    // The state at RecordRun: Prepare's result, the Map's results, the run (docs/SYNC.md "Payloads").
    const results = items.map((item) => ({ ...item, done: true, waitSeconds: 0, pages: 4_000 }));
    const state = { runId: 'initial-load-2025-08-01', mode: 'backfill', updatedSince: null, npns: null, endpoints: items, results, run: { status: 'SUCCEEDED', failedEndpoints: items } };
    expect(JSON.stringify(state).length).toBeLessThan(8 * 1_024);
  });

  it('slices a forced plan (PARTITION_FORCE) evenly, never into more streams than slices, and rejects a malformed one', () => {
    const forced = parseForcedPartitions(' licenses:2:5 , appointments:3:7', isEndpointName);
    expect(forced).toEqual([
      { endpoint: 'licenses', streams: 2, slices: 5 },
      { endpoint: 'appointments', streams: 3, slices: 7 },
    ]);
    const { sliced, plan } = sliceEndpoints({ ...base, npnsPerSlice: perSlice, records: undefined, npns: npnList(30) }, forced);
    expect(plan).toBeUndefined();
    expect(sliced.map((s) => [s.endpoint, s.streams, s.slices.map((l) => l.length)])).toEqual([
      ['licenses', 2, [6, 6, 6, 6, 6]],
      ['appointments', 3, [4, 4, 4, 5, 4, 4, 5]],
    ]);
    // Two NPNs cannot fill 5 slices: 2 slices, so at most 2 streams.
    expect(sliceEndpoints({ ...base, npnsPerSlice: perSlice, records: undefined, npns: ['2', '1', '2'] }, [{ endpoint: 'licenses', streams: 3, slices: 5 }]).sliced).toEqual([
      { endpoint: 'licenses', streams: 2, slices: [['1'], ['2']] },
    ]);
    // No NPNs: nothing to slice, forced or not.
    expect(sliceEndpoints({ ...base, npnsPerSlice: perSlice, records: population(500_000), npns: [] }, forced).sliced).toEqual([]);
    expect(parseForcedPartitions(undefined, isEndpointName)).toEqual([]);
    for (const bad of ['licenses', 'licenses:0:1', 'licenses:3:2', 'exams:1:1', 'licenses:1.5:2']) {
      expect(() => parseForcedPartitions(bad, isEndpointName), bad).toThrow(/PARTITION_FORCE must be endpoint:streams:slices/);
    }
  });
});
