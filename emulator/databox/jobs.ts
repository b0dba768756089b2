import { randomUUID } from 'node:crypto';
import { ArmJobs, RESOURCE_GROUP_RE } from '../arm-jobs';
import { ArmError } from '../errors';
import { armTimestamp, caseInsensitiveEq } from '../format';
import type { Caller } from '../http';
import { validBody, type FieldIssue } from '../schemas';
import { jobKey, type DataBoxState, type Store } from '../store';
import { advanceJob, cancelJob, expiryAction, EXPIRY_CANCELLATION_REASON, flags, initialStages, isTerminal, markShipped, type DataBoxAdvance } from './lifecycle';
import { JOB_RESOURCE_TYPE, type DataBoxJob, type StoredDisk } from './model';
import type { RegionCatalogue } from './regions';
import {
  CancellationReasonSchema,
  DISK_SERIAL_RE,
  JobResourceInputSchema,
  JobUpdateInputSchema,
  MANIFEST_HASH_RE,
  MarkDevicesShippedSchema,
  MitigateSchema,
  ShipmentPickUpSchema,
  bitLockerKeyProblem,
  type JobResourceInput,
} from './schemas';

/** Job names (swagger): 3-24 characters of letters, digits, '_', '-', '.'. */
export const JOB_NAME_RE = /^[-\w.]{3,24}$/;
const STORAGE_ACCOUNT_ID_RE = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i;

function storageAccountIdProblem(id: string): string | undefined {
  const m = STORAGE_ACCOUNT_ID_RE.exec(id);
  if (!m) return 'must be a storage account resource id (/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name})';
  if (!RESOURCE_GROUP_RE.test(m[1] ?? '')) return `names resource group '${m[1] ?? ''}', which is not a valid resource group name`;
  if (!/^[a-z0-9]{3,24}$/.test(m[2] ?? '')) return `names storage account '${m[2] ?? ''}'; storage account names are 3-24 lower-case letters and digits`;
  return undefined;
}
/** A sanity bound: the service states no per-job disk limit for this sku. */
const MAX_DISKS = 100;

/** A system-assigned identity gets a principal and tenant when the service creates it. */
function withPrincipal(identity: NonNullable<DataBoxJob['identity']>, known?: DataBoxJob['identity']): DataBoxJob['identity'] {
  if (!/SystemAssigned/i.test(identity.type ?? '')) return { ...identity };
  return { ...identity, principalId: known?.principalId ?? randomUUID(), tenantId: known?.tenantId ?? randomUUID() };
}

/** Microsoft.DataBox jobs: validation, the customer-disk status machine's client-facing operations, expiry. */
export class DataBoxJobs extends ArmJobs<DataBoxJob> {
  private lastExpiry = { wallMs: 0, offsetMs: Number.NaN };

  constructor(
    readonly store: Store,
    readonly regions: RegionCatalogue,
  ) {
    super(JOB_RESOURCE_TYPE, store.databox.jobs);
  }

  private get state(): DataBoxState {
    return this.store.databox;
  }

  private checkName(name: string): void {
    if (!JOB_NAME_RE.test(name)) {
      throw new ArmError(400, 'InvalidResourceName', `jobName: '${name.slice(0, 100)}' is invalid; job names are 3-24 characters of letters, digits, '-', '_' and '.'`, 'jobName');
    }
  }

