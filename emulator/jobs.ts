import { randomUUID } from 'node:crypto';
import { ArmJobs } from './arm-jobs';
import { ArmError } from './errors';
import { armTimestamp, caseInsensitiveEq } from './format';
import type { Caller } from './http';
import { advanceJob, stateIndex, type AdvanceBody } from './jobs-advance';
import { JOB_RESOURCE_TYPE, jobFilter, renderJob, type JobResponseBody } from './jobs-view';
import { LocationCatalogue, siteAddressOf, type Site } from './locations';
import {
  BITLOCKER_KEY_RE,
  MANIFEST_HASH_RE,
  PutJobParametersSchema,
  UpdateJobParametersSchema,
  validBody,
  type DriveInput,
  type FieldIssue,
  type JobDetailsInput,
} from './schemas';
import { Store, jobKey, type JobState, type ShippingInfo, type StoredDrive, type StoredJob } from './store';

export const MAX_DRIVES = 10;
/** Job names: 3-64 characters, a letter first, then letters, digits, '-' or '_' (portal: letters, digits, hyphens). */
export const JOB_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{2,63}$/;
const STORAGE_ACCOUNT_ID_RE =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.(?:ClassicStorage|Storage)\/storageAccounts\/[a-z0-9]{3,24}$/i;

export class JobService extends ArmJobs<StoredJob> {
  constructor(
    readonly store: Store,
    readonly locations: LocationCatalogue,
    readonly cancelWindow: JobState[],
  ) {
    super(JOB_RESOURCE_TYPE, store.jobs);
  }

  /** Jobs_List*: `$filter` narrows the subscription's (or resource group's) jobs. */
  override list(sub: string, rg: string | undefined, filter?: string): StoredJob[] {
    const inScope = super.list(sub, rg);
    return filter === undefined || filter.trim() === '' ? inScope : inScope.filter(jobFilter(filter, this.locations));
  }

  render(job: StoredJob): JobResponseBody {
    return renderJob(job, this.locations);
  }

  // ---------------------------------------------------------------- Jobs_Create

