/**
 * The project's metrics, recorded by the activities themselves on Temporal's meter (`Context.current().metricMeter`)
 * at the point where they know the fact. The SDK tags every value with the activity's `namespace`, `taskQueue` and
 * `activityType`; the core runtime's Prometheus exporter serves them beside its own `temporal_*` metrics. The core
 * adds its `temporal_` prefix only to its own metrics, so the names below are the names scraped.
 *
 * Only activity code may call the record functions (they need the activity context); workflow code must not
 * (sandbox, replay): everything a workflow does that is worth counting passes through an activity.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory, WorkerPlugin } from '@temporalio/worker';

/** The project's metric names, their help text and unit, as Prometheus shows them. */
export const PROJECT_METRICS = {
  jobStateTransitions: {
    name: 'aio_import_job_state_transitions_total',
    help: 'Azure import jobs seen entering an Azure job state (label state), per worker process',
  },
  notificationsSent: { name: 'aio_notifications_sent_total', help: 'Notifications delivered, by kind' },
  remindersSent: { name: 'aio_reminders_sent_total', help: 'Shipping reminders and escalations delivered (label kind)' },
  azureErrors: { name: 'aio_azure_errors_total', help: 'Failed Azure activity calls, by classified error type (label type)' },
  activityFailures: { name: 'aio_activity_failures_total', help: 'Activity attempts that threw, by failure type (label type)' },
  preparedBytes: { name: 'aio_prepare_bytes_total', unit: 'By', help: 'Bytes written to import drives by drive preparation (rate() gives bytes/s)' },
  prepareThroughput: { name: 'aio_prepare_bytes_per_second', unit: 'By/s', help: 'Throughput of the last finished drive preparation on this station' },
} as const;

type CounterName = Exclude<keyof typeof PROJECT_METRICS, 'prepareThroughput'>;

function count(metric: CounterName, value: number, tags: Record<string, string> = {}): void {
  const m: { name: string; help: string; unit?: string } = PROJECT_METRICS[metric];
  // Creating an instrument again under the same name returns the core's existing one, so there is nothing to cache.
  Context.current().metricMeter.createCounter(m.name, m.unit, m.help).add(value, tags);
}

/** Last Azure state seen per job (bounded), so repeated polls of an unchanged state count once. */
const lastStateOfJob = new Map<string, string>();
const MAX_TRACKED_JOBS = 20_000;

/**
 * Counts a job entering `state`; repeated reports of the same state for the same job count once (per process: a job
 * polled by two workers may count twice, so use increase() over a window rather than exact totals).
 */
export function recordJobState(jobKey: string, state: string): void {
  if (lastStateOfJob.get(jobKey) === state) return;
  // Re-inserting keeps the map in least-recently-changed order, so the oldest entry is the one dropped.
  lastStateOfJob.delete(jobKey);
  lastStateOfJob.set(jobKey, state);
  if (lastStateOfJob.size > MAX_TRACKED_JOBS) {
    const oldest = lastStateOfJob.keys().next();
    if (!oldest.done) lastStateOfJob.delete(oldest.value);
  }
  count('jobStateTransitions', 1, { state });
}

/** Counts a delivered notification; reminders and escalations are also counted on their own. */
export function recordNotificationSent(kind: string): void {
  count('notificationsSent', 1, { kind });
  if (kind === 'reminder' || kind === 'escalation') count('remindersSent', 1, { kind });
}

/** Counts a failed Azure call by the type `classify()` gave it. */
export function recordAzureError(type: string): void {
  count('azureErrors', 1, { type });
}

/** Adds the bytes a preparation wrote and sets the station's last-throughput gauge. */
export function recordPreparedBytes(bytes: number, seconds: number): void {
  count('preparedBytes', bytes);
  if (seconds > 0) {
    const m = PROJECT_METRICS.prepareThroughput;
    Context.current().metricMeter.createGauge(m.name, 'float', m.unit, m.help).set(bytes / seconds);
  }
}

function failureType(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  return err instanceof Error ? err.name : 'unknown';
}

/** Counts every activity attempt that throws, by failure type, on the failing activity's own meter. */
export const activityFailureInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        ctx.metricMeter.createCounter(PROJECT_METRICS.activityFailures.name, undefined, PROJECT_METRICS.activityFailures.help).add(1, { type: failureType(err) });
        throw err;
      }
    },
  },
});

/** A worker plugin adding the activity-failure count to a worker's activity interceptors. */
export function activityMetricsPlugin(): WorkerPlugin {
  return {
    name: 'azure-import-orchestrator.activity-metrics',
    configureWorker: (options) => ({
      ...options,
      interceptors: { ...options.interceptors, activity: [...(options.interceptors?.activity ?? []), activityFailureInterceptor] },
    }),
  };
}