  private customerDiskIssues(body: JobResourceInput, carriers: string[], issues: FieldIssue[]): StoredDisk[] {
    const d = body.properties.details;
    const base = 'properties.details';
    if (body.properties.transferType !== 'ImportToAzure') issues.push({ path: 'properties.transferType', message: "must be 'ImportToAzure' for sku DataBoxCustomerDisk" });
    if (!d.shippingAddress) issues.push({ path: `${base}.shippingAddress`, message: 'is required (the address the disks are returned to)' });
    const ret = d.returnToCustomerPackageDetails;
    if (!ret) issues.push({ path: `${base}.returnToCustomerPackageDetails`, message: 'is required for sku DataBoxCustomerDisk' });
    else {
      if (!ret.carrierName?.trim()) issues.push({ path: `${base}.returnToCustomerPackageDetails.carrierName`, message: 'is required' });
      else if (!carriers.some((c) => caseInsensitiveEq(c, ret.carrierName ?? ''))) {
        issues.push({ path: `${base}.returnToCustomerPackageDetails.carrierName`, message: `carrier '${ret.carrierName}' is not supported by the datacenter (supported: ${carriers.join(', ')})` });
      }
      if (!ret.carrierAccountNumber?.trim()) issues.push({ path: `${base}.returnToCustomerPackageDetails.carrierAccountNumber`, message: 'is required' });
    }
    const imports = d.dataImportDetails ?? [];
    if (imports.length === 0) issues.push({ path: `${base}.dataImportDetails`, message: 'must name the storage account to import into' });
    imports.forEach((x, i) => {
      const p = `${base}.dataImportDetails[${i}].accountDetails`;
      if (x.accountDetails.dataAccountType !== 'StorageAccount') issues.push({ path: `${p}.dataAccountType`, message: "must be 'StorageAccount' for sku DataBoxCustomerDisk" });
      else if (x.accountDetails.storageAccountId === undefined) issues.push({ path: `${p}.storageAccountId`, message: 'is required' });
      else {
        const problem = storageAccountIdProblem(x.accountDetails.storageAccountId);
        if (problem) issues.push({ path: `${p}.storageAccountId`, message: problem });
      }
    });
    const entries = Object.entries(d.importDiskDetailsCollection ?? {});
    const coll = `${base}.importDiskDetailsCollection`;
    if (entries.length === 0) issues.push({ path: coll, message: 'must list at least one disk, keyed by drive serial number' });
    if (entries.length > MAX_DISKS) issues.push({ path: coll, message: `must list at most ${MAX_DISKS} disks` });
    const seen = new Set<string>();
    return entries.map(([serial, disk]) => {
      const p = `${coll}.${serial}`;
      if (!DISK_SERIAL_RE.test(serial)) issues.push({ path: p, message: 'the key must be the drive serial number: 1-64 letters, digits, "_", "-" or ".", no spaces' });
      else if (seen.has(serial.toLowerCase())) issues.push({ path: p, message: `duplicate drive serial number '${serial}'` });
      seen.add(serial.toLowerCase());
      if (disk.manifestFile.trim() === '') issues.push({ path: `${p}.manifestFile`, message: 'must not be empty' });
      if (!MANIFEST_HASH_RE.test(disk.manifestHash)) issues.push({ path: `${p}.manifestHash`, message: 'must be the Base16-encoded MD5 of the manifest file (32 hex digits)' });
      const keyProblem = bitLockerKeyProblem(disk.bitLockerKey);
      if (keyProblem) issues.push({ path: `${p}.bitLockerKey`, message: keyProblem });
      return {
        serialNumber: serial,
        manifestFile: disk.manifestFile,
        manifestHash: disk.manifestHash.toUpperCase(),
        bitLockerKey: disk.bitLockerKey,
        progress: {
          copyStatus: 'NotStarted',
          bytesProcessed: 0,
          totalBytesToProcess: 0,
          filesProcessed: 0,
          totalFilesToProcess: 0,
          invalidFilesProcessed: 0,
          invalidFileBytesUploaded: 0,
          renamedContainerCount: 0,
          filesErroredOut: 0,
          directoriesErroredOut: 0,
          invalidDirectoriesProcessed: 0,
          isEnumerationInProgress: false,
        },
      };
    });
  }

  /** Jobs_Create: validates and stores the job (the LRO wrapper decides how the answer looks). */
  create(sub: string, rg: string, name: string, raw: unknown, caller: Caller): DataBoxJob {
    this.checkResourceGroup(rg);
    this.checkName(name);
    const body = validBody(JobResourceInputSchema, raw);
    const details = body.properties.details;
    const issues: FieldIssue[] = [];
    const region = this.regions.find(body.location);
    if (!region) issues.push({ path: 'location', message: `'${body.location}' is not a region the Data Box service serves` });
    if (details.jobDetailsType !== body.sku.name) {
      issues.push({ path: 'properties.details.jobDetailsType', message: `must equal sku.name ('${body.sku.name}')` });
    }
    const overrides = this.state.regionOverrides;
    const carriers = region ? this.regions.carriers(region, overrides) : [];
    const customerDisk = body.sku.name === 'DataBoxCustomerDisk';
    const disks = customerDisk ? this.customerDiskIssues(body, carriers, issues) : [];
    if (issues.length > 0) throw ArmError.validation(issues);
    if (!region) throw new Error('unreachable: region was validated');
    if (customerDisk && !this.regions.customerDiskAvailable(region, overrides)) {
      throw new ArmError(400, 'SkuNotAvailable', `sku.name: 'DataBoxCustomerDisk' is not available for storage accounts in '${region.name}' at the moment.`, 'sku.name');
    }
    if (this.find(sub, rg, name)) {
      throw new ArmError(409, 'Conflict', `A job named '${name}' already exists in resource group '${rg}'; a job cannot be changed with PUT (use PATCH) or re-created under the same name.`);
    }
    const now = this.store.now();
    const ts = armTimestamp(now);
    const serving = this.regions.serving(region);
    const job: DataBoxJob = {
      subscriptionId: sub,
      resourceGroup: rg,
      name,
      location: region.name,
      ...(body.tags ? { tags: body.tags } : {}),
      sku: body.sku,
      ...(body.identity ? { identity: withPrincipal(body.identity) } : {}),
      systemData: { createdBy: caller.name, createdByType: caller.type, createdAt: ts, lastModifiedBy: caller.name, lastModifiedByType: caller.type, lastModifiedAt: ts },
      transferType: body.properties.transferType,
      deliveryType: body.properties.deliveryType ?? 'NonScheduled',
      ...(body.properties.deliveryInfo ? { deliveryInfo: body.properties.deliveryInfo } : {}),
      details,
      ...initialStages(body, now),
      startTime: ts,
      datacenterAddress: this.regions.datacenterAddress(region, overrides),
      dataCenterCode: serving.dataCenterCode,
      disks,
      copyLogs: false,
      actions: [],
      jobId: randomUUID(),
      seq: this.store.nextSeq(),
      createdAt: ts,
    };
    this.state.jobs.set(jobKey(sub, rg, name), job);
    this.store.save();
    return job;
  }

