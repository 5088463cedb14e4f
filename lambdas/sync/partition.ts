/**
 * Partitions of a large backfill (issue 15): which endpoints to split into NPN slices, into how many
 * slices and page loops, so that the biggest endpoints page in parallel while the extra requests slices
 * cost stay under 5% of the run (docs/SYNC.md "Partitions: the sizing rule"). Pure: the planner is given
 * the expected records per endpoint (the previous complete full run's counts) and the NPN count.
 *
 * Why an endpoint needs it: one page loop asks for one page at a time (the next page's URL comes with the
 * current page), so an endpoint alone takes pages × loop seconds however large the budget. When that is
 * longer than the whole run at the budget, it is the run's tail, paging at a fraction of the budget.
 *
 * Also Prepare's pure side of the wiring: the forced plan (PARTITION_FORCE), the NPN list dealt into
 * slices, and the Map items of a partitioned endpoint's streams.
 */
import type { EndpointName } from '#producersync/endpoints';
import type { SyncPagesEvent } from '#sync/events';

/** Extra requests one more slice costs, expected: its own empty end-of-data response, and half a page for its partial last page. */
export const EXTRA_REQUESTS_PER_SLICE = 1.5;
/** The bound: slices may cost at most this share of the unpartitioned run's requests. */
export const DEFAULT_OVERHEAD_BUDGET = 0.05;
/** A URL length every server and proxy on the way takes (8 KiB, the common request-line limit). */
export const DEFAULT_URL_BYTES = 8_192;
/** Bytes of one NPN in the `npns` list: up to 10 digits and the comma, which URLSearchParams writes as `%2C`. */
const NPN_BYTES = 10 + 3;

/** NPNs a slice can list when the rest of its first-page URL takes `baseUrlBytes` (the bound is on the whole URL). */
export function npnsPerSlice(baseUrlBytes: number, urlBytes = DEFAULT_URL_BYTES): number {
  const room = Math.floor((urlBytes - baseUrlBytes) / NPN_BYTES);
  if (room < 1) throw new Error(`a URL of ${urlBytes} bytes has no room for an npns list after ${baseUrlBytes} bytes`);
  return room;
}

/** What the planner is given. */
export interface PartitionInput {
  /** Expected records per endpoint: the previous complete full run's `recordsSeen`. */
  records: Partial<Record<EndpointName, number>>;
  /** NPNs the slices list between them (the subscribed NPNs). */
  npns: number;
  /** Records a page (PAGE_SIZE). */
  pageSize: number;
  /** The shared budget (API_REQUESTS_PER_MINUTE). */
  requestsPerMinute: number;
  /** Seconds one page loop takes a page: its fetch, the page before applied meanwhile. */
  loopSecondsPerPage: number;
  /** NPNs one slice lists (npnsPerSlice). */
  npnsPerSlice: number;
  /** @default DEFAULT_OVERHEAD_BUDGET */
  overheadBudget?: number;
}

/** One endpoint split into slices, worked through by `streams` page loops. */
export interface EndpointPartition {
  endpoint: EndpointName;
  /** Slices of at most `npnsPerSlice` NPNs, each paged from its first page to its empty end. */
  slices: number;
  npnsPerSlice: number;
  /** Page loops (Map items) working through the slices, each many slices in turn. */
  streams: number;
  /** Requests the slices add over one pass: EXTRA_REQUESTS_PER_SLICE × (slices − 1), rounded up. */
  extraRequests: number;
}

/** The planner's answer. */
export interface PartitionPlan {
  partitions: EndpointPartition[];
  /** Requests of the unpartitioned run: ceil(records / pageSize) + 1 per endpoint. */
  baseRequests: number;
  extraRequests: number;
  /** The run's length at the budget alone (baseRequests ÷ rate), the bound every endpoint should finish within. */
  budgetSeconds: number;
  /** The longest endpoint's time with one loop each, and with the plan's streams. */
  longestLoopSeconds: { unpartitioned: number; partitioned: number };
  /** Endpoints that would be the tail but whose slices do not fit in the overhead budget. */
  leftAsTail: EndpointName[];
}

