/**
 * One Azure import job = one workflow: prepare → locate → create → await shipping → update → track.
 * Deterministic orchestration only; every Azure call and every disk access is an activity. The job's state and its
 * message handlers live in `ImportJob`; each step is a module in `steps/`.
 */
import { ActivityFailure, ApplicationFailure, allHandlersFinished, condition, isCancellation, log } from '@temporalio/workflow';
import type { JobSnapshot } from '../common/azure-job';
import { ImportJob, JobCancelled } from './import-job-state';
import { parseJobSpec } from './spec';
import type { ImportJobInput, ImportJobOutcome } from './import-job-messages';
import { awaitRecreate, awaitShipping } from './steps/await-shipping';
import { createAzureJob } from './steps/create';
import { locateSite } from './steps/locate';
import { prepareDrives } from './steps/prepare';
import { resultOf, trackAzureJob } from './steps/track';
import { updateShipping } from './steps/update';

export async function importJobWorkflow(input: ImportJobInput): Promise<ImportJobOutcome> {
  const job = new ImportJob(parseJobSpec(input.spec), input.startedBy);
  job.registerHandlers();

  try {
    await prepareDrives(job);
    // Locate, create and await shipping; again, on request, when the shipping window expires.
    for (;;) {
      job.throwIfCancelled();
      const site = await locateSite(job);
      job.throwIfCancelled();
      const createdAt = await createAzureJob(job, site);
      if (await awaitShipping(job, createdAt)) break;
      if (!(await awaitRecreate(job))) return job.outcome('expired');
    }
    await updateShipping(job);
    const final = await trackAzureJob(job);
    return await finish(job, resultOf(job, final), final);
  } catch (err) {
    if (err instanceof JobCancelled || (isCancellation(err) && job.cancel)) {
      job.setStep('cancelled');
      job.record('workflow ended: cancelled');
      await condition(allHandlersFinished);
      return job.outcome('cancelled');
    }
    throw await fail(job, err);
  }
}

async function finish(job: ImportJob, result: ImportJobOutcome['result'], final: JobSnapshot): Promise<ImportJobOutcome> {
  job.setStep(result);
  job.record(`job ${result}`);
  await job.notify('completed', `Import job ${job.spec.jobName} finished: ${final.state}.`);
  await condition(allHandlersFinished);
  return job.outcome(result, final.drives);
}

/** Records the failure, tells the team, and returns the error the workflow fails with (non-retryable, typed). */
async function fail(job: ImportJob, err: unknown): Promise<unknown> {
  job.setStep('failed');
  const message = describeFailure(err);
  job.status.failure = message;
  job.record('failed', undefined, message);
  log.error('import job failed', { jobName: job.spec.jobName, error: message });
  await job.notify('failed', `Import job ${job.spec.jobName} failed: ${message}`).catch(() => undefined);
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({ message, type: err.cause.type ?? 'ActivityFailed', details: err.cause.details ?? undefined, nonRetryable: true });
  }
  return err;
}

function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    const inner = cause instanceof ApplicationFailure ? `${cause.type ?? 'Error'}: ${cause.message}` : cause instanceof Error ? cause.message : err.message;
    return `${err.activityType} failed: ${inner}`;
  }
  return err instanceof Error ? err.message : String(err);
}
