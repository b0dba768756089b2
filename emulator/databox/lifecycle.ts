import { z } from 'zod';
import { ArmError } from '../errors';
import { armTimestamp, trackingNumber } from '../format';
import {
  CUSTOMER_DISK_PATH,
  DEVICE_PATH,
  DiskProgressSchema,
  RESULT_STATUSES,
  STAGE_DISPLAY_NAMES,
  TERMINAL_STATUSES,
  type DataBoxJob,
  type StoredDisk,
  type StoredStage,
} from './model';

const DAY_MS = 86_400_000;
export const SHIPPING_INFO_EXPIRY_MS = 14 * DAY_MS;
export const RETENTION_MS = 90 * DAY_MS;
export const EXPIRY_CANCELLATION_REASON = 'Old job which is still in ordered state cancelled by the service';
const NOTIONAL_DISK_BYTES = 1_000_000_000_000;
const NOTIONAL_DISK_FILES = 10_000;

export const ADVANCE_TARGETS = ['Delivered', 'AtAzureDC', 'DataCopy', 'PreparingToShipFromAzureDC', 'ShippedToCustomer', ...RESULT_STATUSES] as const;
export type AdvanceTarget = (typeof ADVANCE_TARGETS)[number];

export const DataBoxAdvanceSchema = z
  .object({
    to: z.enum(ADVANCE_TARGETS),
    /** Copy progress of every disk still copying (DataCopy), in percent of its bytes. */
    percentComplete: z.number().int().min(0).max(100).optional(),
    /** Per-disk results and counters, by serial number; applied after the stage defaults. */
    disks: z.record(z.string(), DiskProgressSchema).optional(),
  })
  .strict();
export type DataBoxAdvance = z.infer<typeof DataBoxAdvanceSchema>;

const isCustomerDisk = (job: DataBoxJob) => job.sku.name === 'DataBoxCustomerDisk';
const pathOf = (job: DataBoxJob): readonly string[] => (isCustomerDisk(job) ? CUSTOMER_DISK_PATH : DEVICE_PATH);

/** Position of a status on the job's path; every result status is the last position. */
export function statusIndex(job: DataBoxJob, status: string): number {
  const path = pathOf(job);
  if ((RESULT_STATUSES as readonly string[]).includes(status)) return path.length - 1;
  return path.indexOf(status);
}

export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The read-only flags ARM derives from the status. */
export function flags(job: DataBoxJob): { isCancellable: boolean; isDeletable: boolean; isShippingAddressEditable: boolean } {
  const terminal = isTerminal(job.status);
  const at = statusIndex(job, job.status);
  const cancellableUntil = isCustomerDisk(job) ? 'AwaitingShipmentDetails' : 'DevicePrepared';
  const editableBefore = isCustomerDisk(job) ? 'PreparingToShipFromAzureDC' : 'Dispatched';
  return {
    isCancellable: !terminal && at >= 0 && at <= statusIndex(job, cancellableUntil),
    isDeletable: terminal,
    isShippingAddressEditable: !terminal && at >= 0 && at < statusIndex(job, editableBefore),
  };
}

export function initialStages(job: Pick<DataBoxJob, 'sku'>, now: Date): { status: string; stages: StoredStage[] } {
  const ts = armTimestamp(now);
  const customerDisk = job.sku.name === 'DataBoxCustomerDisk';
  const path = customerDisk ? CUSTOMER_DISK_PATH : DEVICE_PATH;
  const current = customerDisk ? 1 : 0;
  const stages = path.map((stageName, i): StoredStage => {
    const stage: StoredStage = { stageName, displayName: STAGE_DISPLAY_NAMES[stageName] ?? stageName, stageStatus: i < current ? 'Succeeded' : i === current ? 'InProgress' : 'None' };
    if (i <= current) stage.stageTime = ts;
    return stage;
  });
  return { status: path[current] ?? 'Created', stages };
}

const RESULT_STAGE_STATUS: Record<string, string> = {
  Completed: 'Succeeded',
  CompletedWithWarnings: 'SucceededWithWarnings',
  CompletedWithErrors: 'SucceededWithErrors',
  Failed_IssueDetectedAtAzureDC: 'Failed',
};

function moveTo(job: DataBoxJob, status: string, now: Date): void {
  const i = statusIndex(job, status);
  const ts = armTimestamp(now);
  job.stages.forEach((s, j) => {
    if (j < i && s.stageStatus !== 'Succeeded') {
      s.stageStatus = 'Succeeded';
      s.stageTime ??= ts;
    }
  });
  const stage = job.stages[i];
  if (stage) {
    stage.stageName = status;
    stage.displayName = STAGE_DISPLAY_NAMES[status] ?? status;
    stage.stageStatus = RESULT_STAGE_STATUS[status] ?? 'InProgress';
    stage.stageTime = ts;
  }
  job.status = status;
  if (isTerminal(status)) job.terminalSince = ts;
}

export function cancelJob(job: DataBoxJob, reason: string, now: Date): void {
  const ts = armTimestamp(now);
  job.stages = [...job.stages.filter((s) => s.stageStatus === 'Succeeded'), { stageName: 'Cancelled', displayName: STAGE_DISPLAY_NAMES.Cancelled ?? 'Canceled', stageStatus: 'Succeeded', stageTime: ts }];
  job.status = 'Cancelled';
  job.cancellationReason = reason;
  job.terminalSince = ts;
}

