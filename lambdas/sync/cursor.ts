/** The cursor of an endpoint's sync: which page to fetch next, from its checkpoint. */
import { isEndpointName } from '#producersync/endpoints';
import { firstPageUrl } from '#producersync/paginator';
import type { Checkpoint } from '#sync/checkpoint';
import type { SyncPagesEvent } from '#sync/events';

/** Where first pages are built. */
export interface CursorOptions {
  /** The API base URL the first page's URL starts with. */
  apiBaseUrl: string;
  /** `size` query parameter (PAGE_SIZE, default 1000). */
  pageSize: number;
}

/**
 * The page an endpoint's sync is at: the checkpoint's `nextUrl` (the API's own `links.next.href`,
 * followed as given) once a page has been stored, else the first page built from the event.
 * Deleted records are always requested, so soft deletes reach the table. A partitioned endpoint's
 * stream lists its current slice's NPNs (`sliceNpns`) instead of the event's.
 */
export function currentPageUrl(event: SyncPagesEvent, checkpoint: Checkpoint, { apiBaseUrl, pageSize }: CursorOptions, sliceNpns?: readonly string[]): string {
  if (checkpoint.nextUrl) return checkpoint.nextUrl;
  if (!isEndpointName(event.endpoint)) throw new Error(`${event.endpoint} has no list endpoint`);
  return firstPageUrl(apiBaseUrl, event.endpoint, {
    updatedSince: event.updatedSince ?? undefined,
    npns: sliceNpns ?? event.npns ?? undefined,
    size: pageSize,
    includeDeleted: true,
  });
}

/** True before the first page of the endpoint has been stored. */
export const atFirstPage = (checkpoint: Checkpoint): boolean => checkpoint.pages === 0 && checkpoint.nextUrl === null;
