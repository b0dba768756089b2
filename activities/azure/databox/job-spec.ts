import { REQUEST_ID_TAG, ci, compareObjects, exact, manifestPath, normalizeLocation, show } from '../job-spec';
import type { CreateJobInput, JobSpecDifference } from '../port';
import type { ShippingUpdateRequest } from '../../../common/azure-job';
import type { DataBoxJob } from './schemas';

/**
 * Compares a create request with the Data Box job Azure has under that name. Empty = the same job, made by the same
 * request (the request-id tag). BitLocker keys and the carrier account number are write-only and not compared.
 */
export function diffDataBoxJob(requested: CreateJobInput, existing: DataBoxJob): JobSpecDifference[] {
  const out: JobSpecDifference[] = [];
  const d = existing.properties.details;
  if (normalizeLocation(requested.locationName) !== normalizeLocation(existing.location)) {
    out.push({ field: 'location', requested: show(requested.locationName), existing: show(existing.location) });
  }
  if (ci(existing.sku.name) !== ci('DataBoxCustomerDisk')) {
    out.push({ field: 'sku.name', requested: show('DataBoxCustomerDisk'), existing: show(existing.sku.name) });
  }
  if (ci(existing.properties.transferType) !== ci('ImportToAzure')) {
    out.push({ field: 'properties.transferType', requested: show('ImportToAzure'), existing: show(existing.properties.transferType) });
  }
  const accounts = (d?.dataImportDetails ?? []).map((x) => x.accountDetails.storageAccountId ?? '');
  if (!accounts.some((a) => ci(a) === ci(requested.storageAccountId))) {
    out.push({ field: 'properties.details.dataImportDetails[].accountDetails.storageAccountId', requested: show(requested.storageAccountId), existing: show(accounts.join(',')) });
  }
  compareObjects(
    'properties.details.returnToCustomerPackageDetails',
    { carrierName: requested.returnShipping.carrierName },
    { carrierName: d?.returnToCustomerPackageDetails?.carrierName },
    out,
  );

  const disks = d?.importDiskDetailsCollection ?? {};
  const existingBySerial = new Map(Object.entries(disks).map(([serial, disk]) => [ci(serial), { serial, disk }]));
  const requestedSerials = requested.drives.map((x) => ci(x.driveId));
  const missing = requested.drives.some((x) => !existingBySerial.has(ci(x.driveId)));
  const extra = Object.keys(disks).some((serial) => !requestedSerials.includes(ci(serial)));
  if (missing || extra) {
    out.push({
      field: 'properties.details.importDiskDetailsCollection',
      requested: requested.drives.map((x) => x.driveId).join(','),
      existing: Object.keys(disks).join(','),
    });
  }
  for (const drive of requested.drives) {
    const found = existingBySerial.get(ci(drive.driveId));
    if (found === undefined) continue;
    const label = `properties.details.importDiskDetailsCollection[${drive.driveId}]`;
    if (manifestPath(drive.manifestFile) !== manifestPath(found.disk.manifestFile)) {
      out.push({ field: `${label}.manifestFile`, requested: show(drive.manifestFile), existing: show(found.disk.manifestFile) });
    }
    if (ci(drive.manifestHash) !== ci(found.disk.manifestHash)) {
      out.push({ field: `${label}.manifestHash`, requested: show(drive.manifestHash), existing: show(found.disk.manifestHash) });
    }
  }

  // The job must have been created by this very request.
  const existingTag = existing.tags?.[REQUEST_ID_TAG];
  if (existingTag !== requested.requestId) {
    out.push({ field: `tags.${REQUEST_ID_TAG}`, requested: show(requested.requestId), existing: show(existingTag) });
  }
  return out;
}

/** Whether the job's return address, contact or return carrier differ from what the workflow holds. */
export function returnDetailsDiffer(requested: Pick<ShippingUpdateRequest, 'returnAddress' | 'returnShipping'>, existing: DataBoxJob): boolean {
  const d = existing.properties.details;
  const a = requested.returnAddress;
  const address = d?.shippingAddress;
  const contact = d?.contactDetails;
  const pairs: Array<[string | undefined, string | undefined]> = [
    [a.streetAddress1, address?.streetAddress1],
    [a.streetAddress2, address?.streetAddress2],
    [a.city, address?.city],
    [a.stateOrProvince, address?.stateOrProvince],
    [a.postalCode, address?.postalCode],
    [a.countryOrRegion, address?.country],
    [a.recipientName, contact?.contactName],
    [a.phone, contact?.phone],
    [a.email, contact?.emailList?.[0]],
    [requested.returnShipping.carrierName, d?.returnToCustomerPackageDetails?.carrierName],
  ];
  return pairs.some(([r, e]) => exact(r) !== exact(e));
}
