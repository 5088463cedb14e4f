/**
 * The teams' change feeds of the templates (docs/STREAM-CONTRACT.md §7), as provisioned on fauxqs: each team's
 * queue and dead-letter queue, found by the tag the construct puts on them. The topic, its subscriptions and the
 * publisher are wired like every other resource (provision.ts, wiring.ts); this only names the queues a consumer
 * reads.
 */
import { CHANGE_FEED_TAG } from '#feed/feed-filter';
import type { ProvisionResult } from '#local/provision';
import { resourcesOfType, type StackTemplate } from '#local/template';

export interface LocalTeamFeed {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
}

/** Each team's queues by team name; empty when the app has no change feed. */
export function changeFeedQueues(stacks: StackTemplate[], provisioned: ProvisionResult): Record<string, LocalTeamFeed> {
  const byTeam: Record<string, { queue?: { url: string; arn: string }; dlq?: string }> = {};
  for (const { logicalId, resource } of resourcesOfType(stacks, 'AWS::SQS::Queue')) {
    const tags = (resource.Properties?.Tags as Array<{ Key: string; Value: string }> | undefined) ?? [];
    const team = tags.find((tag) => tag.Key === CHANGE_FEED_TAG)?.Value;
    const queue = provisioned.resources[logicalId];
    if (!team || !queue?.url) continue;
    const entry = (byTeam[team] ??= {});
    // The team queue redrives into its dead-letter queue; the dead-letter queue redrives nowhere.
    if (resource.Properties?.RedrivePolicy !== undefined) entry.queue = { url: queue.url, arn: queue.arn };
    else entry.dlq = queue.url;
  }
  const feeds: Record<string, LocalTeamFeed> = {};
  for (const [team, { queue, dlq }] of Object.entries(byTeam)) {
    if (!queue || !dlq) throw new Error(`change feed ${team}: the templates have ${queue ? 'no dead-letter queue' : 'no queue'} tagged for it`);
    feeds[team] = { queueUrl: queue.url, queueArn: queue.arn, deadLetterQueueUrl: dlq };
  }
  return feeds;
}
