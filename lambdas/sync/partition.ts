/**
 * Partitions of a large backfill (issue 15): which endpoints to split into NPN slices, into how many
 * slices and page loops, so that the biggest endpoints page in parallel while the extra requests slices
 * cost stay under 5% of the run (docs/SYNC.md "Partitions: the sizing rule"). Pure: the planner is given
 * the expected records per endpoint (the previous complete full run's counts) and the NPN count.
 *
 * Why an endpoint needs it: one page loop asks for one page at a time (the next page's URL comes with the
 * current page), so an endpoint alone takes pages × loop seconds however large the budget. When that is
 * longer than the whole run at the budget, it is the run's tail, paging at a fraction of the budget.
 */
import type { EndpointName } from '#producersync/endpoints';

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
