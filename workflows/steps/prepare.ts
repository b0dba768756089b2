/** Step 1: the drives, prepared on the station (copied, hashed, manifests written) or given ready. */
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { PreparedDrive } from '../../common/prepare-contract';
import { DriveIdsKey } from '../../common/search-attributes';
import { prepareActivitiesFor } from '../activity-stubs';
import type { ImportJob } from '../import-job-state';

export async function prepareDrives(job: ImportJob): Promise<PreparedDrive[]> {
  const drives = job.spec.drives;
  if ('prepare' in drives) {
    const p = drives.prepare;
    const station = prepareActivitiesFor(job.spec, p.stationTaskQueue);
    job.record('preparing drives', undefined, `${p.drives.length} drive(s) on station queue ${p.stationTaskQueue}`);
    const result = await job.runPreparation(() =>
      station.prepareDrives({ preparationId: job.spec.jobName, dataset: p.dataset, drives: p.drives, mode: p.mode, journalDir: p.journalDir }),
    );
    job.preparedDrives = result.drives;
    job.throwIfCancelled();
  } else {
    job.preparedDrives = drives.prepared;
  }
  job.status.drives = job.preparedDrives.map((d) => ({ driveId: d.driveId, state: 'Prepared', manifestHash: d.manifestHash }));
  upsertSearchAttributes([{ key: DriveIdsKey, value: job.preparedDrives.map((d) => d.driveId) }]);
  job.record('drives prepared', undefined, job.preparedDrives.map((d) => d.driveId).join(', '));
  return job.preparedDrives;
}
