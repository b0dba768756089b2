/**
 * The Azure port on the classic Import/Export API (Microsoft.ImportExport), through `ImportExportClient`.
 */
import { EXPIRED_JOB_STATE, cancellableStates, type JobSnapshot, type ShippingSite } from '../../common/azure-job';
import { ImportExportClient, type ImportExportClientOptions } from './client';
import type { AzureConfig } from './config';
import { AzurePortError, type AzurePort } from './port';
import type { JobResponse, Location } from './schemas';

const lastSegment = (id: string): string => id.split('/').filter(Boolean).pop() ?? id;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : undefined);
const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** An Import/Export location as a shipping site: open iff its alternates include itself. */
export function toShippingSite(location: Location): ShippingSite {
  const id = location.id ?? '';
  const p = location.properties ?? {};
  const alternates = p.alternateLocations ?? [];
  const self = id.toLowerCase();
  return {
    api: 'importexport',
    id,
    locationName: lastSegment(id),
    displayName: location.name ?? lastSegment(id),
    isOpen: alternates.some((a) => a.toLowerCase() === self),
    alternateLocationNames: alternates.filter((a) => a.toLowerCase() !== self).map(lastSegment),
    supportedCarriers: p.supportedCarriers ?? [],
    address: {
      recipientName: p.recipientName ?? '',
      streetAddress1: p.streetAddress1 ?? '',
      streetAddress2: nonEmpty(p.streetAddress2),
      city: p.city ?? '',
      stateOrProvince: nonEmpty(p.stateOrProvince),
      postalCode: p.postalCode ?? '',
      countryOrRegion: p.countryOrRegion ?? '',
      phone: nonEmpty(p.phone),
      additionalShippingInformation: nonEmpty(p.additionalShippingInformation),
    },
  };
}

type PackageLike = { carrierName?: string; trackingNumber?: string; driveCount?: unknown; shipDate?: string } | undefined;
const toPackage = (x: PackageLike): JobSnapshot['deliveryPackage'] =>
  x?.carrierName && x.trackingNumber ? { carrierName: x.carrierName, trackingNumber: x.trackingNumber, driveCount: num(x.driveCount), shipDate: x.shipDate } : undefined;

export function toJobSnapshot(job: JobResponse): JobSnapshot {
  const p = job.properties;
  const state = p.state ?? 'Creating';
  return {
    api: 'importexport',
    state,
    cancelRequested: p.cancelRequested ?? false,
    cancellable: !(p.cancelRequested ?? false) && cancellableStates('importexport').has(state),
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
    deliveryPackage: toPackage(p.deliveryPackage),
    returnPackage: toPackage(p.returnPackage),
  };
}

/** Microsoft.ImportExport behind the port. Clients are per subscription and kept (they hold a token cache). */
export function createImportExportPort(config: AzureConfig, options: ImportExportClientOptions = {}): AzurePort & { clientFor(subscriptionId: string): ImportExportClient } {
  const clients = new Map<string, ImportExportClient>();
  const clientFor = (subscriptionId: string): ImportExportClient => {
    let client = clients.get(subscriptionId);
    if (client === undefined) {
      client = new ImportExportClient({ ...config, subscriptionId }, options);
      clients.set(subscriptionId, client);
    }
    return client;
  };

  return {
    api: 'importexport',
    clientFor,

    async findShippingSite(req, opts = {}) {
      return toShippingSite(await clientFor(req.subscriptionId).getLocation(req.locationName, opts));
    },

    async createJob(req, opts = {}) {
      const { job, created } = await clientFor(req.subscriptionId).createJob(
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
            driveList: req.drives.map((d) => ({ driveId: d.driveId, bitLockerKey: d.bitLockerKey, manifestFile: d.manifestFile, manifestHash: d.manifestHash })),
          },
        },
        { clientRequestId: req.requestId, ...(opts.abortSignal === undefined ? {} : { abortSignal: opts.abortSignal }) },
      );
      return { snapshot: toJobSnapshot(job), created };
    },

    async recordShipment(req, opts) {
      const client = clientFor(req.subscriptionId);
      // Only a retry can follow a PATCH whose response was lost: check first then, and save the round trip otherwise.
      if (!opts.firstAttempt) {
        const current = await client.getJob(req.resourceGroup, req.jobName, opts);
        if (current.properties.state !== 'Creating' && current.properties.deliveryPackage?.trackingNumber === req.shipment.trackingNumber) {
          return { snapshot: toJobSnapshot(current), applied: false };
        }
      }
      const updated = await client.updateJob(
        req.resourceGroup,
        req.jobName,
        {
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
        },
        opts,
      );
      return { snapshot: toJobSnapshot(updated), applied: true };
    },

    async getJobSnapshot(ref, opts = {}) {
      return toJobSnapshot(await clientFor(ref.subscriptionId).getJob(ref.resourceGroup, ref.jobName, opts));
    },

    async requestCancellation(req, opts = {}) {
      const client = clientFor(req.subscriptionId);
      try {
        return toJobSnapshot(await client.updateJob(req.resourceGroup, req.jobName, { properties: { cancelRequested: true } }, opts));
      } catch (err) {
        // A 409 here means the state no longer allows it: say so in the workflow's words.
        if (err instanceof AzurePortError && err.type === 'AzureConflictError') {
          const current = await client.tryGetJob(req.resourceGroup, req.jobName, opts);
          const state = current?.properties.state ?? EXPIRED_JOB_STATE;
          throw new AzurePortError('CancelNotAllowed', `Azure refuses the cancellation: the job is ${state} (cancellation is possible only before the drives ship). ${err.message}`, {
            operation: 'Jobs_Update',
            statusCode: 409,
            ...(err.code === undefined ? {} : { code: err.code }),
            ...(err.requestId === undefined ? {} : { requestId: err.requestId }),
          });
        }
        throw err;
      }
    },

    async readDiskKeys(ref, opts = {}) {
      return (await clientFor(ref.subscriptionId).listBitLockerKeys(ref.resourceGroup, ref.jobName, opts)).map((k) => ({ driveId: k.driveId, bitLockerKey: k.bitLockerKey }));
    },
  };
}
