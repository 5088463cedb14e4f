/**
 * The change publisher contract: change events out to the feed's topic, in order per NPN, each at
 * most once per deduplication window. The SNS FIFO adapter is `sns-change-publisher.ts`.
 */
import type { ChangeEvent } from '#feed/change-event';

/** What one `publish` call did. */
export interface PublishOutcome {
  /** Events published from the start of the list: all of them unless `failure` is set. */
  published: number;
  /** The first event that could not be published; none after it was attempted in a later request. */
  failure?: { index: number; error: string };
  /** Events sent without their item because it did not fit in a message (`itemOmitted`). */
  itemsOmitted: number;
}

/** Where change events go. */
export interface ChangePublisher {
  /**
   * Publishes the events of one stream batch in their order. Stops at the first failure: the caller
   * retries from that event, and events after it that a request already carried are deduplicated.
   */
  publish(events: readonly ChangeEvent[]): Promise<PublishOutcome>;
}
