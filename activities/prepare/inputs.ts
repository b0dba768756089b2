import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import type { DatasetEntry, DriveSpec } from '../../common/prepare-contract';
import { BitLockerKeySchema } from '../../common/bitlocker-key';
import type { SecretStore } from '../../common/secret-ref';
import { PrepareInputError, PrepareInputErrors, type InputLocation } from './errors';
import { splitDestination } from './names';
import { setOrigin } from './origin';
import { cellLocator, normKey, readCsv, rowValues } from './csv';

/* ------------------------------------------------------------------------------------------ */
/* Field-level validation shared by the CSV files and the JSON/YAML job-spec section.          */
/* ------------------------------------------------------------------------------------------ */

type Locate = (field: string) => InputLocation;

export const DATASET_FIELDS = ['BasePath', 'DstBlobPathOrPrefix', 'BlobType', 'Disposition', 'MetadataFile', 'PropertiesFile'] as const;
type DatasetField = (typeof DATASET_FIELDS)[number];

export const DRIVESET_FIELDS = [
  'DriveLetter',
  'FormatOption',
  'SilentOrPromptOnFormat',
  'Encryption',
  'ExistingBitLockerKey',
  'DriveId',
  'CapacityBytes',
] as const;
type DrivesetField = (typeof DRIVESET_FIELDS)[number];

/** Accepted header / key spellings (compared case-insensitively, ignoring `_`, `-` and spaces). */
const DATASET_ALIASES: Record<string, DatasetField> = {
  basepath: 'BasePath',
  dstblobpathorprefix: 'DstBlobPathOrPrefix',
  blobtype: 'BlobType',
  disposition: 'Disposition',
  metadatafile: 'MetadataFile',
  propertiesfile: 'PropertiesFile',
};
const DRIVESET_ALIASES: Record<string, DrivesetField> = {
  driveletter: 'DriveLetter',
  drivepath: 'DriveLetter',
  path: 'DriveLetter',
  mountpath: 'DriveLetter',
  formatoption: 'FormatOption',
  silentorpromptonformat: 'SilentOrPromptOnFormat',
  encryption: 'Encryption',
  existingbitlockerkey: 'ExistingBitLockerKey',
  bitlockerkey: 'ExistingBitLockerKey',
  driveid: 'DriveId',
  capacitybytes: 'CapacityBytes',
};

function isNone(v: string | undefined): boolean {
  return v === undefined || v === '' || v.toLowerCase() === 'none';
}

function validateDatasetRow(values: Partial<Record<DatasetField, string>>, at: Locate, errors: PrepareInputError[]): DatasetEntry | undefined {
  const before = errors.length;
  const err = (field: DatasetField, problem: string) => errors.push(new PrepareInputError(at(field), withoutKeys(problem)));
  const basePath = values.BasePath ?? '';
  const dst = values.DstBlobPathOrPrefix ?? '';
  if (basePath === '') err('BasePath', 'BasePath is required');
  else if (!path.isAbsolute(basePath)) err('BasePath', `BasePath "${basePath}" must be an absolute path`);
  else if (/[*?]/.test(basePath)) err('BasePath', `BasePath "${basePath}" must not contain wildcards`);
  if (dst === '') err('DstBlobPathOrPrefix', 'DstBlobPathOrPrefix is required');
  else {
    const split = splitDestination(dst);
    if ('problem' in split) err('DstBlobPathOrPrefix', split.problem);
    else {
      if (basePath.endsWith('/') && !dst.endsWith('/'))
        err('DstBlobPathOrPrefix', `BasePath is a directory (ends with "/"), so DstBlobPathOrPrefix "${dst}" must be a prefix ending with "/"`);
      if (split.rest.includes('//') || split.rest.startsWith('/'))
        err('DstBlobPathOrPrefix', `"${dst}" contains an empty path segment`);
      if (split.container === '$root' && split.rest.replace(/\/$/, '').includes('/'))
        err('DstBlobPathOrPrefix', `"${dst}": the $root container has no virtual directories`);
    }
  }
  let blobType: DatasetEntry['blobType'] = 'block';
  const bt = values.BlobType;
  if (!isNone(bt) && bt !== undefined) {
    const b = bt.toLowerCase();
    if (b === 'block' || b === 'blockblob') blobType = 'block';
    else if (b === 'page' || b === 'pageblob') blobType = 'page';
    else err('BlobType', `BlobType "${bt}" must be block or page (BlockBlob / PageBlob accepted)`);
  }
  let disposition: DatasetEntry['disposition'] = 'rename';
  const d = values.Disposition;
  if (!isNone(d) && d !== undefined) {
    const dl = d.toLowerCase();
    if (dl === 'rename' || dl === 'no-overwrite' || dl === 'overwrite') disposition = dl;
    else err('Disposition', `Disposition "${d}" must be rename, no-overwrite or overwrite`);
  }
  const entry: DatasetEntry = { basePath, dstBlobPathOrPrefix: dst, blobType, disposition };
  for (const [field, key] of [
    ['MetadataFile', 'metadataFile'],
    ['PropertiesFile', 'propertiesFile'],
  ] as const) {
    const v = values[field];
    if (!isNone(v) && v !== undefined) {
      if (!path.isAbsolute(v)) err(field, `${field} "${v}" must be an absolute path (or None)`);
      else entry[key] = v;
    }
  }
  return errors.length === before ? entry : undefined;
}

