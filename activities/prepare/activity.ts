import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  PrepareProgressSchema,
  PrepareRequestSchema,
  type PrepareProgress,
  type PrepareRequestInput,
  type PrepareResult,
} from '../../common/prepare-contract';
import type { SecretStore } from '../../common/secret-ref';
import { recordPreparedBytes } from '../../metrics/activity-metrics';
import {
  InsufficientCapacityError,
  JournalMismatchError,
  PrepareCancelledError,
  PrepareInputError,
  SourceReadError,
} from './errors';
import { prepareDrives } from './prepare';
import { ratePacer } from './scheduling';

/** Minimum interval between heartbeats. */
const HEARTBEAT_MS = 1000;

/**
 * Prepare activities. Register them on a worker whose task queue belongs to the preparation
 * station where the drives are attached (one task queue per station). The workflow should set
 * a heartbeat timeout (e.g. 30 s) and a retry policy; input / capacity / source errors are
 * non-retryable, I/O hiccups are retried and the next attempt resumes from the journal.
 */
export function createPrepareActivities(deps: {
  // The BitLocker keys are already in the SecretStore (the request carries SecretRefs only);
  // the store is kept for future use (e.g. unlocking drives) and never consulted for logging.
  secrets: SecretStore;
  /** The station's copy-rate cap, shared by its preparations (undefined or 0: unlimited). */
  maxBytesPerSecond?: number;
}) {
  const pacer = deps.maxBytesPerSecond ? ratePacer(deps.maxBytesPerSecond) : undefined;
  return {
    async prepareDrives(input: PrepareRequestInput): Promise<PrepareResult> {
      const ctx = Context.current();
      const parsed = PrepareRequestSchema.safeParse(input);
      if (!parsed.success) {
        const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
        throw ApplicationFailure.create({ type: 'PrepareInputError', message: `invalid prepare request: ${msg}`, nonRetryable: true });
      }
      const req = parsed.data;
      const prev = PrepareProgressSchema.safeParse(ctx.info.heartbeatDetails);
      if (prev.success)
        ctx.log.info('prepare: resuming after a previous attempt', {
          attempt: ctx.info.attempt,
          filesDone: prev.data.filesDone,
          bytesDone: prev.data.bytesDone,
        });
      let last: PrepareProgress | undefined = prev.success ? prev.data : undefined;
      let lastBeat = 0;
      const beat = (force: boolean) => {
        const now = Date.now();
        if (!last || (!force && now - lastBeat < HEARTBEAT_MS)) return;
        lastBeat = now;
        ctx.heartbeat(last);
      };
      beat(true);
      // Heartbeat even while a single large range is being copied (no progress callbacks then).
      const timer = setInterval(() => beat(true), HEARTBEAT_MS * 5);
      const started = performance.now();
      try {
        const result = await prepareDrives(req, {
          signal: ctx.cancellationSignal,
          onProgress: (p) => {
            last = p;
            beat(false);
          },
          log: (m) => ctx.log.info(`prepare: ${m}`),
          pacer,
        });
        recordPreparedBytes(
          result.drives.reduce((sum, d) => sum + d.byteCount, 0),
          (performance.now() - started) / 1000,
        );
        return result;
      } catch (e) {
        throw toFailure(e, ctx.cancellationSignal);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

export type PrepareActivities = ReturnType<typeof createPrepareActivities>;

function toFailure(e: unknown, signal: AbortSignal): Error {
  if (e instanceof PrepareCancelledError || signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof Error ? reason : new CancelledFailure('preparation cancelled');
  }
  if (e instanceof PrepareInputError) return ApplicationFailure.create({ type: 'PrepareInputError', message: e.message, nonRetryable: true });
  if (e instanceof JournalMismatchError) return ApplicationFailure.create({ type: 'PrepareInputError', message: e.message, nonRetryable: true });
  if (e instanceof InsufficientCapacityError)
    return ApplicationFailure.create({ type: 'InsufficientCapacityError', message: e.message, nonRetryable: true, details: [{ shortfallBytes: e.shortfallBytes }] });
  if (e instanceof SourceReadError)
    return ApplicationFailure.create({ type: 'SourceReadError', message: e.message, nonRetryable: !e.retryable });
  const err = e instanceof Error ? e : new Error(String(e));
  return ApplicationFailure.create({ type: 'PrepareIOError', message: err.message, nonRetryable: false, cause: err });
}
