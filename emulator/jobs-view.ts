import { ArmError } from './errors';
import { caseInsensitiveEq } from './format';
import type { LocationCatalogue } from './locations';
import type { StoredJob, SystemData } from './store';

export const JOB_RESOURCE_TYPE = 'Microsoft.ImportExport/jobs';

export interface JobResponseBody {
  id: string;
  name: string;
  type: typeof JOB_RESOURCE_TYPE;
  location: string;
  tags?: Record<string, string>;
  systemData: SystemData;
  identity: StoredJob['identity'];
  properties: Record<string, unknown>;
}

/** `$filter` subset: `<field> eq '<value>'` clauses joined by `and`; fields name, location, properties/state, properties/jobType. */
export function jobFilter(filter: string, locations: LocationCatalogue): (j: StoredJob) => boolean {
  const clauses = filter.split(/\s+and\s+/i);
  const preds: Array<(j: StoredJob) => boolean> = [];
  for (const clause of clauses) {
    const m = /^\s*([A-Za-z/]+)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
    if (!m) throw ArmError.field('$filter', `unsupported expression '${clause.trim()}' (supported: <field> eq '<value>' [and ...])`);
    const field = (m[1] ?? '').toLowerCase();
    const value = (m[2] ?? '').replace(/''/g, "'");
    switch (field) {
      case 'name':
        preds.push((j) => caseInsensitiveEq(j.name, value));
        break;
      case 'location': {
        const site = locations.find(value);
        preds.push((j) => site !== undefined && j.location === site.shortName);
        break;
      }
      case 'properties/state':
      case 'state':
        preds.push((j) => caseInsensitiveEq(j.properties.state, value));
        break;
      case 'properties/jobtype':
      case 'jobtype':
        preds.push((j) => caseInsensitiveEq(j.properties.jobType, value));
        break;
      default:
        throw ArmError.field('$filter', `unsupported field '${m[1] ?? ''}' (supported: name, location, properties/state, properties/jobType)`);
    }
  }
  return (j) => preds.every((p) => p(j));
}

/** A job as the API renders it: bitLockerKey is write-only and never part of it. */
export function renderJob(job: StoredJob, locations: LocationCatalogue): JobResponseBody {
  const p = job.properties;
  const props: Record<string, unknown> = {
    storageAccountId: p.storageAccountId,
    jobType: p.jobType,
  };
  if (p.returnAddress) props.returnAddress = { ...p.returnAddress };
  if (p.returnShipping) props.returnShipping = { ...p.returnShipping };
  props.shippingInformation = { ...p.shippingInformation };
  if (p.deliveryPackage) props.deliveryPackage = { ...p.deliveryPackage };
  if (p.returnPackage) props.returnPackage = { ...p.returnPackage };
  props.diagnosticsPath = p.diagnosticsPath;
  props.logLevel = p.logLevel;
  props.backupDriveManifest = p.backupDriveManifest;
  props.cancelRequested = p.cancelRequested;
  props.state = p.state;
  if (p.percentComplete !== undefined) props.percentComplete = p.percentComplete;
  if (p.incompleteBlobListUri !== undefined) props.incompleteBlobListUri = p.incompleteBlobListUri;
  if (p.driveList) {
    // bitLockerKey is write-only: never part of a job response.
    props.driveList = p.driveList.map(({ bitLockerKey: _omit, ...rest }) => ({ ...rest }));
  }
  if (p.export) props.export = structuredClone(p.export);
  props.provisioningState = p.provisioningState;
  props.encryptionKey = { ...p.encryptionKey };
  const site = locations.find(job.location);
  const body: JobResponseBody = {
    systemData: { ...job.systemData },
    properties: props,
    identity: { ...job.identity },
    id: `/subscriptions/${job.subscriptionId}/resourceGroups/${job.resourceGroup}/providers/Microsoft.ImportExport/jobs/${job.name}`,
    name: job.name,
    type: JOB_RESOURCE_TYPE,
    location: site ? site.displayName : job.location,
  };
  if (job.tags) body.tags = { ...job.tags };
  return body;
}
