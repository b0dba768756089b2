/** Step 6: follow the Azure job until it ends, polling with back-off; alert when shipped drives are not received. */
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import type { JobSnapshot } from '../../common/azure-job';
import { stepReads } from '../activity-stubs';
import type { ImportJob } from '../import-job-state';
import type { ImportJobOutcome } from '../import-job-messages';
import { EXPIRED_JOB_STATE, inTransitStates, terminalStates } from '../../common/workflow-imports';

export async function trackAzureJob(job: ImportJob): Promise<JobSnapshot> {
  job.setStep('tracking');
  const shippedAt = Date.now();
  const terminal = terminalStates(job.api);
  const inTransit = inTransitStates(job.api);
  let interval = job.timing.pollInitialMs;
  let notReceivedAlerted = false;
  const reads = stepReads(job);
  for (;;) {
    const snap = await reads.getAzureJob(job.jobRef);
    job.setAzureSnapshot(snap);
    if (terminal.has(snap.state)) return snap;
    if (!notReceivedAlerted && inTransit.has(snap.state) && Date.now() - shippedAt >= job.timing.notReceivedMs) {
      notReceivedAlerted = true;
      job.record('drives not received in time');
      await job.notify('not-received', `Drives for ${job.spec.jobName} were shipped ${job.shipment?.shipDate} but Azure has not received them.`);
    }
    await sleep(interval);
    interval = Math.min(interval * 2, job.timing.pollMaxMs);
  }
}

/** What a final Azure state means for the import; a job Azure failed fails the workflow, naming Azure's reason. */
export function resultOf(job: ImportJob, final: JobSnapshot): ImportJobOutcome['result'] {
  switch (final.state) {
    case 'Closed':
      return 'closed';
    case EXPIRED_JOB_STATE:
      return 'expired';
    case 'Cancelled':
    case 'Aborted':
      return 'cancelled';
    case 'Failed_IssueReportedAtCustomer':
    case 'Failed_IssueDetectedAtAzureDC':
      throw ApplicationFailure.create({
        type: 'AzureJobFailed',
        message: `Azure reports the job ${job.spec.jobName} failed (${final.state})${final.error?.message ? `: ${final.error.message}` : ''}`,
        nonRetryable: true,
      });
    default:
      return 'completed';
  }
}