  create(sub: string, rg: string, name: string, rawBody: unknown, caller: Caller): { status: 200 | 201; job: StoredJob } {
    this.checkResourceGroup(rg);
    if (!JOB_NAME_RE.test(name)) {
      throw new ArmError(
        400,
        'InvalidResourceName',
        `jobName: '${name}' is invalid; job names are 3-64 characters, start with a letter and contain only letters, digits, '-' and '_'`,
        'jobName',
      );
    }
    const body = validBody(PutJobParametersSchema, rawBody);
    const issues: FieldIssue[] = [];
    const props: JobDetailsInput = body.properties ?? {};
    if (body.properties === undefined) issues.push({ path: 'properties', message: 'is required' });

    let site: Site | undefined;
    if (body.location === undefined || body.location.trim() === '') issues.push({ path: 'location', message: 'is required' });
    else {
      site = this.locations.find(body.location);
      if (!site) issues.push({ path: 'location', message: `'${body.location}' is not an Import/Export location (see GET /providers/Microsoft.ImportExport/locations)` });
    }

    if (props.storageAccountId === undefined) issues.push({ path: 'properties.storageAccountId', message: 'is required' });
    else if (!STORAGE_ACCOUNT_ID_RE.test(props.storageAccountId)) {
      issues.push({ path: 'properties.storageAccountId', message: 'must be a storage account resource id (/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name})' });
    }

    let jobType: 'Import' | 'Export' | undefined;
    if (props.jobType === undefined) issues.push({ path: 'properties.jobType', message: 'is required' });
    else if (caseInsensitiveEq(props.jobType, 'Import')) jobType = 'Import';
    else if (caseInsensitiveEq(props.jobType, 'Export')) jobType = 'Export';
    else issues.push({ path: 'properties.jobType', message: "must be 'Import' or 'Export'" });

    const logLevel = this.checkLogLevel(props.logLevel, 'properties.logLevel', issues);

    let drives: StoredDrive[] | undefined;
    if (jobType === 'Import') {
      if (props.export !== undefined) issues.push({ path: 'properties.export', message: 'must not be set for an import job' });
      if (props.driveList === undefined) issues.push({ path: 'properties.driveList', message: 'is required for an import job (1 to 10 drives)' });
      else drives = this.validateImportDrives(props.driveList, 'properties.driveList', issues);
    } else if (jobType === 'Export') {
      const ex = props.export;
      const hasList = (ex?.blobList?.blobPath?.length ?? 0) + (ex?.blobList?.blobPathPrefix?.length ?? 0) > 0;
      if (ex === undefined) issues.push({ path: 'properties.export', message: 'is required for an export job' });
      else if (!hasList && !ex.blobListBlobPath) {
        issues.push({ path: 'properties.export', message: 'must have blobList.blobPath, blobList.blobPathPrefix or blobListBlobPath' });
      }
      if (props.driveList !== undefined) {
        if (props.driveList.length > MAX_DRIVES) issues.push({ path: 'properties.driveList', message: `must have at most ${MAX_DRIVES} drives` });
        drives = props.driveList.map((d, i) => {
          if (!d.driveId) issues.push({ path: `properties.driveList[${i}].driveId`, message: 'is required' });
          return { driveId: d.driveId ?? '', state: 'Received' as const };
        });
      }
    }

    const ek = props.encryptionKey;
    if (ek?.kekType === 'CustomerManaged' && !ek.kekUrl) {
      issues.push({ path: 'properties.encryptionKey.kekUrl', message: 'is required when kekType is CustomerManaged' });
    }
    if (site && props.deliveryPackage) {
      const shipTo = this.locations.shippingSite(site, this.store.locationOverrides);
      this.checkCarrier(shipTo, props.deliveryPackage.carrierName, 'properties.deliveryPackage.carrierName', issues);
    }

    if (issues.length > 0) throw ArmError.validation(issues);
    if (!site || !jobType || props.storageAccountId === undefined) throw new Error('unreachable');

    const existing = this.find(sub, rg, name);
    if (existing && existing.properties.state !== 'Creating') {
      throw new ArmError(
        409,
        'Conflict',
        `Job '${name}' already exists in state '${existing.properties.state}'; only a job in 'Creating' can be replaced. Delete the job first (possible once it is Completed).`,
      );
    }

    const now = this.store.now();
    const ts = armTimestamp(now);
    const shipTo = this.locations.shippingSite(site, this.store.locationOverrides);
    const identityType = body.identity?.type ?? 'None';
    const job: StoredJob = {
      subscriptionId: existing?.subscriptionId ?? sub,
      resourceGroup: existing?.resourceGroup ?? rg,
      name: existing?.name ?? name,
      location: site.shortName,
      identity:
        identityType === 'None'
          ? { type: 'None' }
          : { type: identityType, principalId: existing?.identity.principalId ?? randomUUID(), tenantId: existing?.identity.tenantId ?? randomUUID() },
      systemData: {
        createdBy: existing?.systemData.createdBy ?? caller.name,
        createdByType: existing?.systemData.createdByType ?? caller.type,
        createdAt: existing?.systemData.createdAt ?? ts,
        lastModifiedBy: caller.name,
        lastModifiedByType: caller.type,
        lastModifiedAt: ts,
      },
      properties: {
        storageAccountId: props.storageAccountId,
        jobType,
        ...(props.returnAddress ? { returnAddress: props.returnAddress } : {}),
        ...(props.returnShipping ? { returnShipping: props.returnShipping } : {}),
        shippingInformation: this.shippingInfoFor(shipTo),
        ...(props.deliveryPackage ? { deliveryPackage: props.deliveryPackage } : {}),
        diagnosticsPath: props.diagnosticsPath ?? 'waimportexport',
        logLevel: logLevel ?? 'Error',
        backupDriveManifest: props.backupDriveManifest ?? false,
        state: 'Creating',
        cancelRequested: false,
        ...(drives ? { driveList: drives } : {}),
        ...(jobType === 'Export' && props.export ? { export: props.export } : {}),
        provisioningState: 'Succeeded',
        encryptionKey: {
          kekType: ek?.kekType ?? 'MicrosoftManaged',
          ...(ek?.kekUrl ? { kekUrl: ek.kekUrl } : {}),
          ...(ek?.kekVaultResourceID ? { kekVaultResourceID: ek.kekVaultResourceID } : {}),
        },
      },
      shippingSite: shipTo.shortName,
      seq: existing?.seq ?? this.store.nextSeq(),
      creatingSince: ts,
    };
    if (body.tags) job.tags = body.tags;
    this.store.jobs.set(jobKey(sub, rg, name), job);
    this.store.save();
    return { status: existing ? 200 : 201, job };
  }

  private shippingInfoFor(site: Site): ShippingInfo {
    return { ...siteAddressOf(site), additionalInformation: site.additionalShippingInformation };
  }

  private checkLogLevel(value: string | undefined, path: string, issues: FieldIssue[]): string | undefined {
    if (value === undefined) return undefined;
    if (caseInsensitiveEq(value, 'Error')) return 'Error';
    if (caseInsensitiveEq(value, 'Verbose')) return 'Verbose';
    issues.push({ path, message: "must be 'Error' or 'Verbose'" });
    return undefined;
  }

