import { z } from 'zod';
import { ArmError } from './errors';
import { armTimestamp, logStamp, trackingNumber, usDate } from './format';
import type { LocationCatalogue } from './locations';
import { DRIVE_STATES, JOB_STATES, type DriveState, type JobState, type StoredJob } from './store';

export const AdvanceBodySchema = z
  .object({
    to: z.enum(['Received', 'Transferring', 'Packaging', 'Completed', 'Closed']),
    percentComplete: z.number().int().min(0).max(100).optional(),
    driveStates: z.record(z.string(), z.enum(DRIVE_STATES)).optional(),
    neverReceived: z.array(z.string()).optional(),
  })
  .strict();
export type AdvanceBody = z.infer<typeof AdvanceBodySchema>;

const NOTIONAL_DRIVE_BYTES = 1_000_000_000_000;

export function stateIndex(s: JobState): number {
  // Completed and Closed are both terminal (same rank).
  return s === 'Closed' ? JOB_STATES.indexOf('Completed') : JOB_STATES.indexOf(s);
}

/** Plays the datacenter: moves a job (and its drives) forward to `body.to`, walking every intermediate state. */
export function advanceJob(job: StoredJob, body: AdvanceBody, now: Date, locations: LocationCatalogue): void {
  const jp = job.properties;
  const from = jp.state;
  const to = body.to;
  if (from === 'Creating') {
    throw new ArmError(409, 'InvalidJobState', `Job '${job.name}' is still 'Creating': the client must PATCH properties.state='Shipping' before the datacenter can receive drives.`);
  }
  if (stateIndex(to) < stateIndex(from) || ((from === 'Completed' || from === 'Closed') && to !== from)) {
    throw new ArmError(409, 'InvalidTransition', `Cannot move job '${job.name}' backwards or between terminal states: '${from}' -> '${to}'.`);
  }
  const drives = jp.driveList ?? [];
  for (const id of [...(body.neverReceived ?? []), ...Object.keys(body.driveStates ?? {})]) {
    if (!drives.some((d) => d.driveId === id)) throw new ArmError(400, 'InvalidParameter', `driveId '${id}' is not part of job '${job.name}'`, 'driveStates');
  }
  const never = new Set(body.neverReceived ?? []);
  const account = jp.storageAccountId.split('/').pop() ?? 'account';
  const uri = (driveId: string, kind: string) =>
    `https://${account}.blob.core.windows.net/${jp.diagnosticsPath}/waies/${job.name}_${driveId}_${logStamp(now)}_${kind}.xml`;
  const cancelled = jp.cancelRequested;

  // Walk every intermediate stage so jumps fill in everything in between (a terminal job only takes driveStates).
  const terminal = from === 'Completed' || from === 'Closed';
  for (let i = Math.max(stateIndex(from), 1) + (to === from ? 0 : 1); !terminal && i <= stateIndex(to); i++) {
    const stage: JobState = i === stateIndex(to) ? to : (JOB_STATES[i] ?? to);
    const pct = stage === 'Transferring' ? (body.percentComplete ?? jp.percentComplete ?? 0) : 100;
    for (const d of drives) {
      const skip = never.has(d.driveId) || d.state === 'NeverReceived';
      switch (stage) {
        case 'Received':
          d.state = skip ? 'NeverReceived' : 'Received';
          break;
        case 'Transferring':
          if (skip) break;
          d.state = 'Transferring';
          d.copyStatus = cancelled ? 'Cancelled' : 'InProgress';
          d.percentComplete = cancelled ? 0 : pct;
          d.bytesSucceeded = cancelled ? 0 : Math.round((NOTIONAL_DRIVE_BYTES * pct) / 100);
          d.errorLogUri = uri(d.driveId, 'error');
          if (jp.logLevel === 'Verbose') d.verboseLogUri = uri(d.driveId, 'verbose');
          if (jp.backupDriveManifest) d.manifestUri = uri(d.driveId, 'manifest');
          break;
        case 'Packaging':
          if (skip) break;
          d.state = 'Completed';
          d.copyStatus = cancelled ? 'Cancelled' : 'Completed';
          d.percentComplete = cancelled ? 0 : 100;
          d.bytesSucceeded = cancelled ? 0 : NOTIONAL_DRIVE_BYTES;
          break;
        case 'Completed':
        case 'Closed':
          if (skip) break;
          d.state = 'ShippedBack';
          break;
        default:
          break;
      }
    }
    if (stage === 'Transferring') jp.percentComplete = cancelled ? 0 : pct;
    if (stage === 'Packaging') jp.percentComplete = cancelled ? 0 : 100;
    if (stage === 'Completed' || stage === 'Closed') {
      const site = locations.find(job.shippingSite);
      jp.returnPackage = {
        carrierName: jp.returnShipping?.carrierName ?? site?.supportedCarriers[0] ?? 'FedEx',
        trackingNumber: trackingNumber(),
        driveCount: drives.filter((d) => d.state === 'ShippedBack' || d.state === 'CompletedMoreInfo' || d.state === 'Completed').length,
        shipDate: usDate(now),
      };
      job.terminalSince = armTimestamp(now);
    }
    jp.state = stage;
  }
  for (const [id, s] of Object.entries(body.driveStates ?? {})) {
    const d = drives.find((x) => x.driveId === id);
    if (!d) continue;
    d.state = s as DriveState;
    if (s === 'CompletedMoreInfo') d.copyStatus = 'CompletedWithErrors';
    if (s === 'Completed') d.copyStatus = 'Completed';
  }
  if (body.percentComplete !== undefined && jp.state === 'Transferring') {
    jp.percentComplete = body.percentComplete;
    for (const d of drives) if (d.state === 'Transferring') d.percentComplete = body.percentComplete;
  }
}
