/** Step 3: the Azure job, created idempotently (a retried create finds the job it made). */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { ShippingSite } from '../../common/azure-job';
import { rest } from '../activity-stubs';
import type { ImportJob } from '../import-job-state';
import { terminalStates } from '../../common/workflow-imports';

/** Creates the Azure job at `site`; returns when it was created (workflow time), the start of the shipping window. */
export async function createAzureJob(job: ImportJob, site: ShippingSite): Promise<number> {
  job.setStep('creating');
  const { spec } = job;
  const { snapshot, created } = await rest.createAzureJob({
    ...job.jobRef,
    locationName: site.locationName,
    storageAccountId: spec.storageAccountId,
    returnAddress: spec.returnAddress,
    returnShipping: spec.returnShipping,
    diagnosticsPath: spec.diagnosticsPath,
    logLevel: spec.logLevel,
    backupDriveManifest: spec.backupDriveManifest,
    drives: job.preparedDrives,
    tags: spec.tags,
    requestId: workflowInfo().workflowId,
  });
  if (job.api === 'databox' && terminalStates(job.api).has(snapshot.state)) {
    // A re-created job whose name still holds the ended order: shipping to it would go nowhere.
    throw ApplicationFailure.create({ type: 'AzureJobEnded', message: `The Azure job ${spec.jobName} has already ended (${snapshot.state}); it cannot take a shipment`, nonRetryable: true });
  }
  await job.applySnapshotBeforeShipping(snapshot);
  const createdAt = Date.now();
  job.status.jobCreatedAt = new Date(createdAt).toISOString();
  job.status.shippingDeadline = new Date(createdAt + job.timing.shippingWindowMs).toISOString();
  job.record(created ? 'Azure job created' : 'Azure job already existed (retry recognised)', undefined, `location ${site.locationName}`);
  return createdAt;
}