  private checkCarrier(site: Site, carrier: string, path: string, issues: FieldIssue[]): void {
    if (!site.supportedCarriers.some((c) => caseInsensitiveEq(c, carrier))) {
      issues.push({ path, message: `carrier '${carrier}' is not supported at ${site.displayName} (supported: ${site.supportedCarriers.join(', ')})` });
    }
  }

  private validateImportDrives(list: DriveInput[], base: string, issues: FieldIssue[]): StoredDrive[] {
    if (list.length < 1) issues.push({ path: base, message: 'must have at least 1 drive' });
    if (list.length > MAX_DRIVES) issues.push({ path: base, message: `must have at most ${MAX_DRIVES} drives (has ${list.length})` });
    const seen = new Set<string>();
    return list.map((d, i) => {
      const p = `${base}[${i}]`;
      if (d.driveId === undefined || d.driveId.trim() === '') issues.push({ path: `${p}.driveId`, message: 'is required' });
      else if (/\s/.test(d.driveId)) issues.push({ path: `${p}.driveId`, message: 'must not contain spaces (the drive serial number without spaces)' });
      else if (seen.has(d.driveId.toLowerCase())) issues.push({ path: `${p}.driveId`, message: `duplicate drive id '${d.driveId}'` });
      else seen.add(d.driveId.toLowerCase());
      if (d.bitLockerKey === undefined) issues.push({ path: `${p}.bitLockerKey`, message: 'is required' });
      else if (!BITLOCKER_KEY_RE.test(d.bitLockerKey)) issues.push({ path: `${p}.bitLockerKey`, message: 'must be 8 groups of 6 digits separated by dashes' });
      if (d.manifestFile === undefined || d.manifestFile.trim() === '') issues.push({ path: `${p}.manifestFile`, message: 'is required' });
      if (d.manifestHash === undefined) issues.push({ path: `${p}.manifestHash`, message: 'is required' });
      else if (!MANIFEST_HASH_RE.test(d.manifestHash)) issues.push({ path: `${p}.manifestHash`, message: 'must be a hex MD5 (32 hex digits) of the manifest file' });
      const drive: StoredDrive = {
        driveId: d.driveId ?? '',
        ...(d.bitLockerKey !== undefined ? { bitLockerKey: d.bitLockerKey } : {}),
        ...(d.manifestFile !== undefined ? { manifestFile: d.manifestFile } : {}),
        ...(d.manifestHash !== undefined ? { manifestHash: d.manifestHash } : {}),
        ...(d.driveHeaderHash !== undefined ? { driveHeaderHash: d.driveHeaderHash } : {}),
        state: 'Specified',
      };
      return drive;
    });
  }

  // ---------------------------------------------------------------- Jobs_Update