  /** Jobs_Update (PATCH): merges what may still change, refuses (409, naming the field) what may not. */
  update(sub: string, rg: string, name: string, raw: unknown, caller: Caller): DataBoxJob {
    const job = this.mustFind(sub, rg, name);
    const body = validBody(JobUpdateInputSchema, raw);
    const d = body.properties?.details ?? {};
    const f = flags(job);
    const conflicts: FieldIssue[] = [];
    const base = 'properties.details';
    if (isTerminal(job.status) && Object.keys(d).length > 0) conflicts.push({ path: base, message: `cannot be changed: the job is '${job.status}'` });
    else if (!f.isShippingAddressEditable) {
      for (const k of ['shippingAddress', 'returnToCustomerPackageDetails', 'reverseShippingDetails'] as const) {
        if (d[k] !== undefined) conflicts.push({ path: `${base}.${k}`, message: `cannot be changed once the job is '${job.status}' (isShippingAddressEditable is false)` });
      }
    }
    const issues: FieldIssue[] = [];
    const ret = d.returnToCustomerPackageDetails;
    if (ret?.carrierName !== undefined && job.sku.name === 'DataBoxCustomerDisk') {
      const region = this.regions.find(job.location);
      const carriers = region ? this.regions.carriers(region, this.state.regionOverrides) : [];
      if (!carriers.some((c) => caseInsensitiveEq(c, ret.carrierName ?? ''))) {
        issues.push({ path: `${base}.returnToCustomerPackageDetails.carrierName`, message: `carrier '${ret.carrierName}' is not supported by the datacenter (supported: ${carriers.join(', ')})` });
      }
    }
    if (issues.length > 0) throw ArmError.validation(issues);
    if (conflicts.length > 0) throw ArmError.validation(conflicts, 'InvalidJobState', 409);
    if (body.tags) job.tags = body.tags;
    if (body.identity) job.identity = withPrincipal({ ...job.identity, ...body.identity }, job.identity);
    const jd = job.details;
    if (d.contactDetails) jd.contactDetails = d.contactDetails;
    if (d.shippingAddress) jd.shippingAddress = d.shippingAddress;
    if (d.reverseShippingDetails) jd.reverseShippingDetails = d.reverseShippingDetails;
    if (d.preferences) jd.preferences = d.preferences;
    if (d.keyEncryptionKey) jd.keyEncryptionKey = d.keyEncryptionKey;
    if (ret) jd.returnToCustomerPackageDetails = { ...jd.returnToCustomerPackageDetails, ...ret };
    job.systemData = { ...job.systemData, lastModifiedBy: caller.name, lastModifiedByType: caller.type, lastModifiedAt: armTimestamp(this.store.now()) };
    this.store.save();
    return job;
  }

  /** Jobs_Delete: allowed when isDeletable; an unknown job is already deleted (ARM answers 204). */
  delete(sub: string, rg: string, name: string): boolean {
    this.checkResourceGroup(rg);
    const job = this.find(sub, rg, name);
    if (!job) return false;
    if (!flags(job).isDeletable) {
      throw new ArmError(409, 'InvalidJobState', `Job '${job.name}' is '${job.status}' and cannot be deleted (isDeletable is false); cancel it first or wait until it is completed.`);
    }
    this.state.jobs.delete(jobKey(sub, rg, name));
    this.store.save();
    return true;
  }

