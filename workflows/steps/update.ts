/** Step 5: Azure gets the shipment (carrier, tracking number) and the return details, exactly once in effect. */
import { patched } from '@temporalio/workflow';
import { rest } from '../activity-stubs';
import type { ImportJob } from '../import-job-state';

export async function updateShipping(job: ImportJob): Promise<void> {
  job.setStep('updating');
  const shipment = job.shipment!;
  const { snapshot, applied } = await rest.updateShipping({
    ...job.jobRef,
    shipment,
    returnAddress: job.spec.returnAddress,
    returnShipping: job.spec.returnShipping,
  });
  job.setAzureSnapshot(snapshot);
  job.record(applied ? 'Azure job updated with shipping information' : 'Azure job already had this shipping information');
  // Added after the first release: running jobs recorded without this notification must replay unchanged.
  if (job.runsCurrentCode || patched('notify-shipping-confirmed')) {
    await job.notify('shipped', `Azure now has the shipment of ${job.spec.jobName}: ${shipment.carrierName} ${shipment.trackingNumber}.`);
  }
}