/** One of `options`, matched without case; absent or empty is `fallback`; anything else is reported (and gives `fallback`). */
function choiceOf<T extends string>(field: DrivesetField, value: string | undefined, options: readonly T[], fallback: T, err: (field: DrivesetField, problem: string) => void): T {
  if (value === undefined || value === '') return fallback;
  const match = options.find((o) => o.toLowerCase() === value.toLowerCase());
  if (match === undefined) err(field, `${field} "${value}" must be ${options.join(' or ')}`);
  return match ?? fallback;
}

interface DriveRowOk {
  spec: Omit<DriveSpec, 'bitLockerKeyRef'>;
  key: string;
  at: Locate;
}

function validateDriveRow(values: Partial<Record<DrivesetField, string>>, at: Locate, errors: PrepareInputError[]): DriveRowOk | undefined {
  const before = errors.length;
  const err = (field: DrivesetField, problem: string) => errors.push(new PrepareInputError(at(field), withoutKeys(problem)));
  const p = values.DriveLetter ?? '';
  if (p === '') err('DriveLetter', 'the drive path (DriveLetter / DrivePath column) is required');
  else if (!path.isAbsolute(p)) err('DriveLetter', `drive path "${p}" must be an absolute mount path or directory (drive letters are a Windows notion)`);

  const formatOption = choiceOf<DriveSpec['formatOption']>('FormatOption', values.FormatOption, ['Format', 'AlreadyFormatted'], 'AlreadyFormatted', err);
  const so = values.SilentOrPromptOnFormat;
  if (so !== undefined && so !== '' && !/^(silentmode|promptonformat)$/i.test(so))
    err('SilentOrPromptOnFormat', `SilentOrPromptOnFormat "${so}" must be SilentMode or PromptOnFormat`);
  const encryption = choiceOf<DriveSpec['encryption']>('Encryption', values.Encryption, ['Encrypt', 'AlreadyEncrypted'], 'AlreadyEncrypted', err);
  if (formatOption === 'Format' && encryption !== 'Encrypt') err('Encryption', 'when Format is specified, Encrypt must also be specified');
  else if (formatOption === 'Format')
    err('FormatOption', 'formatting drives is not supported by this tool: format the drive (NTFS) and enable BitLocker beforehand, then use AlreadyFormatted / AlreadyEncrypted');
  else if (encryption === 'Encrypt')
    err('Encryption', 'BitLocker encryption is not available on Linux/macOS: encrypt the drive with BitLocker beforehand and give AlreadyEncrypted with ExistingBitLockerKey');

  // The key is a secret from here on: it is never echoed in messages.
  const key = (values.ExistingBitLockerKey ?? '').trim();
  if (encryption === 'AlreadyEncrypted') {
    if (key === '') err('ExistingBitLockerKey', 'ExistingBitLockerKey is required for AlreadyEncrypted drives');
    else if (!BitLockerKeySchema.safeParse(key).success)
      err('ExistingBitLockerKey', 'ExistingBitLockerKey is not a BitLocker recovery password (8 groups of 6 digits separated by "-", each a multiple of 11 below 720896; value not shown)');
  } else if (key !== '') err('ExistingBitLockerKey', 'ExistingBitLockerKey must be empty when Encrypt is specified');

  let driveId: string | undefined;
  const di = values.DriveId;
  if (di !== undefined && di.trim() !== '') {
    driveId = di.replace(/\s+/g, '');
    // A key pasted into the wrong column would otherwise end up in the manifest and in secret names.
    if (new RegExp(KEY_LIKE.source).test(driveId)) err('DriveId', 'DriveId looks like a BitLocker recovery password (value not shown): DriveId is the drive\'s serial number');
    else if (!/^[\x21-\x7e]{1,128}$/.test(driveId)) err('DriveId', `DriveId "${di}" must be printable ASCII without spaces`);
  }
  let capacityBytes: number | undefined;
  const cb = values.CapacityBytes;
  if (cb !== undefined && cb.trim() !== '') {
    const n = Number(cb.trim());
    if (!Number.isSafeInteger(n) || n <= 0) err('CapacityBytes', `CapacityBytes "${cb}" must be a positive integer`);
    else capacityBytes = n;
  }
  if (errors.length !== before) return undefined;
  const spec: Omit<DriveSpec, 'bitLockerKeyRef'> = { path: p, formatOption, encryption };
  if (driveId !== undefined) spec.driveId = driveId;
  if (capacityBytes !== undefined) spec.capacityBytes = capacityBytes;
  return { spec, key, at };
}

