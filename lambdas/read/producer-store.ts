/**
 * The read side's store contract: the items of one producer's partition (`NPN#<npn>`), which answer
 * every question about that producer in one Query. The DynamoDB adapter is `dynamo-producer-store.ts`.
 */
import type { StoredItem } from './producer-view.ts';

export interface ProducerItemsOptions {
  /** Only these record types (a server-side filter: less to transfer, same read units). @default all */
  recordTypes?: readonly string[];
}

/** Where the read side finds a producer's items. */
export interface ProducerStore {
  /** Every item of the NPN's partition (or of the given record types), in sort-key order. */
  items(npn: string, options?: ProducerItemsOptions): Promise<StoredItem[]>;
}
