import type { JobSpecDifference } from './port';
import type { DriveBitLockerKey, JobResponse, PutJobParameters } from './schemas';

/** Tag createJob adds from `opts.clientRequestId`; identifies the request that created a job. */
export const REQUEST_ID_TAG = 'importOrchestratorRequestId';

/** "West US" ≡ "westus" ≡ "West us". */
export function normalizeLocation(loc: string | undefined): string {
  return (loc ?? '').replace(/\s+/g, '').toLowerCase();
}

export const ci = (s: string | undefined): string => (s ?? '').trim().toLowerCase();
export const exact = (s: string | undefined): string => (s ?? '').trim();
/** Manifest paths on an NTFS drive: case-insensitive, `/` ≡ `\`, leading `\` optional. */
export const manifestPath = (s: string | undefined): string =>
  (s ?? '').trim().replace(/\//g, '\\').replace(/^\\+/, '').toLowerCase();

export function show(v: string | undefined): string {
  return v === undefined || v === '' ? '(none)' : JSON.stringify(v);
}

export function compareObjects<T extends object>(
  prefix: string,
  requested: T | undefined,
  existing: T | undefined,
  out: JobSpecDifference[],
): void {
  if (requested === undefined && existing === undefined) return;
  const req = (requested ?? {}) as Record<string, unknown>;
  const ex = (existing ?? {}) as Record<string, unknown>;
  const keys = new Set([...Object.keys(req), ...Object.keys(ex)]);
  for (const key of [...keys].sort()) {
    const r = req[key];
    const e = ex[key];
    const rs = r === undefined || r === null ? '' : String(r);
    const es = e === undefined || e === null ? '' : String(e);
    if (exact(rs) !== exact(es)) {
      out.push({ field: `${prefix}.${key}`, requested: show(rs), existing: show(es) });
    }
  }
}

/**
 * Compares the spec of a job create request with an existing job. Returns the differing fields
 * (empty = same job). Compared: location, storage account, job type, return address/shipping,
 * drive ids + manifest files/hashes (+ header hash when both sides have one), optional
 * diagnosticsPath/logLevel/backupDriveManifest when requested, and the request-id tag.
 * BitLocker keys are not in GET responses; see `diffBitLockerKeys`.
 */
export function diffJobSpec(requested: PutJobParameters, existing: JobResponse): JobSpecDifference[] {
  const out: JobSpecDifference[] = [];
  const rp = requested.properties ?? {};
  const ep = existing.properties;

  if (normalizeLocation(requested.location) !== normalizeLocation(existing.location)) {
    out.push({ field: 'location', requested: show(requested.location), existing: show(existing.location) });
  }
  if (ci(rp.storageAccountId) !== ci(ep.storageAccountId)) {
    out.push({
      field: 'properties.storageAccountId',
      requested: show(rp.storageAccountId),
      existing: show(ep.storageAccountId),
    });
  }
  if (ci(rp.jobType) !== ci(ep.jobType)) {
    out.push({ field: 'properties.jobType', requested: show(rp.jobType), existing: show(ep.jobType) });
  }
  compareObjects('properties.returnAddress', rp.returnAddress, ep.returnAddress, out);
  compareObjects('properties.returnShipping', rp.returnShipping, ep.returnShipping, out);
  if (rp.diagnosticsPath !== undefined && exact(rp.diagnosticsPath) !== exact(ep.diagnosticsPath)) {
    out.push({ field: 'properties.diagnosticsPath', requested: show(rp.diagnosticsPath), existing: show(ep.diagnosticsPath) });
  }
  if (rp.logLevel !== undefined && ci(rp.logLevel) !== ci(ep.logLevel)) {
    out.push({ field: 'properties.logLevel', requested: show(rp.logLevel), existing: show(ep.logLevel) });
  }
  if (rp.backupDriveManifest !== undefined && rp.backupDriveManifest !== (ep.backupDriveManifest ?? false)) {
    out.push({
      field: 'properties.backupDriveManifest',
      requested: String(rp.backupDriveManifest),
      existing: String(ep.backupDriveManifest ?? false),
    });
  }

  // Drives: same set of ids, and per drive the same manifest file and hash.
  const reqDrives = rp.driveList ?? [];
  const exDrives = ep.driveList ?? [];
  const exById = new Map(exDrives.map((d) => [ci(d.driveId), d]));
  const reqIds = reqDrives.map((d) => ci(d.driveId));
  const missing = reqDrives.filter((d) => !exById.has(ci(d.driveId))).map((d) => d.driveId ?? '');
  const extra = exDrives.filter((d) => !reqIds.includes(ci(d.driveId))).map((d) => d.driveId ?? '');
  if (missing.length > 0 || extra.length > 0) {
    out.push({
      field: 'properties.driveList[].driveId',
      requested: reqDrives.map((d) => d.driveId ?? '').join(','),
      existing: exDrives.map((d) => d.driveId ?? '').join(','),
    });
  }
  for (const rd of reqDrives) {
    const ed = exById.get(ci(rd.driveId));
    if (ed === undefined) continue;
    const label = `properties.driveList[${rd.driveId ?? ''}]`;
    if (manifestPath(rd.manifestFile) !== manifestPath(ed.manifestFile)) {
      out.push({ field: `${label}.manifestFile`, requested: show(rd.manifestFile), existing: show(ed.manifestFile) });
    }
    if (ci(rd.manifestHash) !== ci(ed.manifestHash)) {
      out.push({ field: `${label}.manifestHash`, requested: show(rd.manifestHash), existing: show(ed.manifestHash) });
    }
    if (ci(rd.driveHeaderHash) !== '' && ci(ed.driveHeaderHash) !== '' && ci(rd.driveHeaderHash) !== ci(ed.driveHeaderHash)) {
      out.push({ field: `${label}.driveHeaderHash`, requested: '(differs)', existing: '(differs)' });
    }
  }

  // Request-id tag: the job must have been created by this very request.
  const reqTag = requested.tags?.[REQUEST_ID_TAG];
  if (reqTag !== undefined) {
    const exTag = existing.tags?.[REQUEST_ID_TAG];
    if (reqTag !== exTag) {
      out.push({ field: `tags.${REQUEST_ID_TAG}`, requested: show(reqTag), existing: show(exTag) });
    }
  }
  return out;
}

/** Compares requested BitLocker keys with the service's; never reports the key values. */
export function diffBitLockerKeys(requested: PutJobParameters, existing: readonly DriveBitLockerKey[]): JobSpecDifference[] {
  const out: JobSpecDifference[] = [];
  const exById = new Map(existing.map((k) => [ci(k.driveId), k.bitLockerKey]));
  for (const d of requested.properties?.driveList ?? []) {
    if (d.bitLockerKey === undefined) continue;
    const ek = exById.get(ci(d.driveId));
    if (ek === undefined) continue; // drive-id mismatch is reported by diffJobSpec
    if (ek.trim() !== d.bitLockerKey.trim()) {
      out.push({ field: `properties.driveList[${d.driveId ?? ''}].bitLockerKey`, requested: '(secret)', existing: '(secret, differs)' });
    }
  }
  return out;
}
