/**
 * The Azure port on Azure Data Box (Microsoft.DataBox, sku DataBoxCustomerDisk): what Azure takes Import/Export
 * orders through today. Transport is Microsoft's `@azure/arm-databox` (DataBoxManagementClient, including its
 * long-running-operation poller); every body read is validated with ./schemas.
 */
import { DataBoxManagementClient, type JobResource, type JobResourceUpdateParameter } from '@azure/arm-databox';
import {
  EXPIRED_JOB_STATE,
  cancellableStates,
  type AzureJobRef,
  type DriveSnapshot,
  type JobSnapshot,
  type ShippingSite,
  type ShippingUpdateRequest,
} from '../../../common/azure-job';
import type { AzureConfig } from '../config';
import { REQUEST_ID_TAG } from '../job-spec';
import { AzurePortError, type AzurePort, type CallOptions, type CreateJobInput } from '../port';
import { type ArmClientOptions, type SdkCall, armClientSettings, sdkCall, sdkPages, sdkSend } from '../transport';
import { diffDataBoxJob, returnDetailsDiffer } from './job-spec';
import {
  AvailableSkusResultSchema,
  CredentialsListSchema,
  type DataBoxJob,
  DataBoxJobSchema,
  type DatacenterAddress,
  RegionConfigurationResponseSchema,
} from './schemas';

export const CUSTOMER_DISK_SKU = 'DataBoxCustomerDisk';
/** The wording Data Box uses when it cancels a job that never got its shipment (the two-week expiry). */
const SERVICE_EXPIRY_REASON = /still in ordered state cancelled by the service|cancelled by the service/i;

export interface DataBoxPortOptions extends ArmClientOptions {
  /** Poll interval of long-running operations when the server sends no Retry-After (SDK default 2 s). */
  pollIntervalMs?: number;
}

const locationId = (subscriptionId: string, location: string): string => `/subscriptions/${subscriptionId}/providers/Microsoft.DataBox/locations/${location}`;
const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v);

/** A datacenter address as a shipping site: an address, or (DatacenterAddressInstruction) only the instruction. */
export function siteFromDatacenterAddress(address: DatacenterAddress, where: { subscriptionId: string; location: string }): ShippingSite {
  const common = {
    api: 'databox' as const,
    id: locationId(where.subscriptionId, where.location),
    locationName: where.location,
    displayName: address.dataCenterAzureLocation ?? where.location,
    isOpen: true,
    alternateLocationNames: [],
    supportedCarriers: address.supportedCarriersForReturnShipment ?? [],
    ...(address.dataCenterAzureLocation === undefined ? {} : { dataCenterAzureLocation: address.dataCenterAzureLocation }),
  };
  if (address.datacenterAddressType === 'DatacenterAddressInstruction') {
    return { ...common, instruction: address.communicationInstruction ?? '' };
  }
  const phone = nonEmpty(address.phone);
  return {
    ...common,
    address: {
      recipientName: [address.contactPersonName, address.company].filter((s) => nonEmpty(s) !== undefined).join(', ') || 'Microsoft Azure datacenter',
      streetAddress1: address.street1 ?? '',
      streetAddress2: nonEmpty(address.street2),
      streetAddress3: nonEmpty(address.street3),
      city: address.city ?? '',
      stateOrProvince: nonEmpty(address.state),
      postalCode: address.zip ?? '',
      countryOrRegion: address.country ?? '',
      phone: phone === undefined ? undefined : address.phoneExtension ? `${phone} ext. ${address.phoneExtension}` : phone,
      additionalShippingInformation: nonEmpty(address.additionalShippingInformation),
    },
  };
}

