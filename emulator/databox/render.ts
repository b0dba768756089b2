import { flags, statusIndex } from './lifecycle';
import { JOB_RESOURCE_TYPE, type DataBoxJob } from './model';

export interface RenderOptions {
  /** `$expand=details`: `properties.details` is only sent when asked for. */
  details: boolean;
  apiVersion: string;
}

const accountName = (id: string | undefined) => id?.split('/').pop() ?? 'account';

export function jobId(job: DataBoxJob): string {
  return `/subscriptions/${job.subscriptionId}/resourceGroups/${job.resourceGroup}/providers/Microsoft.DataBox/jobs/${job.name}`;
}

/** Copies a value without the secrets (`x-ms-secret`: carrierAccountNumber, sharePassword) ARM never echoes. */
function withoutSecrets<T extends Record<string, unknown>>(v: T, secrets: string[]): Partial<T> {
  const out: Record<string, unknown> = { ...v };
  for (const s of secrets) delete out[s];
  return out as Partial<T>;
}

function renderDetails(job: DataBoxJob): Record<string, unknown> {
  const d = job.details;
  const customerDisk = job.sku.name === 'DataBoxCustomerDisk';
  const account = accountName(d.dataImportDetails?.[0]?.accountDetails.storageAccountId);
  const verbose = d.dataImportDetails?.some((x) => x.logCollectionLevel === 'Verbose') ?? false;
  const atDc = statusIndex(job, job.status) >= statusIndex(job, 'AtAzureDC') && job.status !== 'Cancelled';
  const logLink = (serial: string, kind: string) => `https://${account}.blob.core.windows.net/databoxcopylog/${job.name}_${serial}_${kind}_${job.jobId}.xml`;
  const out: Record<string, unknown> = {
    jobDetailsType: d.jobDetailsType,
    jobStages: job.stages.map((s) => ({ ...s })),
    contactDetails: structuredClone(d.contactDetails),
  };
  if (d.shippingAddress) out.shippingAddress = { ...d.shippingAddress };
  out.deliveryPackage = job.deliverToDcPackageDetails
    ? { carrierName: job.deliverToDcPackageDetails.carrierName, trackingId: job.deliverToDcPackageDetails.trackingId, trackingUrl: '' }
    : { carrierName: '', trackingId: '', trackingUrl: '' };
  out.returnPackage = job.returnPackage ? { ...job.returnPackage } : { carrierName: '', trackingId: '', trackingUrl: '' };
  if (d.dataImportDetails) {
    out.dataImportDetails = d.dataImportDetails.map((x) => ({ ...x, accountDetails: withoutSecrets(x.accountDetails, ['sharePassword']) }));
  }
  if (d.dataExportDetails) {
    out.dataExportDetails = d.dataExportDetails.map((x) => ({ ...structuredClone(x), accountDetails: withoutSecrets(x.accountDetails, ['sharePassword']) }));
  }
  if (d.preferences) out.preferences = structuredClone(d.preferences);
  if (d.reverseShippingDetails) out.reverseShippingDetails = structuredClone(d.reverseShippingDetails);
  out.copyLogDetails = customerDisk && job.copyLogs
    ? job.disks.map((disk) => ({
        copyLogDetailsType: 'DataBoxCustomerDisk',
        serialNumber: disk.serialNumber,
        errorLogLink: logLink(disk.serialNumber, 'CopyLog'),
        ...(verbose ? { verboseLogLink: logLink(disk.serialNumber, 'VerboseLog') } : {}),
      }))
    : [];
  out.keyEncryptionKey = d.keyEncryptionKey ? structuredClone(d.keyEncryptionKey) : { kekType: 'MicrosoftManaged' };
  if (d.expectedDataSizeInTeraBytes !== undefined) out.expectedDataSizeInTeraBytes = d.expectedDataSizeInTeraBytes;
  out.actions = [...job.actions];
  if (job.lastMitigationActionOnJob) out.lastMitigationActionOnJob = { ...job.lastMitigationActionOnJob };
  out.datacenterAddress = structuredClone(job.datacenterAddress);
  out.dataCenterCode = job.dataCenterCode;
  if (customerDisk) {
    // bitLockerKey is write-only: Jobs_ListCredentials is the only way back to it.
    out.importDiskDetailsCollection = Object.fromEntries(
      job.disks.map((disk) => [
        disk.serialNumber,
        {
          manifestFile: disk.manifestFile,
          manifestHash: disk.manifestHash,
          ...(d.enableManifestBackup && job.copyLogs ? { backupManifestCloudPath: logLink(disk.serialNumber, 'Manifest') } : {}),
        },
      ]),
    );
    out.copyProgress = atDc
      ? job.disks.map((disk) => ({
          serialNumber: disk.serialNumber,
          storageAccountName: account,
          transferType: job.transferType,
          dataAccountType: 'StorageAccount',
          accountId: d.dataImportDetails?.[0]?.accountDetails.storageAccountId ?? '',
          ...structuredClone(disk.progress),
          actions: [],
        }))
      : [];
    if (job.deliverToDcPackageDetails) out.deliverToDcPackageDetails = { ...job.deliverToDcPackageDetails };
    if (d.returnToCustomerPackageDetails) out.returnToCustomerPackageDetails = withoutSecrets(d.returnToCustomerPackageDetails, ['carrierAccountNumber']);
    out.enableManifestBackup = d.enableManifestBackup ?? false;
  } else {
    out.copyProgress = [];
    if (d.preferredDisks) out.preferredDisks = { ...d.preferredDisks };
  }
  return out;
}

/** A job as the API renders it. Secrets (BitLocker keys, carrier account numbers, passwords) are never part of it. */
export function renderJob(job: DataBoxJob, options: RenderOptions): Record<string, unknown> {
  const f = flags(job);
  const properties: Record<string, unknown> = {
    transferType: job.transferType,
    isCancellable: f.isCancellable,
    isDeletable: f.isDeletable,
    isShippingAddressEditable: f.isShippingAddressEditable,
    reverseShippingDetailsUpdate: 'NotSupported',
    reverseTransportPreferenceUpdate: 'NotSupported',
    isPrepareToShipEnabled: false,
    status: job.status,
    startTime: job.startTime,
    deliveryType: job.deliveryType,
    isCancellableWithoutFee: f.isCancellable,
  };
  if (options.apiVersion !== '2022-12-01') properties.allDevicesLost = false;
  if (job.deliveryInfo) properties.deliveryInfo = { ...job.deliveryInfo };
  if (job.cancellationReason !== undefined) properties.cancellationReason = job.cancellationReason;
  if (job.error) properties.error = { ...job.error };
  if (options.details) properties.details = renderDetails(job);
  const body: Record<string, unknown> = {
    id: jobId(job),
    name: job.name,
    type: JOB_RESOURCE_TYPE,
    location: job.location,
    ...(job.tags ? { tags: { ...job.tags } } : {}),
    sku: { ...job.sku },
    ...(job.identity ? { identity: { ...structuredClone(job.identity), type: job.identity.type ?? 'None' } } : {}),
    systemData: { ...job.systemData },
    properties,
  };
  return body;
}