/** `bitlocker-<preparationId>-<driveId|driveN>` restricted to Key Vault's secret-name alphabet. */
export function bitLockerSecretName(preparationId: string, driveIdOrIndex: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9-]/g, '-');
  return `bitlocker-${clean(preparationId)}-${clean(driveIdOrIndex)}`.slice(0, 127);
}

async function storeKeys(rows: DriveRowOk[], secrets: SecretStore, preparationId: string): Promise<DriveSpec[]> {
  const out: DriveSpec[] = [];
  for (const [i, r] of rows.entries()) {
    const ref = await secrets.put(bitLockerSecretName(preparationId, r.spec.driveId ?? `drive${i + 1}`), r.key);
    const d: DriveSpec = { ...r.spec, bitLockerKeyRef: ref };
    setOrigin(d, r.at);
    out.push(d);
  }
  return out;
}

function checkDuplicateDrives(rows: { path: string; loc: InputLocation }[], errors: PrepareInputError[]): void {
  const seen = new Map<string, number>();
  for (const [i, r] of rows.entries()) {
    const k = path.resolve(r.path);
    const prev = seen.get(k);
    if (prev !== undefined) errors.push(new PrepareInputError(r.loc, `drive path "${r.path}" is listed twice (also item ${prev + 1})`));
    else seen.set(k, i);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* CSV                                                                                          */
/* ------------------------------------------------------------------------------------------ */

/** Anything shaped like (part of) a BitLocker recovery password, wherever a misplaced key might be echoed. */
const KEY_LIKE = /\d{6}(?:[-\s]*\d{1,6})+|\d{12,}/g;
function withoutKeys(problem: string): string {
  return problem.replace(KEY_LIKE, '[value not shown]');
}

/** Parses a WAImportExport v2 `dataset.csv`. Throws PrepareInputError(s) naming file, row and column. */
export function parseDatasetCsv(text: string, fileName: string): DatasetEntry[] {
  const { header, rows } = readCsv(text, fileName, DATASET_ALIASES, ['BasePath', 'DstBlobPathOrPrefix']);
  const errors: PrepareInputError[] = [];
  const out: DatasetEntry[] = [];
  for (const row of rows) {
    const at = cellLocator(fileName, header, row);
    const e = validateDatasetRow(rowValues(header, row), at, errors);
    if (e) {
      setOrigin(e, at);
      out.push(e);
    }
  }
  if (errors.length) throw new PrepareInputErrors(errors);
  return out;
}

/**
 * Parses a `driveset.csv` (a drive is a mount path / directory). ExistingBitLockerKey values go
 * straight into `secrets`; the returned drives carry only SecretRefs. Keys are never echoed.
 */
export async function parseDrivesetCsv(text: string, fileName: string, secrets: SecretStore, preparationId: string): Promise<DriveSpec[]> {
  const { header, rows } = readCsv(text, fileName, DRIVESET_ALIASES, ['DriveLetter']);
  const errors: PrepareInputError[] = [];
  const ok: DriveRowOk[] = [];
  const forDup: { path: string; loc: InputLocation }[] = [];
  for (const row of rows) {
    const at = cellLocator(fileName, header, row);
    const r = validateDriveRow(rowValues(header, row), at, errors);
    if (r) {
      ok.push(r);
      forDup.push({ path: r.spec.path, loc: at('DriveLetter') });
    }
  }
  checkDuplicateDrives(forDup, errors);
  const eleventh = ok[10];
  if (eleventh) errors.push(new PrepareInputError(eleventh.at('DriveLetter'), `at most 10 drives per job (got ${ok.length}); this is the 11th`));
  if (errors.length) throw new PrepareInputErrors(errors);
  return storeKeys(ok, secrets, preparationId);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON / YAML job-spec section                                                                */
/* ------------------------------------------------------------------------------------------ */

export interface PrepareSpecSection {
  dataset: DatasetEntry[];
  drives: DriveSpec[];
}

function scalarToString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Parses the prepare section of a job spec (YAML or JSON text). The section has the same
 * information as the CSV files:
 * ```yaml
 * prepare:
 *   dataset:
 *     - { basePath: /data/photos/, dstBlobPathOrPrefix: photos/, blobType: block, disposition: rename }
 *   drives:
 *     - { path: /mnt/d1, encryption: AlreadyEncrypted, existingBitLockerKey: "…", driveId: WD-123 }
 * ```
 * Keys are matched case-insensitively and may use the CSV header names. Errors carry the line
 * and column of the offending value. `sectionKey` = null means the document itself is the section.
 */
export async function parsePrepareSpecText(
  text: string,
  fileName: string,
  secrets: SecretStore,
  preparationId: string,
  sectionKey: string | null = 'prepare',
): Promise<PrepareSpecSection> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const firstErr = doc.errors[0];
  if (firstErr) {
    const pos = lc.linePos(firstErr.pos[0]);
    throw new PrepareInputError({ file: fileName, row: pos.line, column: pos.col }, `malformed YAML/JSON: ${firstErr.message.split('\n')[0]}`);
  }
  const locOf = (node: YamlNode | null | undefined, field?: string): InputLocation => {
    const loc: InputLocation = { file: fileName };
    if (field !== undefined) loc.field = field;
    if (node && node.range) {
      const p = lc.linePos(node.range[0]);
      loc.row = p.line;
      loc.column = p.col;
    }
    return loc;
  };
  let section: unknown = doc.contents;
  if (sectionKey !== null) {
    if (!isMap(doc.contents)) throw new PrepareInputError({ file: fileName, row: 1 }, `the job spec must be a mapping with a "${sectionKey}" section`);
    section = doc.contents.items.find((p) => scalarToString((p.key as { value?: unknown } | null)?.value) === sectionKey)?.value;
    if (!section) throw new PrepareInputError({ file: fileName, row: 1, field: sectionKey }, `the job spec has no "${sectionKey}" section`);
  }
  if (!isMap(section)) throw new PrepareInputError(locOf(section as YamlNode), 'the prepare section must be a mapping with "dataset" and "drives"');
  const get = (m: typeof section, key: string) => m.items.find((p) => normKey(scalarToString((p.key as { value?: unknown } | null)?.value) ?? '') === key);
  const errors: PrepareInputError[] = [];

  const listOf = (key: string): YamlNode[] => {
    const pair = get(section, key);
    if (!pair || !isSeq(pair.value) || pair.value.items.length === 0) {
      errors.push(new PrepareInputError(locOf((pair?.value ?? section) as YamlNode, key), `"${key}" must be a non-empty list`));
      return [];
    }
    return pair.value.items as YamlNode[];
  };

  const readItem = <F extends string>(item: YamlNode, aliases: Record<string, F>, listName: string, index: number) => {
    const values: Partial<Record<F, string>> = {};
    const nodes = new Map<F, YamlNode>();
    if (!isMap(item)) {
      errors.push(new PrepareInputError(locOf(item, `${listName}[${index}]`), 'each item must be a mapping'));
      return undefined;
    }
    for (const p of item.items) {
      const k = scalarToString((p.key as { value?: unknown } | null)?.value) ?? '';
      const f = aliases[normKey(k)];
      if (f === undefined) {
        errors.push(new PrepareInputError(locOf(p.key as YamlNode, `${listName}[${index}].${k}`), `unknown key "${k}"`));
        continue;
      }
      const v = scalarToString((p.value as { value?: unknown } | null)?.value);
      if (v === undefined && p.value !== null) {
        errors.push(new PrepareInputError(locOf(p.value as YamlNode, `${listName}[${index}].${k}`), `"${k}" must be a scalar`));
        continue;
      }
      if (v !== undefined) values[f] = v;
      nodes.set(f, (p.value ?? p.key) as YamlNode);
    }
    const at: Locate = (field) => locOf(nodes.get(field as F) ?? item, `${listName}[${index}].${field}`);
    return { values, at };
  };

  const dataset: DatasetEntry[] = [];
  for (const [i, item] of listOf('dataset').entries()) {
    const r = readItem(item, DATASET_ALIASES, 'dataset', i);
    if (!r) continue;
    const e = validateDatasetRow(r.values, r.at, errors);
    if (e) {
      setOrigin(e, r.at);
      dataset.push(e);
    }
  }
  const ok: DriveRowOk[] = [];
  const forDup: { path: string; loc: InputLocation }[] = [];
  const drives = listOf('drives');
  for (const [i, item] of drives.entries()) {
    const r = readItem(item, DRIVESET_ALIASES, 'drives', i);
    if (!r) continue;
    const d = validateDriveRow(r.values, r.at, errors);
    if (d) {
      ok.push(d);
      forDup.push({ path: d.spec.path, loc: r.at('DriveLetter') });
    }
  }
  checkDuplicateDrives(forDup, errors);
  if (drives.length > 10) errors.push(new PrepareInputError({ file: fileName, field: 'drives' }, `at most 10 drives per job (got ${drives.length})`));
  if (errors.length) throw new PrepareInputErrors(errors);
  return { dataset, drives: await storeKeys(ok, secrets, preparationId) };
}