  /** Jobs_MarkDevicesShipped: the inbound carrier and tracking id; repeating the same values changes nothing. */
  markDevicesShipped(sub: string, rg: string, name: string, raw: unknown): void {
    const job = this.mustFind(sub, rg, name);
    const pkg = validBody(MarkDevicesShippedSchema, raw).deliverToDcPackageDetails;
    const known = job.deliverToDcPackageDetails;
    if (known) {
      if (caseInsensitiveEq(known.carrierName, pkg.carrierName) && known.trackingId === pkg.trackingId) return;
      throw ArmError.validation(
        [{ path: 'deliverToDcPackageDetails', message: `the devices were already marked shipped with ${known.carrierName} tracking id ${known.trackingId}; the shipment cannot be changed` }],
        'InvalidJobState',
        409,
      );
    }
    const customerDisk = job.sku.name === 'DataBoxCustomerDisk';
    if (isTerminal(job.status) || (customerDisk && job.status !== 'AwaitingShipmentDetails')) {
      throw ArmError.validation([{ path: 'deliverToDcPackageDetails', message: `devices can only be marked shipped while the job awaits shipment details (the job is '${job.status}')` }], 'InvalidJobState', 409);
    }
    job.deliverToDcPackageDetails = { carrierName: pkg.carrierName, trackingId: pkg.trackingId };
    markShipped(job, this.store.now());
    this.store.save();
  }

  /** Jobs_Cancel: only while isCancellable. */
  cancel(sub: string, rg: string, name: string, raw: unknown): void {
    const job = this.mustFind(sub, rg, name);
    const { reason } = validBody(CancellationReasonSchema, raw);
    if (!flags(job).isCancellable) {
      throw new ArmError(409, 'InvalidJobState', `Job '${job.name}' is '${job.status}' and can no longer be cancelled (isCancellable is false).`, 'reason');
    }
    cancelJob(job, reason, this.store.now());
    this.store.save();
  }

  /** Jobs_ListCredentials: the disk secrets (BitLocker keys given at create) and the return carrier account. */
  listCredentials(sub: string, rg: string, name: string): unknown[] {
    const job = this.mustFind(sub, rg, name);
    const secrets: Record<string, unknown> = { jobSecretsType: job.sku.name };
    if (job.sku.name === 'DataBoxCustomerDisk') {
      secrets.diskSecrets = job.disks.map((d) => ({ diskSerialNumber: d.serialNumber, bitLockerKey: d.bitLockerKey }));
      const account = job.details.returnToCustomerPackageDetails?.carrierAccountNumber;
      if (account !== undefined) secrets.carrierAccountNumber = account;
    }
    secrets.dcAccessSecurityCode = {};
    return [{ jobName: job.name, jobSecrets: secrets }];
  }

  mitigate(sub: string, rg: string, name: string, raw: unknown): void {
    const job = this.mustFind(sub, rg, name);
    const body = validBody(MitigateSchema, raw);
    const code = body.customerResolutionCode ?? Object.values(body.serialNumberCustomerResolutionMap ?? {})[0];
    if (code === undefined) throw ArmError.field('customerResolutionCode', 'or serialNumberCustomerResolutionMap is required');
    job.lastMitigationActionOnJob = { actionDateTimeInUtc: armTimestamp(this.store.now()), isPerformedByCustomer: true, customerResolution: code };
    job.actions = [];
    delete job.error;
    this.store.save();
  }

  bookShipmentPickUp(sub: string, rg: string, name: string, raw: unknown): { confirmationNumber: string; readyByTime: string } {
    this.mustFind(sub, rg, name);
    const body = validBody(ShipmentPickUpSchema, raw);
    return { confirmationNumber: randomUUID().slice(0, 8).toUpperCase(), readyByTime: body.startTime };
  }

  /** Control API: the datacenter moves the job forward. */
  advance(sub: string, rg: string, name: string, body: DataBoxAdvance): DataBoxJob {
    const job = this.mustFind(sub, rg, name);
    const region = this.regions.find(job.location);
    advanceJob(job, body, this.store.now(), region ? this.regions.carriers(region, this.state.regionOverrides) : []);
    this.store.save();
    return job;
  }

  /**
   * Applies the service timers. A scan costs O(jobs), so it runs at most once a second of real time unless the virtual
   * clock moved (the timers are days long).
   */
  expire(force = false): void {
    const wall = Date.now();
    if (!force && this.lastExpiry.offsetMs === this.store.clockOffsetMs && wall - this.lastExpiry.wallMs < 1000) return;
    this.lastExpiry = { wallMs: wall, offsetMs: this.store.clockOffsetMs };
    const now = this.store.now();
    let changed = false;
    for (const [k, job] of this.state.jobs) {
      const action = expiryAction(job, now.getTime());
      if (action === 'delete' || (action === 'expire' && this.state.settings.expiry === 'delete')) {
        this.state.jobs.delete(k);
        changed = true;
      } else if (action === 'expire') {
        cancelJob(job, EXPIRY_CANCELLATION_REASON, now);
        changed = true;
      }
    }
    if (changed) this.store.save();
  }
}
