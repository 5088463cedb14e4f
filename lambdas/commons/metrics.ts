import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics (EMF lines on stdout, no API calls) in the `ProducerSync` namespace,
 * with the default `service` dimension only, so dashboards and alarms read one series per name.
 * Set POWERTOOLS_METRICS_DISABLED=true to silence them (tests).
 */
export const METRICS_NAMESPACE = 'ProducerSync';

/** The one `service` dimension value of every metric, whatever function emits it (CONTRACTS.md §2). */
export const METRICS_SERVICE = 'producersync-aws';

/** Every metric this product emits (dashboards and alarms in lib/constructs/observability.ts read these names). */
export const METRIC_NAMES = [
  'Pages',
  'RecordsInserted',
  'RecordsModified',
  'RecordsUnchanged',
  'RecordsDeleted',
  'RecordsStale',
  'RecordsQuarantined',
  'Throttled',
  'TokenRefreshes',
  'RunsSucceeded',
  'WebhookVerifyFailures',
  'WatermarkAgeHours',
  'RecordsCorrected',
  'EventsSkipped',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'producersync-aws',
});

/** Adds the given counts (zeros included, so a quiet day still shows as 0, not as missing data) and flushes them. */
export function publishCounts(counts: Partial<Record<MetricName, number>>): void {
  let added = 0;
  for (const name of METRIC_NAMES) {
    const value = counts[name];
    if (value === undefined) continue;
    metrics.addMetric(name, MetricUnit.Count, value);
    added++;
  }
  if (added > 0) metrics.publishStoredMetrics();
}
