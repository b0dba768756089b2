import { z } from 'zod';
import type { SystemData } from '../store';
import type { DatacenterAddressResponse, RegionOverride } from './regions';
import type { JobDetailsInput, SkuName } from './schemas';

export const JOB_RESOURCE_TYPE = 'Microsoft.DataBox/jobs';
export const DATABOX_API_VERSIONS = ['2025-02-01', '2022-12-01', '2025-07-01'] as const;

/**
 * The customer-disk life cycle, in order. The last stage is named after the result (Completed, CompletedWithWarnings,
 * CompletedWithErrors or Failed_IssueDetectedAtAzureDC) as the service does in `jobStages`.
 */
export const CUSTOMER_DISK_PATH = [
  'Created',
  'AwaitingShipmentDetails',
  'ShippedToAzureDC',
  'Delivered',
  'AtAzureDC',
  'DataCopy',
  'PreparingToShipFromAzureDC',
  'ShippedToCustomer',
  'Completed',
] as const;
/** The Data Box devices' life cycle (other skus): the emulator only renders it. */
export const DEVICE_PATH = ['DeviceOrdered', 'DevicePrepared', 'Dispatched', 'Delivered', 'PickedUp', 'AtAzureDC', 'DataCopy', 'Completed'] as const;
export const RESULT_STATUSES = ['Completed', 'CompletedWithWarnings', 'CompletedWithErrors', 'Failed_IssueDetectedAtAzureDC'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];
export const TERMINAL_STATUSES: readonly string[] = [...RESULT_STATUSES, 'Cancelled', 'Aborted', 'Failed_IssueReportedAtCustomer'];

export const STAGE_DISPLAY_NAMES: Record<string, string> = {
  Created: 'Created',
  AwaitingShipmentDetails: 'Awaiting shipment details',
  ShippedToAzureDC: 'Shipped',
  Delivered: 'Delivered',
  AtAzureDC: 'Received',
  DataCopy: 'Data copy in progress',
  PreparingToShipFromAzureDC: 'Preparing to ship',
  ShippedToCustomer: 'Shipped to customer',
  Completed: 'Completed',
  CompletedWithWarnings: 'Completed with warnings',
  CompletedWithErrors: 'Completed with errors',
  Failed_IssueDetectedAtAzureDC: 'Failed',
  Cancelled: 'Canceled',
  DeviceOrdered: 'Ordered',
  DevicePrepared: 'Processed',
  Dispatched: 'Dispatched',
  PickedUp: 'Picked up',
};

export const COPY_STATUSES = [
  'NotStarted',
  'InProgress',
  'Completed',
  'CompletedWithErrors',
  'Failed',
  'NotReturned',
  'HardwareError',
  'DeviceFormatted',
  'DeviceMetadataModified',
  'StorageAccountNotAccessible',
  'UnsupportedData',
  'DriveNotReceived',
  'UnsupportedDrive',
  'OtherServiceError',
  'OtherUserError',
  'DriveNotDetected',
  'DriveCorrupted',
  'MetadataFilesModifiedOrRemoved',
] as const;
export type CopyStatus = (typeof COPY_STATUSES)[number];

/** Per-disk counters of `DataBoxCustomerDiskCopyProgress` the control API may set. */
export const DiskProgressSchema = z
  .object({
    copyStatus: z.enum(COPY_STATUSES),
    bytesProcessed: z.number().int().min(0),
    totalBytesToProcess: z.number().int().min(0),
    filesProcessed: z.number().int().min(0),
    totalFilesToProcess: z.number().int().min(0),
    invalidFilesProcessed: z.number().int().min(0),
    invalidFileBytesUploaded: z.number().int().min(0),
    renamedContainerCount: z.number().int().min(0),
    filesErroredOut: z.number().int().min(0),
    directoriesErroredOut: z.number().int().min(0),
    invalidDirectoriesProcessed: z.number().int().min(0),
    isEnumerationInProgress: z.boolean(),
    error: z.object({ code: z.string(), message: z.string() }).strict(),
  })
  .partial()
  .strict();