/**
 * The sizing rule. Endpoints whose one loop would outlast the budget's run (pages × loop seconds >
 * baseRequests ÷ rate) get ceil(that ÷ the run) streams, and slices enough to list every NPN
 * (ceil(npns ÷ npnsPerSlice), at least one per stream); the longest first, while the slices' extra
 * requests stay within the overhead budget. Every other endpoint pages as one pass.
 */
export function planPartitions(input: PartitionInput): PartitionPlan {
  const budget = input.overheadBudget ?? DEFAULT_OVERHEAD_BUDGET;
  const pagesOf = (records: number): number => Math.ceil(records / input.pageSize) + 1;
  const endpoints = (Object.entries(input.records) as [EndpointName, number][]).filter(([, records]) => records > 0);
  const baseRequests = endpoints.reduce((n, [, records]) => n + pagesOf(records), 0);
  const perSecond = input.requestsPerMinute / 60;
  const budgetSeconds = baseRequests / perSecond;
  const loopSeconds = (records: number): number => pagesOf(records) * input.loopSecondsPerPage;
  const allowed = Math.floor(budget * baseRequests);

  const partitions: EndpointPartition[] = [];
  const leftAsTail: EndpointName[] = [];
  let extraRequests = 0;
  const longestFirst = endpoints.filter(([, records]) => loopSeconds(records) > budgetSeconds).sort((a, b) => b[1] - a[1]);
  for (const [endpoint, records] of longestFirst) {
    const streams = Math.ceil(loopSeconds(records) / budgetSeconds);
    const slices = Math.max(streams, Math.ceil(input.npns / input.npnsPerSlice));
    const extra = Math.ceil(EXTRA_REQUESTS_PER_SLICE * (slices - 1));
    if (extraRequests + extra > allowed) {
      leftAsTail.push(endpoint);
      continue;
    }
    extraRequests += extra;
    partitions.push({ endpoint, slices, npnsPerSlice: Math.ceil(input.npns / slices), streams, extraRequests: extra });
  }
  const partitioned = (endpoint: EndpointName, records: number): number => {
    const partition = partitions.find((p) => p.endpoint === endpoint);
    return partition ? ((pagesOf(records) + partition.extraRequests) * input.loopSecondsPerPage) / partition.streams : loopSeconds(records);
  };
  return {
    partitions,
    baseRequests,
    extraRequests,
    budgetSeconds,
    longestLoopSeconds: {
      unpartitioned: Math.max(0, ...endpoints.map(([, records]) => loopSeconds(records))),
      partitioned: Math.max(0, ...endpoints.map(([endpoint, records]) => partitioned(endpoint, records))),
    },
    leftAsTail,
  };
}

/** Bytes of a first-page URL before its `npns` list: the docs' ~120 bytes, with room for a longer base URL. */
export const FIRST_PAGE_URL_BYTES = 200;
/** The page loop's seconds a page with fetch and apply overlapped (docs/SYNC.md "Partitions: the sizing rule"). */
export const LOOP_SECONDS_PER_PAGE = 1;
/** A tail shorter than this past the run at the budget is left alone: slices are worth their requests only when they save minutes. */
export const MIN_TAIL_SECONDS = 300;

/** An endpoint's slices as Prepare stores them and its Map items name them. */
export interface SlicedEndpoint {
  endpoint: EndpointName;
  /** Page loops; stream k works through slices k, k + streams, k + 2 × streams, ... */
  streams: number;
  /** Every NPN in exactly one slice (sorted, contiguous runs of the sorted list). */
  slices: string[][];
}

/**
 * PARTITION_FORCE, the operator's and the tests' knob (the rule partitions nothing on small data):
 * `endpoint:streams:slices` comma-separated, e.g. `licenses:2:5,appointments:3:7`. A bad value is a
 * deployment error, not bad input.
 */
