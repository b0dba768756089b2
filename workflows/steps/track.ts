/** Step 6: follow the Azure job until it ends, polling with back-off; alert when shipped drives are not received. */
import { sleep } from '@temporalio/workflow';
import type { JobSnapshot } from '../../common/import-job-contract';
import { rest } from '../activities';
import { terminalStates } from '../azure-states';
import type { ImportJob } from '../import-job-state';

export async function trackAzureJob(job: ImportJob): Promise<JobSnapshot> {
  job.setStep('tracking');
  const shippedAt = Date.now();
  const terminal = terminalStates(job.spec);
  let interval = job.timing.pollInitialMs;
  let notReceivedAlerted = false;
  for (;;) {
    const snap = await rest.getAzureJob(job.jobRef);
    job.setAzureSnapshot(snap);
    if (terminal.has(snap.state)) return snap;
    if (!notReceivedAlerted && snap.state === 'Shipping' && Date.now() - shippedAt >= job.timing.notReceivedMs) {
      notReceivedAlerted = true;
      job.record('drives not received in time');
      await job.notify('not-received', `Drives for ${job.spec.jobName} were shipped ${job.shipment?.shipDate} but Azure has not received them.`);
    }
    await sleep(interval);
    interval = Math.min(interval * 2, job.timing.pollMaxMs);
  }
}
