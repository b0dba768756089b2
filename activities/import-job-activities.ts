/**
 * The import-job workflow's Azure activities: thin, idempotent calls through the Azure port, routed by the
 * request's `api` (absent = the classic Import/Export API, as every request recorded before Data Box was).
 * Every failure leaves here as an ApplicationFailure classified by the port's `classify()`.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  AzureJobRefSchema,
  CancelAzureJobRequestSchema,
  CreateAzureJobRequestSchema,
  GetSiteRequestSchema,
  ShippingUpdateRequestSchema,
  apiOf,
  type AzureJobRef,
  type CancelAzureJobRequest,
  type CreateAzureJobRequest,
  type CreateAzureJobResult,
  type GetSiteRequest,
  type JobSnapshot,
  type ShippingSite,
  type ShippingUpdateRequest,
  type ShippingUpdateResult,
} from '../common/azure-job';
import { NotificationSchema, type Notification } from '../common/notification';
import type { SecretStore } from '../common/secret-ref';
import { asActivityFailure, type AzurePort, type AzurePorts } from './azure/port';
import { deliverNotification } from './notifier';

export interface ImportJobActivityDeps {
  /** One adapter per Azure API (see activities/azure/index.ts `createAzurePorts`). */
  azure: AzurePorts;
  secrets: SecretStore;
  /** Used to look up other workflows by tracking number (visibility); optional in unit tests. */
  temporal?: Client;
  namespace?: string;
}

export function createImportJobActivities(deps: ImportJobActivityDeps) {
  const portFor = (request: { api?: AzurePort['api'] | undefined }): AzurePort => deps.azure[apiOf(request)];
  const signal = (): { abortSignal: AbortSignal } => ({ abortSignal: Context.current().cancellationSignal });

  return {
    async getSite(raw: GetSiteRequest): Promise<ShippingSite> {
      return asActivityFailure(async () => {
        const req = GetSiteRequestSchema.parse(raw);
        return portFor(req).findShippingSite(req, signal());
      });
    },

    /** Create the Azure job, idempotent: the adapter recognises our own earlier attempt by its request id. */
    async createAzureJob(raw: CreateAzureJobRequest): Promise<CreateAzureJobResult> {
      return asActivityFailure(async () => {
        const req = CreateAzureJobRequestSchema.parse(raw);
        // The one place BitLocker keys are resolved; they go straight into the request body and nowhere else.
        const drives = await Promise.all(
          req.drives.map(async (d) => ({
            driveId: d.driveId,
            manifestFile: d.manifestFile,
            manifestHash: d.manifestHash,
            bitLockerKey: await deps.secrets.get(d.bitLockerKeyRef),
          })),
        );
        return portFor(req).createJob({ ...req, drives }, signal());
      });
    },

    /** Record the shipment with Azure; exactly once in effect: a retry that finds it applied does nothing. */
    async updateShipping(raw: ShippingUpdateRequest): Promise<ShippingUpdateResult> {
      return asActivityFailure(async () => {
        const req = ShippingUpdateRequestSchema.parse(raw);
        return portFor(req).recordShipment(req, { ...signal(), firstAttempt: Context.current().info.attempt === 1 });
      });
    },

    async getAzureJob(raw: AzureJobRef): Promise<JobSnapshot> {
      return asActivityFailure(async () => {
        const ref = AzureJobRefSchema.parse(raw);
        return portFor(ref).getJobSnapshot(ref, signal());
      });
    },

    async requestAzureCancel(raw: CancelAzureJobRequest): Promise<JobSnapshot> {
      return asActivityFailure(async () => {
        const req = CancelAzureJobRequestSchema.parse(raw);
        return portFor(req).requestCancellation(req, signal());
      });
    },

    /** Other import jobs that recorded this tracking number (via the typed search attribute). */
    async findJobsByTrackingNumber(req: { trackingNumber: string; excludeWorkflowId: string }): Promise<string[]> {
      if (!deps.temporal) return [];
      const safe = req.trackingNumber.replace(/[^A-Z0-9]/gi, '');
      const names: string[] = [];
      const query = `ImportTrackingNumber = '${safe}' AND WorkflowId != '${req.excludeWorkflowId.replace(/'/g, '')}'`;
      for await (const wf of deps.temporal.workflow.list({ query })) names.push(wf.workflowId);
      return names;
    },

    async sendNotification(raw: Notification): Promise<void> {
      const n = NotificationSchema.parse(raw);
      await deliverNotification(n, (line) => Context.current().log.info(line));
    },
  };
}