const num = (v: number | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function toJobSnapshot(job: DataBoxJob, subscriptionId: string): JobSnapshot {
  const p = job.properties;
  const d = p.details;
  const status = p.status ?? 'DeviceOrdered';
  const expiredByService = status === 'Cancelled' && SERVICE_EXPIRY_REASON.test(p.cancellationReason ?? '');
  const progress = new Map((d?.copyProgress ?? []).map((c) => [(c.serialNumber ?? '').toLowerCase(), c]));
  const logs = new Map((d?.copyLogDetails ?? []).map((l) => [(l.serialNumber ?? '').toLowerCase(), l]));
  const serials = [...new Set([...Object.keys(d?.importDiskDetailsCollection ?? {}), ...(d?.copyProgress ?? []).map((c) => c.serialNumber ?? '')])].filter((s) => s !== '');
  const drives: DriveSnapshot[] = serials.map((serial) => {
    const c = progress.get(serial.toLowerCase());
    const log = logs.get(serial.toLowerCase());
    const done = num(c?.bytesProcessed);
    const total = num(c?.totalBytesToProcess);
    return {
      driveId: serial,
      state: c?.copyStatus ?? 'NotStarted',
      copyStatus: c?.copyStatus,
      percentComplete: done !== undefined && total !== undefined && total > 0 ? Math.min(100, Math.round((done / total) * 1000) / 10) : undefined,
      bytesSucceeded: done,
      bytesTotal: total,
      filesProcessed: num(c?.filesProcessed),
      filesTotal: num(c?.totalFilesToProcess),
      filesErrored: num(c?.filesErroredOut),
      error: nonEmpty(c?.error?.message),
      errorLogUri: nonEmpty(log?.errorLogLink),
      verboseLogUri: nonEmpty(log?.verboseLogLink),
    };
  });
  const bytes = drives.reduce((acc, x) => ({ done: acc.done + (x.bytesSucceeded ?? 0), total: acc.total + (x.bytesTotal ?? 0) }), { done: 0, total: 0 });
  const inbound = d?.deliverToDcPackageDetails;
  const back = d?.returnPackage;
  return {
    api: 'databox',
    state: expiredByService ? EXPIRED_JOB_STATE : status,
    cancelRequested: status === 'Cancelled',
    cancellable: p.isCancellable ?? cancellableStates('databox').has(status),
    ...(p.cancellationReason === undefined ? {} : { cancellationReason: p.cancellationReason }),
    ...(expiredByService ? { expired: { reason: 'cancelled-by-service' as const, message: p.cancellationReason ?? '' } } : {}),
    percentComplete: bytes.total > 0 ? Math.min(100, Math.round((bytes.done / bytes.total) * 1000) / 10) : undefined,
    drives,
    stages: (d?.jobStages ?? []).map((s) => ({
      name: s.stageName ?? '',
      ...(s.displayName === undefined ? {} : { displayName: s.displayName }),
      ...(s.stageStatus === undefined ? {} : { status: s.stageStatus }),
      ...(s.stageTime === undefined ? {} : { at: s.stageTime }),
    })),
    deliveryPackage: nonEmpty(inbound?.trackingId) && nonEmpty(inbound?.carrierName) ? { carrierName: inbound!.carrierName!, trackingNumber: inbound!.trackingId! } : undefined,
    returnPackage:
      nonEmpty(back?.trackingId) && nonEmpty(back?.carrierName)
        ? { carrierName: back!.carrierName!, trackingNumber: back!.trackingId!, ...(nonEmpty(back!.trackingUrl) ? { trackingUrl: back!.trackingUrl } : {}) }
        : undefined,
    ...(d?.datacenterAddress === undefined ? {} : { shipTo: siteFromDatacenterAddress(d.datacenterAddress, { subscriptionId, location: job.location }) }),
    ...(p.error?.code === undefined && p.error?.message === undefined ? {} : { error: { ...(p.error?.code ? { code: p.error.code } : {}), ...(p.error?.message ? { message: p.error.message } : {}) } }),
  };
}

/** The snapshot of a job Azure no longer has: the two-week expiry deletes jobs that never got a shipment. */
function deletedSnapshot(): JobSnapshot {
  return {
    api: 'databox',
    state: EXPIRED_JOB_STATE,
    cancelRequested: false,
    cancellable: false,
    expired: { reason: 'deleted', message: 'Azure no longer has the job (jobs without shipping information are deleted after two weeks)' },
    drives: [],
  };
}

/** Data Box's contact: the return address's recipient, phone and email. */
export function contactOf(req: Pick<CreateJobInput, 'returnAddress'>): { contactName: string; phone: string; emailList: string[] } {
  return { contactName: req.returnAddress.recipientName, phone: req.returnAddress.phone, emailList: [req.returnAddress.email] };
}

export function shippingAddressOf(req: Pick<CreateJobInput, 'returnAddress'>): NonNullable<JobResourceUpdateParameter['details']>['shippingAddress'] {
  const a = req.returnAddress;
  return {
    streetAddress1: a.streetAddress1,
    ...(a.streetAddress2 === undefined ? {} : { streetAddress2: a.streetAddress2 }),
    city: a.city,
    ...(a.stateOrProvince === undefined ? {} : { stateOrProvince: a.stateOrProvince }),
    postalCode: a.postalCode,
    country: a.countryOrRegion,
    addressType: 'Commercial',
  };
}

/** The Data Box create body (SDK shape: `properties` flattened into the resource). */
export function createBody(req: CreateJobInput): JobResource {
  return {
    location: req.locationName,
    sku: { name: CUSTOMER_DISK_SKU },
    tags: { ...req.tags, [REQUEST_ID_TAG]: req.requestId },
    transferType: 'ImportToAzure',
    details: {
      jobDetailsType: CUSTOMER_DISK_SKU,
      contactDetails: contactOf(req),
      shippingAddress: shippingAddressOf(req),
      dataImportDetails: [{ accountDetails: { dataAccountType: 'StorageAccount', storageAccountId: req.storageAccountId }, logCollectionLevel: req.logLevel }],
      importDiskDetailsCollection: Object.fromEntries(
        req.drives.map((d) => [d.driveId, { manifestFile: d.manifestFile, manifestHash: d.manifestHash, bitLockerKey: d.bitLockerKey }]),
      ),
      returnToCustomerPackageDetails: { carrierName: req.returnShipping.carrierName, carrierAccountNumber: req.returnShipping.carrierAccountNumber },
      enableManifestBackup: req.backupDriveManifest,
      preferences: { transportPreferences: { preferredShipmentType: 'CustomerManaged' } },
    },
  };
}

export function createDataBoxPort(config: AzureConfig, options: DataBoxPortOptions = {}): AzurePort {
  const settings = armClientSettings(config, options);
  const apiVersion = config.databoxApiVersion;
  const clients = new Map<string, DataBoxManagementClient>();
  const sdk = (subscriptionId: string): DataBoxManagementClient => {
    let client = clients.get(subscriptionId);
    if (client === undefined) {
      client = new DataBoxManagementClient(settings.credential, subscriptionId, { ...settings.options, apiVersion });
      clients.set(subscriptionId, client);
    }
    return client;
  };
  const lro = options.pollIntervalMs === undefined ? {} : { updateIntervalInMs: options.pollIntervalMs };
  const call = (operation: string, opts: CallOptions, secrets?: readonly string[]): SdkCall => ({
    operation,
    apiVersion,
    abortSignal: opts.abortSignal,
    ...(secrets === undefined ? {} : { secrets }),
  });

  const getJob = async (ref: AzureJobRef, opts: CallOptions): Promise<DataBoxJob> =>
    (await sdkCall(call('Jobs_Get', opts), DataBoxJobSchema, (o) => sdk(ref.subscriptionId).jobs.get(ref.resourceGroup, ref.jobName, { ...o, expand: 'details' }))).body;
  const tryGetJob = async (ref: AzureJobRef, opts: CallOptions): Promise<DataBoxJob | undefined> => {
    try {
      return await getJob(ref, opts);
    } catch (err) {
      if (err instanceof AzurePortError && err.type === 'AzureNotFoundError') return undefined;
      throw err;
    }
  };

  async function skuAvailability(req: { subscriptionId: string; resourceGroup: string; location: string; country: string }, opts: CallOptions): Promise<string | undefined> {
    const pages = sdkPages(call('Service_ListAvailableSkusByResourceGroup', opts), AvailableSkusResultSchema, (o) =>
      sdk(req.subscriptionId)
        .service.listAvailableSkusByResourceGroup(req.resourceGroup, req.location, { transferType: 'ImportToAzure', country: req.country, location: req.location, skuNames: [CUSTOMER_DISK_SKU] }, o)
        .byPage(),
    );
    for await (const page of pages) {
      const sku = page.value.find((s) => s.sku.name.toLowerCase() === CUSTOMER_DISK_SKU.toLowerCase());
      if (sku === undefined) continue;
      if (sku.enabled !== false) return undefined;
      return sku.properties?.disabledReasonMessage ?? `${CUSTOMER_DISK_SKU} is not available in ${req.location} (${sku.properties?.disabledReason ?? 'no reason given'})`;
    }
    return `${CUSTOMER_DISK_SKU} is not offered in ${req.location}`;
  }

  async function updateReturnDetails(ref: AzureJobRef, req: Pick<ShippingUpdateRequest, 'returnAddress' | 'returnShipping'>, opts: CallOptions): Promise<void> {
    const details: JobResourceUpdateParameter['details'] = {
      contactDetails: contactOf(req),
      shippingAddress: shippingAddressOf(req),
      returnToCustomerPackageDetails: { carrierName: req.returnShipping.carrierName, carrierAccountNumber: req.returnShipping.carrierAccountNumber },
    };
    await sdkSend(call('Jobs_Update', opts, [req.returnShipping.carrierAccountNumber]), (o) =>
      sdk(ref.subscriptionId).jobs.beginUpdateAndWait(ref.resourceGroup, ref.jobName, { details }, { ...o, ...lro }),
    );
  }

  return {
    api: 'databox',

    async findShippingSite(req, opts = {}) {
      const location = req.locationName.replace(/\s+/g, '').toLowerCase();
      if (req.resourceGroup === undefined) {
        throw new AzurePortError('InvalidAzureRequest', `Data Box sku availability is asked per resource group: resourceGroup is required for ${location}`, {
          problems: [{ field: 'resourceGroup', message: 'is required for the Data Box API' }],
        });
      }
      const closed = (closedReason: string, site?: ShippingSite): ShippingSite => ({
        ...(site ?? { api: 'databox', id: locationId(req.subscriptionId, location), locationName: location, displayName: location, alternateLocationNames: [], supportedCarriers: [] }),
        isOpen: false,
        closedReason,
      });
      let site: ShippingSite;
      try {
        const region = await sdkCall(call('Service_RegionConfiguration', opts), RegionConfigurationResponseSchema, (o) =>
          sdk(req.subscriptionId).service.regionConfiguration(location, { datacenterAddressRequest: { storageLocation: location, skuName: CUSTOMER_DISK_SKU } }, o),
        );
        const address = region.body.datacenterAddressResponse;
        if (address === undefined) {
          throw new AzurePortError('AzureResponseFormatError', `Service_RegionConfiguration: no datacenter address for ${location} and ${CUSTOMER_DISK_SKU}`, {
            operation: 'Service_RegionConfiguration',
            problems: [{ field: 'datacenterAddressResponse', message: 'is missing' }],
          });
        }
        site = siteFromDatacenterAddress(address, { subscriptionId: req.subscriptionId, location });
      } catch (err) {
        // The API reference names no error code for an unavailable sku; SkuNotAvailable is the one ARM uses elsewhere.
        if (err instanceof AzurePortError && err.code === 'SkuNotAvailable') return closed(err.message);
        throw err;
      }
      // A datacenter address alone does not promise the sku can be ordered: ask, whenever the country is known
      // (an instruction-only address names none, so the request must).
      const country = req.country ?? site.address?.countryOrRegion;
      if (country === undefined) return site;
      const closedReason = await skuAvailability({ subscriptionId: req.subscriptionId, resourceGroup: req.resourceGroup, location, country }, opts);
      return closedReason === undefined ? site : closed(closedReason, site);
    },

    async createJob(req, opts = {}) {
      const secrets = [...req.drives.map((d) => d.bitLockerKey), req.returnShipping.carrierAccountNumber];
      const existing = await tryGetJob(req, opts);
      if (existing !== undefined) {
        const differences = diffDataBoxJob(req, existing);
        if (differences.length > 0) {
          const fields = differences.map((d) => `${d.field} (requested ${d.requested ?? '(secret)'}, existing ${d.existing ?? '(none)'})`).join('; ');
          throw new AzurePortError(
            'JobSpecConflict',
            `Jobs_Create: a Data Box job named '${req.jobName}' already exists in resource group '${req.resourceGroup}' (status ${existing.properties.status ?? 'unknown'}) with a different spec: ${fields}`,
            { operation: 'Jobs_Create', statusCode: 409, code: 'JobSpecConflict', differences, secrets },
          );
        }
        return { snapshot: toJobSnapshot(existing, req.subscriptionId), created: false };
      }
      // A long-running operation: 200 at once, or 202 + Location polled (the SDK honours Retry-After). Its final
      // body is not relied on: the job is read back with its details, as the API reference advises.
      await sdkSend(call('Jobs_Create', opts, secrets), (o) => sdk(req.subscriptionId).jobs.beginCreateAndWait(req.resourceGroup, req.jobName, createBody(req), { ...o, ...lro }));
      return { snapshot: toJobSnapshot(await getJob(req, opts), req.subscriptionId), created: true };
    },

    async recordShipment(req, opts) {
      // Always read first: markDevicesShipped answers 204 without a body, and a shipment already recorded (a lost
      // response, or a retry) must not be sent again.
      const current = await getJob(req, opts);
      const recorded = current.properties.details?.deliverToDcPackageDetails?.trackingId;
      if (recorded !== undefined && recorded !== '' && recorded.toUpperCase() === req.shipment.trackingNumber.toUpperCase()) {
        return { snapshot: toJobSnapshot(current, req.subscriptionId), applied: false };
      }
      if (returnDetailsDiffer(req, current) && current.properties.isShippingAddressEditable !== false) await updateReturnDetails(req, req, opts);
      await sdkSend(call('Jobs_MarkDevicesShipped', opts), (o) =>
        sdk(req.subscriptionId).jobs.markDevicesShipped(
          req.jobName,
          req.resourceGroup,
          { deliverToDcPackageDetails: { carrierName: req.shipment.carrierName, trackingId: req.shipment.trackingNumber } },
          o,
        ),
      );
      return { snapshot: toJobSnapshot(await getJob(req, opts), req.subscriptionId), applied: true };
    },

    async getJobSnapshot(ref, opts = {}) {
      const job = await tryGetJob(ref, opts);
      return job === undefined ? deletedSnapshot() : toJobSnapshot(job, ref.subscriptionId);
    },

    async requestCancellation(req, opts = {}) {
      const current = await getJob(req, opts);
      const status = current.properties.status ?? 'unknown';
      if (status === 'Cancelled') return toJobSnapshot(current, req.subscriptionId);
      if (current.properties.isCancellable === false) {
        throw new AzurePortError('CancelNotAllowed', `Azure refuses the cancellation: the Data Box job is ${status} and no longer cancellable (isCancellable is false; cancellation is possible only before the disks ship)`, {
          operation: 'Jobs_Cancel',
        });
      }
      await sdkSend(call('Jobs_Cancel', opts), (o) =>
        sdk(req.subscriptionId).jobs.cancel(req.resourceGroup, req.jobName, { reason: req.reason ?? 'Cancelled through the import orchestrator' }, o),
      );
      return toJobSnapshot(await getJob(req, opts), req.subscriptionId);
    },

    async readDiskKeys(ref, opts = {}) {
      const keys: Array<{ driveId: string; bitLockerKey: string }> = [];
      const pages = sdkPages(call('Jobs_ListCredentials', opts), CredentialsListSchema, (o) => sdk(ref.subscriptionId).jobs.listCredentials(ref.resourceGroup, ref.jobName, o).byPage());
      for await (const page of pages) {
        for (const entry of page.value) {
          for (const secret of entry.jobSecrets?.diskSecrets ?? []) keys.push({ driveId: secret.diskSerialNumber, bitLockerKey: secret.bitLockerKey });
        }
      }
      return keys;
    },
  };
}
