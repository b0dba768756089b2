/**
 * Messages of the import-job workflow, shared by the workflow, the worker-side activities, importctl and the console.
 * Only definitions and types live here, so clients can import them without the workflow code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobSpecInput } from '../common/job-spec';
import type { DriveSnapshot, JobStage, ShippingSite } from '../common/azure-job';
import type { PrepareProgress } from '../common/prepare-contract';
import type { Shipment, ShipmentInput } from '../common/shipping';

export const IMPORT_JOB_WORKFLOW_TYPE = 'importJobWorkflow';

export interface ImportJobInput {
  spec: JobSpecInput;
  /** Who started it (operator's user name), recorded in the timeline. */
  startedBy?: string;
}

export type WorkflowStep =
  | 'preparing'
  | 'locating'
  | 'waiting-for-open-site'
  | 'creating'
  | 'awaiting-shipping'
  | 'expired'
  | 'updating'
  | 'tracking'
  | 'completed'
  | 'closed'
  | 'cancelled'
  | 'failed';

export interface TimelineEntry {
  at: string;
  event: string;
  by?: string;
  detail?: string;
}

export interface ShipmentReceipt {
  trackingNumber: string;
  carrierName: string;
  driveCount: number;
  shipDate: string;
  recordedAt: string;
  /** True when this exact shipment had already been recorded (a repeated submission). */
  duplicate: boolean;
}

export interface ImportJobStatus {
  jobName: string;
  step: WorkflowStep;
  azureState?: string;
  cancelRequested: boolean;
  drives: (DriveSnapshot & { manifestHash?: string })[];
  /** Where the clerk ships the drives: the located site, then (Data Box) the job's own datacenter address. */
  site?: ShippingSite;
  shipment?: Shipment;
  jobCreatedAt?: string;
  shippingDeadline?: string;
  remindersSent: { kind: 'reminder' | 'escalation'; at: string }[];
  transferPercentComplete?: number;
  returnPackage?: { carrierName: string; trackingNumber: string; driveCount?: number; shipDate?: string };
  rejectedSignals: { at: string; problems: string[] }[];
  timeline: TimelineEntry[];
  failure?: string;
  /** Data Box: the job's stages as Azure reports them. */
  stages?: JobStage[];
  /** An error Azure reports on the job (e.g. a copy waiting for customer action). */
  azureError?: { code?: string; message?: string };
  /** The preparation's progress while it runs, as the station reports it (throttled). */
  prepareProgress?: PrepareProgress & { at: string };
}

export interface ImportJobOutcome {
  jobName: string;
  result: 'completed' | 'closed' | 'cancelled' | 'expired';
  azureState?: string;
  drives: DriveSnapshot[];
  returnPackage?: ImportJobStatus['returnPackage'];
}

export interface CancelRequest {
  reason: string;
  requestedBy?: string;
}
export interface CancelResult {
  cancelled: boolean;
  azureCancelRequested: boolean;
  message: string;
}

export const shipUpdate = defineUpdate<ShipmentReceipt, [ShipmentInput]>('ship');
export const shipSignal = defineSignal<[ShipmentInput]>('shipSignal');
export const cancelUpdate = defineUpdate<CancelResult, [CancelRequest]>('cancel');
export const cancelSignal = defineSignal<[CancelRequest]>('cancelSignal');
export const recreateUpdate = defineUpdate<string, [{ requestedBy?: string }]>('recreate');
export const statusQuery = defineQuery<ImportJobStatus>('status');
/** Sent by the preparation station while it copies (throttled: see worker/prepare-progress.ts). */
export const prepareProgressSignal = defineSignal<[PrepareProgress]>('prepareProgress');