/** The inbound shipment was registered: the disks are on their way. */
export function markShipped(job: DataBoxJob, now: Date): void {
  if (isCustomerDisk(job) && job.status === 'AwaitingShipmentDetails') moveTo(job, 'ShippedToAzureDC', now);
}

function setProgress(d: StoredDisk, copyStatus: StoredDisk['progress']['copyStatus'], pct: number): void {
  const p = d.progress;
  p.copyStatus = copyStatus;
  p.totalBytesToProcess = NOTIONAL_DISK_BYTES;
  p.totalFilesToProcess = NOTIONAL_DISK_FILES;
  p.bytesProcessed = Math.round((NOTIONAL_DISK_BYTES * pct) / 100);
  p.filesProcessed = Math.round((NOTIONAL_DISK_FILES * pct) / 100);
  p.isEnumerationInProgress = false;
}

/** Stage defaults for the disks when the datacenter reaches `stage` (a result stage sets results). */
function diskDefaults(job: DataBoxJob, stage: string, percent: number): void {
  const [first] = job.disks;
  switch (stage) {
    case 'DataCopy':
      job.copyLogs = true;
      for (const d of job.disks) if (d.progress.copyStatus === 'NotStarted' || d.progress.copyStatus === 'InProgress') setProgress(d, 'InProgress', percent);
      break;
    case 'Completed':
    case 'CompletedWithWarnings':
    case 'CompletedWithErrors':
      for (const d of job.disks) if (d.progress.copyStatus === 'NotStarted' || d.progress.copyStatus === 'InProgress') setProgress(d, 'Completed', 100);
      if (stage === 'CompletedWithWarnings' && first) Object.assign(first.progress, { renamedContainerCount: 1, invalidFilesProcessed: 2, invalidFileBytesUploaded: 2048 });
      if (stage === 'CompletedWithErrors' && first) Object.assign(first.progress, { copyStatus: 'CompletedWithErrors', filesErroredOut: 3, filesProcessed: NOTIONAL_DISK_FILES - 3 });
      break;
    case 'Failed_IssueDetectedAtAzureDC':
      for (const d of job.disks) if (d.progress.copyStatus === 'NotStarted' || d.progress.copyStatus === 'InProgress') setProgress(d, 'Failed', 0);
      break;
    default:
      break;
  }
}

/** The control API's datacenter: moves the job forward to `body.to`, walking every stage in between. */
export function advanceJob(job: DataBoxJob, body: DataBoxAdvance, now: Date, carriers: string[]): void {
  const from = job.status;
  for (const serial of Object.keys(body.disks ?? {})) {
    if (!job.disks.some((d) => d.serialNumber === serial)) throw ArmError.field(`disks.${serial}`, `is not a disk of job '${job.name}'`, 'InvalidControlRequest');
  }
  if (isCustomerDisk(job) && from === 'AwaitingShipmentDetails') {
    throw new ArmError(409, 'InvalidJobState', `Job '${job.name}' is 'AwaitingShipmentDetails': the client must call markDevicesShipped before the datacenter can receive disks.`);
  }
  const target = statusIndex(job, body.to);
  const at = statusIndex(job, from);
  if (target < 0) throw ArmError.field('to', `'${body.to}' is not a stage of a ${job.sku.name} job`, 'InvalidControlRequest');
  const reapply = body.to === from;
  if (!reapply && (isTerminal(from) || target <= at)) {
    throw new ArmError(409, 'InvalidTransition', `Cannot move job '${job.name}' from '${from}' to '${body.to}' (only forward, never out of a terminal status).`);
  }
  const path = pathOf(job);
  for (let i = reapply ? target : at + 1; i <= target; i++) {
    const stage = i === target ? body.to : (path[i] ?? body.to);
    if (!reapply) moveTo(job, stage, now);
    diskDefaults(job, stage, body.percentComplete ?? 50);
    if (stage === 'ShippedToCustomer' && !job.returnPackage) {
      const carrierName = job.details.returnToCustomerPackageDetails?.carrierName ?? carriers[0] ?? 'FedEx';
      const trackingId = trackingNumber();
      job.returnPackage = { carrierName, trackingId, trackingUrl: `https://www.${carrierName.toLowerCase()}.com/track?trackingId=${trackingId}` };
    }
  }
  if (body.percentComplete !== undefined && job.status === 'DataCopy') {
    for (const d of job.disks) if (d.progress.copyStatus === 'InProgress') setProgress(d, 'InProgress', body.percentComplete);
  }
  for (const [serial, progress] of Object.entries(body.disks ?? {})) {
    const d = job.disks.find((x) => x.serialNumber === serial);
    if (d) Object.assign(d.progress, progress);
  }
}

/** Service timers: 14 days without shipping information, 90 days of retention after a terminal status. */
export function expiryAction(job: DataBoxJob, now: number): 'expire' | 'delete' | undefined {
  const awaiting = isCustomerDisk(job) ? job.status === 'AwaitingShipmentDetails' : job.status === 'DeviceOrdered';
  if (awaiting && now - Date.parse(job.createdAt) >= SHIPPING_INFO_EXPIRY_MS) return 'expire';
  if (job.terminalSince && now - Date.parse(job.terminalSince) >= RETENTION_MS) return 'delete';
  return undefined;
}
