/**
 * A typed client for the emulator's control API (`/_emulator/...`, not part of Azure). Uses fetch; no auth.
 */

export type AdvanceTarget = 'Received' | 'Transferring' | 'Packaging' | 'Completed' | 'Closed';
export type DriveState = 'Specified' | 'Received' | 'NeverReceived' | 'Transferring' | 'Completed' | 'CompletedMoreInfo' | 'ShippedBack';

export interface AdvanceRequest {
  to: AdvanceTarget;
  percentComplete?: number;
  driveStates?: Record<string, DriveState>;
  neverReceived?: string[];
}

export type OperationName =
  | 'Locations_List'
  | 'Locations_Get'
  | 'Jobs_ListBySubscription'
  | 'Jobs_ListByResourceGroup'
  | 'Jobs_Get'
  | 'Jobs_Create'
  | 'Jobs_Update'
  | 'Jobs_Delete'
  | 'BitLockerKeys_List'
  | 'Operations_List';

/** Data Box operationIds (swagger 2025-02-01) plus `OperationResults_Get`, the poll of a long-running operation. */
export type DataBoxOperationName =
  | 'Operations_List'
  | 'Jobs_List'
  | 'Jobs_ListByResourceGroup'
  | 'Jobs_Get'
  | 'Jobs_Create'
  | 'Jobs_Update'
  | 'Jobs_Delete'
  | 'Jobs_MarkDevicesShipped'
  | 'Jobs_Cancel'
  | 'Jobs_ListCredentials'
  | 'Jobs_BookShipmentPickUp'
  | 'Mitigate'
  | 'Service_ListAvailableSkusByResourceGroup'
  | 'Service_RegionConfiguration'
  | 'Service_RegionConfigurationByResourceGroup'
  | 'Service_ValidateInputs'
  | 'Service_ValidateInputsByResourceGroup'
  | 'Service_ValidateAddress'
  | 'OperationResults_Get';

export interface FaultRequest {
  operation: OperationName | DataBoxOperationName | '*';
  /** Only calls of this API; both when absent (Jobs_Create, Jobs_Get, ... exist in both). */
  api?: 'importexport' | 'databox';
  kind: 'status' | 'delay' | 'drop';
  status?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  count?: number;
  rate?: number;
  afterProcessing?: boolean;
}

export interface FaultInfo extends FaultRequest {
  id: string;
  remaining?: number;
  fired: number;
}

export interface RequestLogEntry {
  seq: number;
  time: string;
  method: string;
  path: string;
  api?: 'importexport' | 'databox';
  operation: string;
  status: number;
  faulted?: string;
}

export type DataBoxAdvanceTarget =
  | 'Delivered'
  | 'AtAzureDC'
  | 'DataCopy'
  | 'PreparingToShipFromAzureDC'
  | 'ShippedToCustomer'
  | 'Completed'
  | 'CompletedWithWarnings'
  | 'CompletedWithErrors'
  | 'Failed_IssueDetectedAtAzureDC';

export type DataBoxCopyStatus =
  | 'NotStarted'
  | 'InProgress'
  | 'Completed'
  | 'CompletedWithErrors'
  | 'Failed'
  | 'NotReturned'
  | 'HardwareError'
  | 'DeviceFormatted'
  | 'DeviceMetadataModified'
  | 'StorageAccountNotAccessible'
  | 'UnsupportedData'
  | 'DriveNotReceived'
  | 'UnsupportedDrive'
  | 'OtherServiceError'
  | 'OtherUserError'
  | 'DriveNotDetected'
  | 'DriveCorrupted'
  | 'MetadataFilesModifiedOrRemoved';

/** Per-disk copy results and counters (`DataBoxCustomerDiskCopyProgress`). */
export interface DataBoxDiskProgress {
  copyStatus?: DataBoxCopyStatus;
  bytesProcessed?: number;
  totalBytesToProcess?: number;
  filesProcessed?: number;
  totalFilesToProcess?: number;
  invalidFilesProcessed?: number;
  invalidFileBytesUploaded?: number;
  renamedContainerCount?: number;
  filesErroredOut?: number;
  directoriesErroredOut?: number;
  invalidDirectoriesProcessed?: number;
  isEnumerationInProgress?: boolean;
  error?: { code: string; message: string };
}

export interface DataBoxAdvanceRequest {
  to: DataBoxAdvanceTarget;
  /** Progress of every disk still copying, in percent (DataCopy; default 50). */
  percentComplete?: number;
  /** By disk serial number; applied after the stage's defaults. */
  disks?: Record<string, DataBoxDiskProgress>;
}