export type DiskProgressInput = z.infer<typeof DiskProgressSchema>;

export interface StoredDisk {
  serialNumber: string;
  manifestFile: string;
  manifestHash: string;
  /** Write-only: only Jobs_ListCredentials returns it. */
  bitLockerKey: string;
  progress: Required<Omit<DiskProgressInput, 'error'>> & Pick<DiskProgressInput, 'error'>;
}

export interface StoredStage {
  stageName: string;
  displayName: string;
  stageStatus: string;
  stageTime?: string;
}

export interface DataBoxJob {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Region name of the job (the storage account's region). */
  location: string;
  tags?: Record<string, string>;
  sku: { name: SkuName; displayName?: string; family?: string };
  identity?: { type?: string; principalId?: string; tenantId?: string; userAssignedIdentities?: Record<string, Record<string, unknown>> };
  systemData: SystemData;
  transferType: 'ImportToAzure' | 'ExportFromAzure';
  deliveryType: 'NonScheduled' | 'Scheduled';
  deliveryInfo?: { scheduledDateTime?: string };
  /** The details as validated at create/update, secrets included (never rendered). */
  details: JobDetailsInput;
  status: string;
  stages: StoredStage[];
  startTime: string;
  cancellationReason?: string;
  datacenterAddress: DatacenterAddressResponse;
  dataCenterCode: string;
  deliverToDcPackageDetails?: { carrierName: string; trackingId: string };
  returnPackage?: { carrierName: string; trackingId: string; trackingUrl: string };
  disks: StoredDisk[];
  /** Copy logs exist once data copy started. */
  copyLogs: boolean;
  error?: { code: string; message: string; target?: string };
  actions: string[];
  lastMitigationActionOnJob?: { actionDateTimeInUtc: string; isPerformedByCustomer: boolean; customerResolution: string };
  /** The service's id of the job (in copy-log names). */
  jobId: string;
  seq: number;
  /** Start of the 2-week window for shipping information. */
  createdAt: string;
  /** When the job reached a terminal status (start of the 90-day retention). */
  terminalSince?: string;
}

/** How Create/Update/Delete answer: 200 at once, 202 + Location (+ Retry-After) polled, or 202 without headers. */
export const LroSettingSchema = z
  .object({
    mode: z.enum(['sync', 'async', 'async-no-location']),
    /** Polls answered 202 before the one that answers the result. */
    polls: z.number().int().min(0).max(100),
    retryAfterSeconds: z.number().int().min(0).max(3600),
  })
  .strict();
export type LroSetting = z.infer<typeof LroSettingSchema>;
export const LRO_OPERATIONS = ['Jobs_Create', 'Jobs_Update', 'Jobs_Delete'] as const;
export type LroOperationName = (typeof LRO_OPERATIONS)[number];

export interface LroOperation {
  id: string;
  operation: LroOperationName;
  subscriptionId: string;
  resourceGroup: string;
  jobName: string;
  pollsLeft: number;
  retryAfterSeconds: number;
}

export interface DataBoxSettings {
  lro: Record<LroOperationName, LroSetting>;
  /** What the service does with a job left 14 days without shipping information. */
  expiry: 'cancel' | 'delete';
}

export const DEFAULT_LRO: LroSetting = { mode: 'async', polls: 1, retryAfterSeconds: 1 };
export function defaultSettings(): DataBoxSettings {
  return { lro: { Jobs_Create: { ...DEFAULT_LRO }, Jobs_Update: { ...DEFAULT_LRO }, Jobs_Delete: { ...DEFAULT_LRO } }, expiry: 'cancel' };
}

/** The Data Box part of the emulator's persisted state. */
export interface DataBoxPersisted {
  jobs: DataBoxJob[];
  operations: LroOperation[];
  regionOverrides: Record<string, RegionOverride>;
  settings: DataBoxSettings;
}
