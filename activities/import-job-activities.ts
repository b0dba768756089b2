/**
 * The import-job workflow's REST activities: thin, idempotent wrappers around the Azure Import/Export client.
 * Every Azure failure leaves here as an ApplicationFailure classified retryable or not (see azure/errors.ts).
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ImportExportClient } from './azure/client';
import { toApplicationFailure } from './azure/port';
import type { JobResponse, Location } from './azure/schemas';
import { deliverNotification } from './notifier';
import {
  CreateJobRequestSchema,
  NotificationSchema,
  ShippingUpdateRequestSchema,
  type AzureJobRef,
  type CreateJobRequest,
  type JobSnapshot,
  type Notification,
  type ShippingUpdateRequest,
  type SiteInfo,
} from '../common/import-job-contract';
import type { SecretStore } from '../common/secret-ref';

export interface ImportJobActivityDeps {
  /** An Azure client for a subscription (clients are cheap to keep; callers may cache them). */
  azureFor(subscriptionId: string): ImportExportClient;
  secrets: SecretStore;
  /** Used to look up other workflows by tracking number (visibility); optional in unit tests. */
  temporal?: Client;
  namespace?: string;
}

const lastSegment = (id: string): string => id.split('/').filter(Boolean).pop() ?? id;

export function toSiteInfo(loc: Location): SiteInfo {
  const id = loc.id ?? '';
  const p = loc.properties ?? {};
  const alternates = p.alternateLocations ?? [];
  const self = id.toLowerCase();
  return {
    id,
    locationName: lastSegment(id),
    displayName: loc.name ?? lastSegment(id),
    isOpen: alternates.some((a) => a.toLowerCase() === self),
    alternateLocationNames: alternates.filter((a) => a.toLowerCase() !== self).map(lastSegment),
    supportedCarriers: p.supportedCarriers ?? [],
    address: {
      recipientName: p.recipientName ?? '',
      streetAddress1: p.streetAddress1 ?? '',
      streetAddress2: p.streetAddress2 || undefined,
      city: p.city ?? '',
      stateOrProvince: p.stateOrProvince || undefined,
      postalCode: p.postalCode ?? '',
      countryOrRegion: p.countryOrRegion ?? '',
      phone: p.phone || undefined,
      additionalShippingInformation: p.additionalShippingInformation || undefined,
    },
  };
}

export function toJobSnapshot(job: JobResponse): JobSnapshot {
  const p = job.properties;
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : undefined);
  const pkg = (x: { carrierName?: string; trackingNumber?: string; driveCount?: unknown; shipDate?: string } | undefined) =>
    x && x.carrierName && x.trackingNumber
      ? { carrierName: x.carrierName, trackingNumber: x.trackingNumber, driveCount: num(x.driveCount), shipDate: x.shipDate }
      : undefined;
  return {
    state: p.state ?? 'Creating',
    cancelRequested: p.cancelRequested ?? false,
    percentComplete: num(p.percentComplete),
    drives: (p.driveList ?? []).map((d) => ({
      driveId: d.driveId ?? '',
      state: d.state ?? 'Specified',
      copyStatus: d.copyStatus,
      percentComplete: num(d.percentComplete),
      bytesSucceeded: num(d.bytesSucceeded),
      errorLogUri: d.errorLogUri,
      verboseLogUri: d.verboseLogUri,
    })),
    deliveryPackage: pkg(p.deliveryPackage),
    returnPackage: pkg(p.returnPackage),
  };
}

/** Runs an Azure call and turns any failure into a classified ApplicationFailure. */
async function azureCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApplicationFailure(err);
  }
}

export function createImportJobActivities(deps: ImportJobActivityDeps) {
  return {
    async getSite(req: { subscriptionId: string; locationName: string }): Promise<SiteInfo> {
      const loc = await azureCall(() => deps.azureFor(req.subscriptionId).getLocation(req.locationName));
      return toSiteInfo(loc);
    },

    /** Put Job, idempotent: the client recognises our own earlier attempt by its request id and never creates twice. */
    async createAzureJob(raw: CreateJobRequest): Promise<{ snapshot: JobSnapshot; created: boolean }> {
      const req = CreateJobRequestSchema.parse(raw);
      // The one place BitLocker keys are resolved; they go straight into the request body and nowhere else.
      const driveList = await Promise.all(
        req.drives.map(async (d) => ({
          driveId: d.driveId,
          bitLockerKey: await deps.secrets.get(d.bitLockerKeyRef),
          manifestFile: d.manifestFile,
          manifestHash: d.manifestHash,
        })),
      );
      const { job, created } = await azureCall(() =>
        deps.azureFor(req.subscriptionId).createJob(
          req.resourceGroup,
          req.jobName,
          {
            location: req.locationName,
            tags: req.tags,
            properties: {
              storageAccountId: req.storageAccountId,
              jobType: 'Import',
              returnAddress: req.returnAddress,
              returnShipping: req.returnShipping,
              diagnosticsPath: req.diagnosticsPath,
              logLevel: req.logLevel,
              backupDriveManifest: req.backupDriveManifest,
              driveList,
            },
          },
          { clientRequestId: req.requestId },
        ),
      );
      return { snapshot: toJobSnapshot(job), created };
    },

    /** Update Job Properties with the shipment; exactly once in effect: a retry that finds it applied does nothing. */
    async updateShipping(raw: ShippingUpdateRequest): Promise<{ snapshot: JobSnapshot; applied: boolean }> {
      const req = ShippingUpdateRequestSchema.parse(raw);
      const client = deps.azureFor(req.subscriptionId);
      // Only a retry can follow a PATCH whose response was lost: check first then, and save the round trip otherwise.
      if (Context.current().info.attempt > 1) {
        const current = await azureCall(() => client.getJob(req.resourceGroup, req.jobName));
        const existing = current.properties.deliveryPackage;
        if (current.properties.state !== 'Creating' && existing?.trackingNumber === req.shipment.trackingNumber) {
          return { snapshot: toJobSnapshot(current), applied: false };
        }
      }
      const updated = await azureCall(() =>
        client.updateJob(req.resourceGroup, req.jobName, {
          properties: {
            state: 'Shipping',
            deliveryPackage: {
              carrierName: req.shipment.carrierName,
              trackingNumber: req.shipment.trackingNumber,
              driveCount: req.shipment.driveCount,
              shipDate: req.shipment.shipDate,
            },
            returnAddress: req.returnAddress,
            returnShipping: req.returnShipping,
          },
        }),
      );
      return { snapshot: toJobSnapshot(updated), applied: true };
    },

    async getAzureJob(ref: AzureJobRef): Promise<JobSnapshot> {
      return toJobSnapshot(await azureCall(() => deps.azureFor(ref.subscriptionId).getJob(ref.resourceGroup, ref.jobName)));
    },

    async requestAzureCancel(ref: AzureJobRef): Promise<JobSnapshot> {
      const job = await azureCall(() => deps.azureFor(ref.subscriptionId).updateJob(ref.resourceGroup, ref.jobName, { properties: { cancelRequested: true } }));
      return toJobSnapshot(job);
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