/** A Data Box job as the API renders it with `$expand=details` (secrets never included). */
export interface DataBoxEmulatorJob {
  id: string;
  name: string;
  type: string;
  location: string;
  sku: { name: string };
  tags?: Record<string, string>;
  properties: {
    status: string;
    isCancellable: boolean;
    isDeletable: boolean;
    isShippingAddressEditable: boolean;
    cancellationReason?: string;
    details: {
      jobStages: Array<{ stageName: string; displayName: string; stageStatus: string; stageTime?: string }>;
      datacenterAddress: DataBoxDatacenterAddress;
      copyProgress: Array<DataBoxDiskProgress & { serialNumber: string }>;
      copyLogDetails: Array<{ copyLogDetailsType: string; serialNumber: string; errorLogLink: string; verboseLogLink?: string }>;
      returnPackage: { carrierName: string; trackingId: string; trackingUrl: string };
      deliverToDcPackageDetails?: { carrierName: string; trackingId: string };
      [key: string]: unknown;
    };
    [key: string]: unknown;
  };
}

export interface DataBoxAddressFields {
  contactPersonName: string;
  company: string;
  street1: string;
  street2?: string;
  street3?: string;
  city: string;
  state: string;
  zip: string;
  country: string;
  phone: string;
  phoneExtension?: string;
  addressType?: string;
  additionalShippingInformation?: string;
}

export type DataBoxDatacenterAddress =
  | ({ datacenterAddressType: 'DatacenterAddressLocation'; supportedCarriersForReturnShipment: string[]; dataCenterAzureLocation: string } & DataBoxAddressFields)
  | { datacenterAddressType: 'DatacenterAddressInstruction'; communicationInstruction: string; supportedCarriersForReturnShipment: string[]; dataCenterAzureLocation: string };

export interface DataBoxRegionInfo {
  name: string;
  displayName: string;
  customerDiskAvailable: boolean;
  datacenterAddress: DataBoxDatacenterAddress;
}

/** What to change about a region: sku availability, its datacenter address or instruction, its return carriers. */
export interface DataBoxRegionChange {
  customerDiskAvailable?: boolean;
  address?: DataBoxAddressFields;
  instruction?: string;
  supportedCarriers?: string[];
}

export type DataBoxLroOperation = 'Jobs_Create' | 'Jobs_Update' | 'Jobs_Delete';
export interface DataBoxLroSetting {
  /** `sync`: 200 at once; `async`: 202 + Location + Retry-After, then polls; `async-no-location`: a bare 202. */
  mode: 'sync' | 'async' | 'async-no-location';
  /** Polls answered 202 before the one that answers the result. */
  polls: number;
  retryAfterSeconds: number;
}
export interface DataBoxSettings {
  lro: Record<DataBoxLroOperation, DataBoxLroSetting>;
  expiry: 'cancel' | 'delete';
}

/** A job as the Azure API renders it (bitLockerKey never included). */
export interface EmulatorJob {
  id: string;
  name: string;
  type: string;
  location: string;
  tags?: Record<string, string>;
  systemData: Record<string, string>;
  identity: { type: string; principalId?: string; tenantId?: string };
  properties: {
    state: string;
    cancelRequested: boolean;
    percentComplete?: number;
    driveList?: Array<{
      driveId: string;
      state: DriveState;
      copyStatus?: string;
      percentComplete?: number;
      bytesSucceeded?: number;
      errorLogUri?: string;
      verboseLogUri?: string;
      manifestUri?: string;
      manifestFile?: string;
      manifestHash?: string;
    }>;
    returnPackage?: { carrierName: string; trackingNumber: string; driveCount: number; shipDate: string };
    [key: string]: unknown;
  };
}

export interface EmulatorLocation {
  id: string;
  name: string;
  type: string;
  properties: { supportedCarriers: string[]; alternateLocations: string[]; [key: string]: unknown };
}

export class EmulatorControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorControlError';
  }
}

export class EmulatorControl {
  private readonly baseUrl: string;

