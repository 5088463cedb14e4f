/**
 * CloudWatch metrics (EMF lines on stdout, no API calls) in the `ProducerSync` namespace with one
 * dimension, `service` = `producersync-aws`, whatever function emits them: each function logs under
 * its own POWERTOOLS_SERVICE_NAME, but dashboards and alarms read one series per metric name.
 * Set POWERTOOLS_METRICS_DISABLED=true to silence them (tests).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The CloudWatch namespace of every metric. */
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

/** One of METRIC_NAMES. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** The shared Powertools Metrics instance; the constructor's service name wins over POWERTOOLS_SERVICE_NAME. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

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