  update(sub: string, rg: string, name: string, rawBody: unknown, caller: Caller): StoredJob {
    const job = this.mustFind(sub, rg, name);
    const body = validBody(UpdateJobParametersSchema, rawBody);
    const p = body.properties ?? {};
    const state = job.properties.state;
    const issues: FieldIssue[] = [];
    const conflicts: FieldIssue[] = [];
    const before = (limit: JobState) => stateIndex(state) < stateIndex(limit);

    // state: only "" (no change) or "Shipping", only from Creating.
    let toShipping = false;
    if (p.state !== undefined && p.state !== '') {
      if (!caseInsensitiveEq(p.state, 'Shipping')) issues.push({ path: 'properties.state', message: `can only be set to 'Shipping' (got '${p.state}')` });
      else if (state !== 'Creating') conflicts.push({ path: 'properties.state', message: `can only be set to 'Shipping' while the job is 'Creating' (the job is '${state}')` });
      else if (job.properties.cancelRequested) conflicts.push({ path: 'properties.state', message: 'cannot be set to Shipping: cancellation was requested for this job' });
      else toShipping = true;
    }
    if (p.cancelRequested !== undefined) {
      if (p.cancelRequested !== true) issues.push({ path: 'properties.cancelRequested', message: 'can only be set to true' });
      else if (!this.cancelWindow.includes(state)) {
        conflicts.push({ path: 'properties.cancelRequested', message: `the job can no longer be cancelled in state '${state}' (cancellable in: ${this.cancelWindow.join(', ')})` });
      }
    }
    const logLevel = this.checkLogLevel(p.logLevel, 'properties.logLevel', issues);
    if (p.returnAddress && !before('Packaging')) conflicts.push({ path: 'properties.returnAddress', message: `cannot be changed once the job is '${state}'` });
    if (p.returnShipping && !before('Packaging')) conflicts.push({ path: 'properties.returnShipping', message: `cannot be changed once the job is '${state}'` });
    if (p.logLevel !== undefined && !before('Packaging')) conflicts.push({ path: 'properties.logLevel', message: `cannot be changed once the job is '${state}'` });
    if (p.backupDriveManifest !== undefined && !before('Packaging')) conflicts.push({ path: 'properties.backupDriveManifest', message: `cannot be changed once the job is '${state}'` });
    if (p.deliveryPackage && !before('Received')) conflicts.push({ path: 'properties.deliveryPackage', message: `cannot be changed once the drives were received (the job is '${state}')` });
    if (p.deliveryPackage) {
      const site = this.locations.find(job.shippingSite);
      if (site) this.checkCarrier(site, p.deliveryPackage.carrierName, 'properties.deliveryPackage.carrierName', issues);
    }
    let drives: StoredDrive[] | undefined;
    if (p.driveList !== undefined) {
      if (state !== 'Creating') conflicts.push({ path: 'properties.driveList', message: `can only be changed while the job is 'Creating' (the job is '${state}')` });
      else if (job.properties.jobType === 'Import') {
        // A PATCH may omit the key of a drive already known: the stored key is kept.
        const known = new Map((job.properties.driveList ?? []).map((d) => [d.driveId.toLowerCase(), d.bitLockerKey]));
        const list = p.driveList.map((d) => {
          const key = d.driveId !== undefined ? known.get(d.driveId.toLowerCase()) : undefined;
          return d.bitLockerKey === undefined && key !== undefined ? { ...d, bitLockerKey: key } : d;
        });
        drives = this.validateImportDrives(list, 'properties.driveList', issues);
      }
    }
    if (toShipping) {
      if (!(p.returnAddress ?? job.properties.returnAddress)) issues.push({ path: 'properties.returnAddress', message: "is required to set state to 'Shipping'" });
      if (!(p.deliveryPackage ?? job.properties.deliveryPackage)) issues.push({ path: 'properties.deliveryPackage', message: "is required to set state to 'Shipping'" });
    }
    if (issues.length > 0) throw ArmError.validation(issues);
    if (conflicts.length > 0) throw ArmError.validation(conflicts, 'InvalidJobState', 409);

    const jp = job.properties;
    if (body.tags) job.tags = body.tags;
    if (p.returnAddress) jp.returnAddress = p.returnAddress;
    if (p.returnShipping) jp.returnShipping = p.returnShipping;
    if (p.deliveryPackage) jp.deliveryPackage = p.deliveryPackage;
    if (logLevel) jp.logLevel = logLevel;
    if (p.backupDriveManifest !== undefined) jp.backupDriveManifest = p.backupDriveManifest;
    if (drives) jp.driveList = drives;
    if (p.cancelRequested === true) jp.cancelRequested = true;
    const now = this.store.now();
    const ts = armTimestamp(now);
    if (toShipping) jp.state = 'Shipping';
    if (jp.state === 'Creating') job.creatingSince = ts; // a PATCH while Creating resets the 2-week expiry
    job.systemData = { ...job.systemData, lastModifiedBy: caller.name, lastModifiedByType: caller.type, lastModifiedAt: ts };
    this.store.save();
    return job;
  }

  // ---------------------------------------------------------------- Jobs_Delete

  delete(sub: string, rg: string, name: string): void {
    const job = this.mustFind(sub, rg, name);
    const state = job.properties.state;
    if (state !== 'Creating' && state !== 'Completed') {
      throw new ArmError(409, 'InvalidJobState', `Job '${job.name}' is in state '${state}'; only jobs in 'Creating' or 'Completed' can be deleted.`);
    }
    this.store.jobs.delete(jobKey(sub, rg, name));
    this.store.save();
  }

  // ---------------------------------------------------------------- BitLockerKeys_List

  listBitLockerKeys(sub: string, rg: string, name: string): Array<{ driveId: string; bitLockerKey: string }> {
    const job = this.mustFind(sub, rg, name);
    return (job.properties.driveList ?? [])
      .filter((d): d is StoredDrive & { bitLockerKey: string } => d.bitLockerKey !== undefined)
      .map((d) => ({ driveId: d.driveId, bitLockerKey: d.bitLockerKey }));
  }

  advance(sub: string, rg: string, name: string, body: AdvanceBody): StoredJob {
    const job = this.mustFind(sub, rg, name);
    advanceJob(job, body, this.store.now(), this.locations);
    this.store.save();
    return job;
  }
}