  /** `baseUrl`: the emulator's HTTP (or HTTPS) URL, e.g. `http://127.0.0.1:10880`. */
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    }
    const res = await fetch(`${this.baseUrl}/_emulator${path}`, init);
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new EmulatorControlError(res.status, err?.code ?? 'Unknown', err?.message ?? `HTTP ${res.status}`);
    }
    return parsed as T;
  }

  /** Moves a job (and its drives) forward to `body.to`, filling in intermediate states. */
  advance(subscriptionId: string, resourceGroup: string, jobName: string, body: AdvanceRequest): Promise<EmulatorJob> {
    const p = [subscriptionId, resourceGroup, jobName].map(encodeURIComponent).join('/');
    return this.call('POST', `/jobs/${p}/advance`, body);
  }

  /** Closes a site: its alternateLocations become `alternates` (it no longer lists itself). */
  closeLocation(name: string, alternates: string[]): Promise<EmulatorLocation> {
    return this.call('POST', `/locations/${encodeURIComponent(name)}/close`, { alternates });
  }

  openLocation(name: string): Promise<EmulatorLocation> {
    return this.call('POST', `/locations/${encodeURIComponent(name)}/open`, {});
  }

  async addFault(fault: FaultRequest): Promise<string> {
    const r = await this.call<{ id: string }>('POST', '/faults', fault);
    return r.id;
  }

  async faults(): Promise<FaultInfo[]> {
    return (await this.call<{ faults: FaultInfo[] }>('GET', '/faults')).faults;
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }

  /** Moves the virtual clock forward (expiry is evaluated right away). Returns the new virtual time. */
  async advanceClock(seconds: number): Promise<string> {
    return (await this.call<{ now: string }>('POST', '/clock/advance', { seconds })).now;
  }

  async clock(): Promise<string> {
    return (await this.call<{ now: string }>('GET', '/clock')).now;
  }

  async requests(): Promise<RequestLogEntry[]> {
    return (await this.call<{ requests: RequestLogEntry[] }>('GET', '/requests')).requests;
  }

  async clearRequests(): Promise<void> {
    await this.call('DELETE', '/requests');
  }

  // ---------------------------------------------------------------- Data Box

  private dataBoxJobPath(subscriptionId: string, resourceGroup: string, jobName: string): string {
    return `/databox/jobs/${[subscriptionId, resourceGroup, jobName].map(encodeURIComponent).join('/')}`;
  }

  /** A Data Box job as `Jobs_Get ?$expand=details` renders it (no auth needed). */
  dataBoxJob(subscriptionId: string, resourceGroup: string, jobName: string): Promise<DataBoxEmulatorJob> {
    return this.call('GET', this.dataBoxJobPath(subscriptionId, resourceGroup, jobName));
  }

  /** Plays the datacenter: moves a Data Box job forward to `body.to` (after markDevicesShipped), with per-disk results. */
  dataBoxAdvance(subscriptionId: string, resourceGroup: string, jobName: string, body: DataBoxAdvanceRequest): Promise<DataBoxEmulatorJob> {
    return this.call('POST', `${this.dataBoxJobPath(subscriptionId, resourceGroup, jobName)}/advance`, body);
  }

  /** Changes the job's `details.datacenterAddress`: to an address, an instruction, or (neither) its region's current one. */
  dataBoxSetJobDatacenterAddress(
    subscriptionId: string,
    resourceGroup: string,
    jobName: string,
    change: { region?: string; address?: DataBoxAddressFields; instruction?: string },
  ): Promise<DataBoxEmulatorJob> {
    return this.call('POST', `${this.dataBoxJobPath(subscriptionId, resourceGroup, jobName)}/datacenter-address`, change);
  }

  async dataBoxRegions(): Promise<DataBoxRegionInfo[]> {
    return (await this.call<{ regions: DataBoxRegionInfo[] }>('GET', '/databox/regions')).regions;
  }

  /** Changes a region: sku DataBoxCustomerDisk availability, datacenter address or instruction, return carriers. */
  dataBoxSetRegion(region: string, change: DataBoxRegionChange): Promise<DataBoxRegionInfo> {
    return this.call('POST', `/databox/regions/${encodeURIComponent(region)}`, change);
  }

  /** Makes sku DataBoxCustomerDisk unavailable (false) or available (true) for storage accounts in `region`. */
  dataBoxSetSkuAvailable(region: string, available: boolean): Promise<DataBoxRegionInfo> {
    return this.dataBoxSetRegion(region, { customerDiskAvailable: available });
  }

  /** Back to the catalogue's values for the region. */
  dataBoxResetRegion(region: string): Promise<DataBoxRegionInfo> {
    return this.call('DELETE', `/databox/regions/${encodeURIComponent(region)}`);
  }

  dataBoxSettings(): Promise<DataBoxSettings> {
    return this.call('GET', '/databox/settings');
  }

  /** How Create/Update/Delete answer (all three unless `operations` is given). */
  dataBoxSetLro(setting: Partial<DataBoxLroSetting> & { operations?: DataBoxLroOperation[] }): Promise<DataBoxSettings> {
    return this.call('POST', '/databox/settings', { lro: setting });
  }

  /** What happens to a job left 14 days without shipping information: auto-cancel (default) or delete. */
  dataBoxSetExpiry(expiry: 'cancel' | 'delete'): Promise<DataBoxSettings> {
    return this.call('POST', '/databox/settings', { expiry });
  }

  /** Clears jobs of both APIs, faults, the request log, location and region overrides, Data Box settings and the clock offset. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }
}