export function parseForcedPartitions(raw: string | undefined, isEndpoint: (name: string) => name is EndpointName): { endpoint: EndpointName; streams: number; slices: number }[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const [endpoint = '', streams, slices] = part.trim().split(':');
    const s = Number(streams);
    const n = Number(slices);
    if (!isEndpoint(endpoint) || !Number.isInteger(s) || !Number.isInteger(n) || s < 1 || n < s) {
      throw new Error(`PARTITION_FORCE must be endpoint:streams:slices (slices >= streams >= 1), comma-separated; got ${JSON.stringify(part)}`);
    }
    return { endpoint, streams: s, slices: n };
  });
}

/** `npns` (de-duplicated, sorted) dealt into `slices` contiguous slices of near-equal size (none empty while NPNs last). */
export function sliceNpns(npns: readonly string[], slices: number): string[][] {
  const sorted = [...new Set(npns)].sort();
  const count = Math.max(1, Math.min(slices, sorted.length));
  const out: string[][] = [];
  for (let i = 0; i < count; i++) out.push(sorted.slice(Math.floor((i * sorted.length) / count), Math.floor(((i + 1) * sorted.length) / count)));
  return out;
}

/**
 * The sliced endpoints of a full pass: the forced plan if there is one, else the sizing rule on the
 * previous complete full run's counts. No NPNs (no NPN status items yet), or no counts and nothing
 * forced: nothing is partitioned (an unfiltered pass returns everything, a slice only its NPNs).
 */
export function sliceEndpoints(
  input: Omit<PartitionInput, 'records' | 'npns'> & { records: PartitionInput['records'] | undefined; npns: readonly string[] },
  forced: readonly { endpoint: EndpointName; streams: number; slices: number }[],
): { sliced: SlicedEndpoint[]; plan?: PartitionPlan } {
  if (input.npns.length === 0) return { sliced: [] };
  // Never more streams than slices (a list shorter than the slices asked for makes fewer).
  const sliceOf = ({ endpoint, streams, slices }: { endpoint: EndpointName; streams: number; slices: number }): SlicedEndpoint => {
    const lists = sliceNpns(input.npns, slices);
    return { endpoint, streams: Math.min(streams, lists.length), slices: lists };
  };
  if (forced.length > 0) return { sliced: forced.map(sliceOf) };
  if (input.records === undefined) return { sliced: [] };
  const { records } = input;
  const plan = planPartitions({ ...input, records, npns: input.npns.length });
  const tailSeconds = (endpoint: EndpointName): number => (Math.ceil((records[endpoint] ?? 0) / input.pageSize) + 1) * input.loopSecondsPerPage - plan.budgetSeconds;
  return { plan, sliced: plan.partitions.filter((p) => tailSeconds(p.endpoint) >= MIN_TAIL_SECONDS).map(sliceOf) };
}

/** A run's partition of one endpoint as its Map items and the stored plan name it: counts, no NPN lists. */
export interface StreamPlan {
  endpoint: EndpointName;
  streams: number;
  slices: number;
}

/** The plan of sliced endpoints (what Prepare stores beside the slices). */
export const streamPlanOf = (sliced: readonly SlicedEndpoint[]): StreamPlan[] => sliced.map(({ endpoint, streams, slices }) => ({ endpoint, streams, slices: slices.length }));

/** The run's Map items with each planned endpoint's item replaced by its streams' `{..., stream, streams, slices}` (no NPN list: the slices are in the control table). */
export function withStreams(items: readonly SyncPagesEvent[], plan: readonly StreamPlan[]): SyncPagesEvent[] {
  return items.flatMap((item) => {
    const partition = plan.find((p) => p.endpoint === item.endpoint);
    if (!partition) return [item];
    return Array.from({ length: partition.streams }, (_, stream) => ({ ...item, stream, streams: partition.streams, slices: partition.slices }));
  });
}
