/**
 * Step 4: wait for the clerk's shipment, with reminders and an escalation; Azure deletes a job left without
 * shipping information after the shipping window, so expiry is explicit (re-created on request).
 */
import { condition } from '@temporalio/workflow';
import type { ImportJob } from '../import-job-state';
import { problemsOf } from '../shipment-rules';
import { formatSiteAddress } from './locate';
import { formatProblems } from '../../common/workflow-imports';

/** Waits for shipping information; true once a shipment is recorded, false when the shipping window expired. */
export async function awaitShipping(job: ImportJob, createdAt: number): Promise<boolean> {
  job.setStep('awaiting-shipping');
  const deadline = createdAt + job.timing.shippingWindowMs;
  const reminderTimes = job.timing.reminderMs.map((ms) => createdAt + ms).filter((t) => t < deadline);
  let next = 0;
  for (;;) {
    await applySignalShipments(job);
    if (job.shipment) return true;
    job.throwIfCancelled();
    const now = Date.now();
    while (next < reminderTimes.length && reminderTimes[next]! <= now) {
      const escalation = next === reminderTimes.length - 1;
      const daysLeft = Math.max(0, Math.ceil((deadline - now) / 86_400_000));
      const kind = escalation ? 'escalation' : 'reminder';
      const shipTo = job.status.site ? formatSiteAddress(job.status.site) : '?';
      await job.notify(kind, `${escalation ? 'ESCALATION: ' : ''}Drives for import job ${job.spec.jobName} have not shipped; Azure deletes the job in ${daysLeft} day(s). Ship to ${shipTo}.`);
      job.status.remindersSent.push({ kind, at: job.now() });
      job.record(`${kind} sent`);
      next++;
    }
    if (now >= deadline) return false;
    const wakeAt = Math.min(deadline, reminderTimes[next] ?? deadline);
    await condition(() => job.shipment !== undefined || job.cancel !== undefined || job.pendingSignalShipments.length > 0, wakeAt - now);
  }
}

/** Shipments sent as signals: invalid ones are recorded and reported, never applied. */
async function applySignalShipments(job: ImportJob): Promise<void> {
  while (job.pendingSignalShipments.length > 0 && !job.shipment) {
    const raw = job.pendingSignalShipments.shift()!;
    try {
      await job.acceptShipment(job.validateShipment(raw));
    } catch (err) {
      const lines = formatProblems(problemsOf(err));
      job.status.rejectedSignals.push({ at: job.now(), problems: lines });
      job.record('shipping signal rejected', raw.submittedBy, lines.join('\n'));
      await job.notify('rejected-signal', `A shipping signal was rejected: ${lines.join('; ')}`);
    }
  }
  job.pendingSignalShipments.length = 0;
}

/** After expiry: true when someone asked for the job to be created again, false when nobody did in time. */
export async function awaitRecreate(job: ImportJob): Promise<boolean> {
  job.setStep('expired');
  job.record('shipping window expired: Azure deletes jobs left in Creating');
  await job.notify(
    'expired',
    `Import job ${job.spec.jobName} expired: no shipping information within ${job.spec.timing.shippingWindow}. Re-create it with \`importctl recreate ${job.spec.jobName}\`.`,
  );
  const decided = await condition(() => job.recreateRequested || job.cancel !== undefined, job.timing.shippingWindowMs);
  job.throwIfCancelled();
  if (!decided) {
    job.record('no re-creation requested; ending');
    return false;
  }
  job.recreateRequested = false;
  job.status.remindersSent = [];
  return true;
}
