/** The activity stubs the import-job workflow calls (types only from the activity modules: nothing runs here). */
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createImportJobActivities } from '../activities/import-job-activities';
import type { createNotificationActivity } from '../activities/notifier';
import type { createPrepareActivities } from '../activities/prepare/activity';
import type { JobSpec } from '../common/job-spec';
import { durationToMs, NON_RETRYABLE_ERROR_TYPES } from '../common/workflow-imports';

// The worker registers the Azure activities and the notification activity under its delivery policy side by side.
export type RestActivities = ReturnType<typeof createImportJobActivities> & ReturnType<typeof createNotificationActivity>;
export type PrepareActivities = ReturnType<typeof createPrepareActivities>;
export type NotificationKind = Parameters<RestActivities['sendNotification']>[0]['kind'];


/** Errors no retry can fix come from the Azure port's one classification. */
export const rest = proxyActivities<RestActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

/**
 * Cheap, idempotent reads the ship update makes before it answers the clerk (the site still open, the tracking
 * number unused): as local activities they cost no server round trips, only a marker in history.
 */
export const localReads = proxyLocalActivities<Pick<RestActivities, 'getSite' | 'getAzureJob' | 'findJobsByTrackingNumber'>>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
});

/** The reads the locate step and the tracking polls make. */
export type StepReads = Pick<RestActivities, 'getSite' | 'getAzureJob'>;

/**
 * The locate step's site reads and the tracking polls, as local activities since this patch: each saves an activity
 * round trip and a workflow task, which over weeks of polling halves a job's history. Runs recorded before it read
 * with remote activities and must replay unchanged; one patch id covers both places (one marker per workflow), and
 * runs on the current code take it without a marker.
 */
export function stepReads(job: { readonly runsCurrentCode: boolean }): StepReads {
  return job.runsCurrentCode || patched('reads-as-local-activities') ? localReads : rest;
}

/** The preparation runs on the station where the drives are attached, for as long as copying takes. */
export function prepareActivitiesFor(spec: JobSpec, stationTaskQueue: string): PrepareActivities {
  return proxyActivities<PrepareActivities>({
    taskQueue: stationTaskQueue,
    startToCloseTimeout: '7 days',
    heartbeatTimeout: durationToMs(spec.timing.prepareHeartbeatTimeout),
    retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', nonRetryableErrorTypes: ['PrepareInputError', 'InsufficientCapacityError'] },
  });
}
