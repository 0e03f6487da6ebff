/**
 * The metric names that dashboards, alert rules and the KEDA trigger in docker/ may use, by the
 * process that exports them (the contract of PRODUCT.md's "Metrics" and issue 14). The unit tests
 * check that docker/ uses only these; deploy.test.ts checks them against the live registries.
 */

/** A worker's registry (labels `queue` and `task`; `final` on failures). */
export const WORKER_METRICS = [
  'asyncq_tasks_completed_total',
  'asyncq_tasks_failed_total',
  'asyncq_tasks_retried_total',
  'asyncq_tasks_cancelled_total',
  'asyncq_task_duration_seconds',
  'asyncq_task_wait_seconds',
  'asyncq_tasks_active',
] as const;

/** A producer's counter, when it is given a registry. */
export const PRODUCER_METRICS = ['asyncq_tasks_enqueued_total'] as const;

/** The exporter (`asyncq metrics`): read from Redis on each scrape. */
export const EXPORTER_METRICS = [
  'asyncq_up',
  'asyncq_scrape_errors_total',
  'asyncq_queue_tasks',
  'asyncq_queue_completed_total',
  'asyncq_queue_failed_total',
  'asyncq_queue_cancelled_total',
  'asyncq_queue_enqueued_total',
  'asyncq_queue_unfinished',
  'asyncq_workers',
  'asyncq_workers_desired',
  'asyncq_queue_oldest_waiting_seconds',
  'asyncq_queue_drain_seconds',
  'asyncq_queue_partition_tasks',
] as const;

/**
 * Exporter names of the contract that the exporter does not register yet. deploy.test.ts allows
 * exactly these to be missing, and fails as soon as one of them is exported, naming it, so that it
 * is deleted from this list. Empty since the exporter's rework (issue 14): the check is strict for
 * every name.
 */
export const EXPORTER_METRICS_NOT_YET_EXPORTED: readonly string[] = [];

/** Every name of the contract. */
export const ALL_METRICS: readonly string[] = [...WORKER_METRICS, ...PRODUCER_METRICS, ...EXPORTER_METRICS];

/** The files in docker/ whose queries name metrics, relative to docker/. */
export const FILES_USING_METRICS = ['grafana/dashboards/asyncq.json', 'prometheus/alerts.yml', 'k8s/keda-scaledobject.yaml'] as const;

/** The asyncq metric names a text uses, histogram series (`_bucket`, `_count`, `_sum`) folded into their metric. */
export function metricNamesIn(text: string): Set<string> {
  const used = new Set<string>();
  for (const [m] of text.matchAll(/\basyncq_[a-z_]+/g)) used.add(m.replace(/_(bucket|count|sum)$/, ''));
  return used;
}
