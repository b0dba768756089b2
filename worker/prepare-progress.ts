/**
 * Prepare progress for the status query. A workflow cannot read its activities' heartbeats, so the station sends
 * its workflow the progress it heartbeats, as a signal, throttled: at most one per whole percent of bytes copied
 * and at most one every 10 s, so an attempt adds at most 101 signals (about 400 history events with their workflow
 * tasks) however long the copy runs.
 */
import { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { PrepareProgressSchema, type PrepareProgress } from '../common/prepare-contract';
import { prepareProgressSignal } from '../workflows/import-job-messages';

const MIN_INTERVAL_MS = 10_000;

/** Decides which progress reports are worth a signal. */
export function progressThrottle(minIntervalMs = MIN_INTERVAL_MS, now: () => number = Date.now): (p: PrepareProgress) => boolean {
  let lastPercent = -1;
  let lastAt = -Infinity;
  return (p) => {
    const percent = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 0;
    // The first progress past 0 % goes at once, so a fast preparation still shows it; later ones wait the interval.
    const firstProgress = lastPercent <= 0 && percent > 0;
    if (percent <= lastPercent || (!firstProgress && now() - lastAt < minIntervalMs)) return false;
    lastPercent = percent;
    lastAt = now();
    return true;
  };
}

/**
 * An activity interceptor for the station worker: every heartbeat of `prepareDrives` still goes to Temporal, and
 * the throttled ones also reach the workflow. The SDK has no hook on heartbeats, so the context's `heartbeat`
 * is wrapped for the duration of the activity.
 */
export const prepareProgressInterceptor = (minIntervalMs = MIN_INTERVAL_MS): ActivityInterceptorsFactory => (ctx: Context) => {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      const workflow = ctx.info.workflowExecution;
      if (ctx.info.activityType !== 'prepareDrives' || ctx.info.isLocal || !workflow) return next(input);
      const shouldSignal = progressThrottle(minIntervalMs);
      const handle = ctx.client.workflow.getHandle(workflow.workflowId);
      const heartbeat = ctx.heartbeat;
      Object.defineProperty(ctx, 'heartbeat', {
        configurable: true,
        value: (details?: unknown) => {
          heartbeat(details);
          const progress = PrepareProgressSchema.safeParse(details);
          if (!progress.success || !shouldSignal(progress.data)) return;
          handle.signal(prepareProgressSignal, progress.data).catch((err: unknown) => ctx.log.warn('prepare progress not delivered to the workflow', { error: String(err) }));
        },
      });
      return next(input);
    },
  };
  return { inbound };
};
