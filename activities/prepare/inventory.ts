import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import type { DatasetEntry, DriveSpec, PrepareRequest } from '../../common/prepare-contract';
import { PrepareInputError, PrepareInputErrors, formatBytes, type InputLocation } from './errors';
import { blobNameProblem, driveRelativePathForBlob, splitDestination } from './names';
import { MANIFEST_FILE_NAME } from './manifest';
import { locator } from './origin';

export const BLOCK_SIZE = 4 * 1024 * 1024;
export const MAX_BLOCKS = 50_000;
export const MAX_PAGE_BLOB = 1024 ** 4;
export const AUX_DIR = '_importexport';
const MAX_AUX_FILE = 1024 * 1024;

export interface Candidate {
  src: string;
  size: number;
  mtimeMs: number;
  blobPath: string;
  container: string;
  blobType: 'block' | 'page';
  disposition: DatasetEntry['disposition'];
  metadataFile?: string;
  propertiesFile?: string;
  entry: number;
  loc: (field: string) => InputLocation;
}

function errno(e: unknown): string {
  const c = (e as NodeJS.ErrnoException).code;
  if (c === 'ENOENT') return 'does not exist';
  if (c === 'EACCES' || c === 'EPERM') return 'is not readable (permission denied)';
  return (e as Error).message;
}

function checkReadable(p: string): string | undefined {
  try {
    fs.closeSync(fs.openSync(p, 'r'));
    return undefined;
  } catch (e) {
    return errno(e);
  }
}

export function isUnder(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function realOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    // Not there yet (a journal directory to be created): resolve the part that exists, so a symlink to a drive is still seen.
    const parent = path.dirname(path.resolve(p));
    if (parent === path.resolve(p)) return parent;
    return path.join(realOr(parent), path.basename(p));
  }
}

/** A file's identity (device and inode), to recognise the journal and the drives' own files without resolving every walked path. */
const identity = (st: fs.Stats) => `${st.dev}:${st.ino}`;

/** What a walk leaves out: the journal directory, and each drive's manifest, its temporaries and the aux folder. */
interface Exclusions {
  /** Identities of the journal directory and of the drives' manifests and aux folders (those that exist). */
  files: Set<string>;
  /** Identities of the drives' root directories (where a manifest's temporaries are). */
  driveDirs: Set<string>;
}

function isExcluded(ex: Exclusions, st: fs.Stats, name: string, dirIdentity: string): boolean {
  return ex.files.has(identity(st)) || (ex.driveDirs.has(dirIdentity) && name.startsWith(`${MANIFEST_FILE_NAME}.tmp`));
}

interface Walked {
  abs: string;
  rel: string;
  st: fs.Stats;
}

/**
 * Walks a directory (sorted, deterministic). Symbolic links to files inside the walked tree are
 * followed; links to directories, and links that lead out of the tree (to /etc, another data set),
 * are refused: the data set is what BasePath contains, nothing else.
 */
function walk(dir: string, dirIdentity: string, relBase: string, root: string, out: Walked[], problems: string[], ex: Exclusions): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    problems.push(`directory ${dir} ${errno(e)}`);
    return;
  }
  for (const name of names) {
    const abs = path.join(dir, name);
    const rel = relBase ? `${relBase}/${name}` : name;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) {
        const target = fs.realpathSync(abs);
        st = fs.statSync(abs);
        if (isExcluded(ex, st, path.basename(target), identity(fs.statSync(path.dirname(target))))) continue;
        if (!isUnder(target, root)) {
          problems.push(`${abs} is a symbolic link to ${target}, outside BasePath (not followed; list its target in the data set if it belongs there)`);
          continue;
        }
        if (st.isDirectory()) {
          problems.push(`${abs} is a symbolic link to a directory (not followed; list its target in the data set instead)`);
          continue;
        }
      } else if (isExcluded(ex, st, name, dirIdentity)) continue;
    } catch (e) {
      problems.push(`${abs} ${errno(e)}`);
      continue;
    }
    if (st.isDirectory()) walk(abs, identity(st), rel, root, out, problems, ex);
    else if (st.isFile()) out.push({ abs, rel, st });
    else problems.push(`${abs} is not a regular file`);
  }
}

export interface Inventory {
  candidates: Candidate[];
  /** Aux (metadata/properties) files: source path → MD5. */
  aux: Map<string, { hash: string; size: number; mtimeMs: number }>;
  /** Resolved real paths of the drives. */
  driveReal: string[];
}

/**
 * Validates everything that can be validated without writing: dataset entries, source files
 * (exist, readable, sizes, blob types), blob names, metadata/properties XML, drives (exist,
 * writable, ids). Throws PrepareInputErrors listing every problem.
 */
export function inventory(req: PrepareRequest): Inventory {
  const errors: PrepareInputError[] = [];
  const driveReal: string[] = [];
  req.drives.forEach((d, i) => {
    const at = locator(d, 'drives', i);
    try {
      const st = fs.statSync(d.path);
      if (!st.isDirectory()) errors.push(new PrepareInputError(at('DriveLetter'), `drive path ${d.path} is not a directory`));
      else fs.accessSync(d.path, req.mode === 'copy' ? fs.constants.W_OK | fs.constants.R_OK : fs.constants.R_OK | fs.constants.W_OK);
    } catch (e) {
      errors.push(new PrepareInputError(at('DriveLetter'), `drive path ${d.path} ${errno(e)}`));
    }
    driveReal.push(realOr(d.path));
  });
  driveReal.forEach((a, i) =>
    driveReal.forEach((b, j) => {
      if (i !== j && isUnder(a, b) && !(a === b && j > i))
        errors.push(new PrepareInputError(locator(req.drives[i] as DriveSpec, 'drives', i)('DriveLetter'), `drive path ${a} lies inside drive ${b}`));
    }),
  );
  const journalReal = realOr(req.journalDir);
  driveReal.forEach((d, i) => {
    if (isUnder(journalReal, d))
      errors.push(new PrepareInputError(locator(req.drives[i] as DriveSpec, 'drives', i)('DriveLetter'), `the journal directory ${req.journalDir} must not be on a target drive (${d})`));
  });

  const candidates: Candidate[] = [];
  const aux = new Map<string, { hash: string; size: number; mtimeMs: number }>();
  const identityOf = (p: string) => {
    try {
      return identity(fs.statSync(p));
    } catch {
      return undefined;
    }
  };
  const exclusions: Exclusions = { files: new Set(), driveDirs: new Set() };
  for (const p of [journalReal, ...driveReal.flatMap((d) => [path.join(d, MANIFEST_FILE_NAME), path.join(d, AUX_DIR)])]) {
    const id = identityOf(p);
    if (id) exclusions.files.add(id);
  }
  for (const d of driveReal) {
    const id = identityOf(d);
    if (id) exclusions.driveDirs.add(id);
  }

  req.dataset.forEach((entry, ei) => {
    const at = locator(entry, 'dataset', ei);
    const split = splitDestination(entry.dstBlobPathOrPrefix);
    if ('problem' in split) {
      errors.push(new PrepareInputError(at('DstBlobPathOrPrefix'), split.problem));
      return;
    }
    // metadata / properties
    for (const [field, file, rootName] of [
      ['MetadataFile', entry.metadataFile, 'Metadata'],
      ['PropertiesFile', entry.propertiesFile, 'Properties'],
    ] as const) {
      if (file === undefined || aux.has(file)) continue;
      try {
        const st = fs.statSync(file);
        if (!st.isFile()) throw Object.assign(new Error('is not a regular file'), { code: 'ENOTFILE' });
        if (st.size > MAX_AUX_FILE) {
          errors.push(new PrepareInputError(at(field), `${field} ${file} is larger than 1 MiB`));
          continue;
        }
        const buf = fs.readFileSync(file);
        const v = XMLValidator.validate(buf.toString('utf8'));
        if (v !== true) {
          errors.push(new PrepareInputError(at(field), `${field} ${file} is not well-formed XML (line ${v.err.line}: ${v.err.msg})`));
          continue;
        }
        if (!new RegExp(`^\\s*(<\\?xml[^>]*>\\s*)?(<!--[\\s\\S]*?-->\\s*)*<${rootName}[\\s/>]`).test(buf.toString('utf8'))) {
          errors.push(new PrepareInputError(at(field), `${field} ${file} must have a <${rootName}> root element`));
          continue;
        }
        aux.set(file, { hash: createHash('md5').update(buf).digest('hex').toUpperCase(), size: st.size, mtimeMs: st.mtimeMs });
      } catch (e) {
        errors.push(new PrepareInputError(at(field), `${field} ${file} ${errno(e)}`));
      }
    }

    const isDir = entry.basePath.endsWith('/');
    const files: Walked[] = [];
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(entry.basePath);
    } catch (e) {
      errors.push(new PrepareInputError(at('BasePath'), `source ${entry.basePath} ${errno(e)}`));
      return;
    }
    if (isDir) {
      if (!st.isDirectory()) {
        errors.push(new PrepareInputError(at('BasePath'), `source ${entry.basePath} is not a directory (remove the trailing "/" for a single file)`));
        return;
      }
      const dir = entry.basePath.replace(/\/+$/, '') || '/';
      const root = realOr(dir);
      if (req.mode === 'copy') {
        const inside = req.drives.filter((_, di) => isUnder(driveReal[di] as string, root));
        for (const d of inside) errors.push(new PrepareInputError(at('BasePath'), `drive ${d.path} is inside the source directory ${entry.basePath}: the copy would be written into the data set`));
        if (inside.length) return;
      }
      const problems: string[] = [];
      walk(dir, identity(st), '', root, files, problems, exclusions);
      for (const p of problems) errors.push(new PrepareInputError(at('BasePath'), p));
    } else {
      if (st.isDirectory()) {
        errors.push(new PrepareInputError(at('BasePath'), `source ${entry.basePath} is a directory: end BasePath with "/" to copy it recursively`));
        return;
      }
      if (!st.isFile()) {
        errors.push(new PrepareInputError(at('BasePath'), `source ${entry.basePath} is not a regular file`));
        return;
      }
      files.push({ abs: entry.basePath, rel: path.basename(entry.basePath), st });
    }
    const prefixMode = entry.dstBlobPathOrPrefix.endsWith('/');
    for (const f of files) {
      const blob = prefixMode ? split.rest + f.rel : split.rest;
      const problem = blobNameProblem(split.container, blob);
      if (problem) {
        errors.push(new PrepareInputError(at('DstBlobPathOrPrefix'), `${f.abs}: ${problem}`));
        continue;
      }
      const fst = f.st;
      const unreadable = checkReadable(f.abs);
      if (unreadable) {
        errors.push(new PrepareInputError(at('BasePath'), `source ${f.abs} ${unreadable}`));
        continue;
      }
      const blobType: 'block' | 'page' = entry.blobType === 'page' || /\.vhdx?$/i.test(f.abs) ? 'page' : 'block';
      if (blobType === 'page') {
        if (fst.size % 512 !== 0) {
          errors.push(new PrepareInputError(at('BlobType'), `${f.abs}: page blobs need a length that is a multiple of 512 bytes (${fst.size})`));
          continue;
        }
        if (fst.size > MAX_PAGE_BLOB) {
          errors.push(new PrepareInputError(at('BasePath'), `${f.abs}: page blobs are limited to 1 TiB`));
          continue;
        }
      } else if (fst.size > MAX_BLOCKS * BLOCK_SIZE) {
        errors.push(new PrepareInputError(at('BasePath'), `${f.abs}: a block blob has at most ${MAX_BLOCKS} blocks of 4 MiB (${formatBytes(MAX_BLOCKS * BLOCK_SIZE)})`));
        continue;
      }
      const c: Candidate = {
        src: f.abs,
        size: fst.size,
        mtimeMs: fst.mtimeMs,
        blobPath: `${split.container}/${blob}`,
        container: split.container,
        blobType,
        disposition: entry.disposition,
        entry: ei,
        loc: at,
      };
      if (entry.metadataFile !== undefined) c.metadataFile = entry.metadataFile;
      if (entry.propertiesFile !== undefined) c.propertiesFile = entry.propertiesFile;
      candidates.push(c);
    }
  });

  // Duplicate blob paths, and on-drive path clashes (NTFS is case-insensitive).
  const byBlob = new Map<string, Candidate>();
  for (const c of candidates) {
    const prev = byBlob.get(c.blobPath);
    if (prev) {
      const pl = prev.loc('DstBlobPathOrPrefix');
      errors.push(new PrepareInputError(c.loc('DstBlobPathOrPrefix'), `blob ${c.blobPath} (${c.src}) is also produced by ${prev.src} (${pl.file} row ${pl.row ?? '?'})`));
    } else byBlob.set(c.blobPath, c);
  }
  if (req.mode === 'copy') {
    const seenLower = new Map<string, Candidate>();
    for (const c of candidates) {
      const rel = driveRelativePathForBlob(c.container, c.blobPath.slice(c.container.length + 1)).toLowerCase();
      const prev = seenLower.get(rel);
      if (prev && prev.blobPath !== c.blobPath)
        errors.push(new PrepareInputError(c.loc('DstBlobPathOrPrefix'), `blob ${c.blobPath} and blob ${prev.blobPath} differ only in letter case; they cannot both be stored on an NTFS drive`));
      seenLower.set(rel, c);
    }
    // file-vs-directory clashes: blob "a/b" and blob "a/b/c"
    const dirs = new Set<string>();
    for (const c of candidates) {
      const parts = driveRelativePathForBlob(c.container, c.blobPath.slice(c.container.length + 1)).toLowerCase().split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    for (const c of candidates) {
      const rel = driveRelativePathForBlob(c.container, c.blobPath.slice(c.container.length + 1)).toLowerCase();
      if (dirs.has(rel)) errors.push(new PrepareInputError(c.loc('DstBlobPathOrPrefix'), `blob ${c.blobPath} is also a virtual directory of other blobs; the drive cannot hold both`));
    }
  } else {
    // skip-write: every source must already be on one of the drives.
    for (const c of candidates) {
      const r = realOr(c.src);
      if (!driveReal.some((d) => isUnder(r, d)))
        errors.push(new PrepareInputError(c.loc('BasePath'), `skip-write mode: source ${c.src} is not on any of the drives`));
    }
  }
  if (candidates.length === 0 && errors.length === 0)
    errors.push(new PrepareInputError({ file: 'dataset' }, 'the data set contains no files'));
  if (errors.length) throw new PrepareInputErrors(errors);
  candidates.sort((a, b) => (a.blobPath < b.blobPath ? -1 : a.blobPath > b.blobPath ? 1 : 0));
  return { candidates, aux, driveReal };
}

/** Digest of the enumerated inventory (to detect sources that changed between attempts). */
export function inventoryDigest(inv: Inventory): string {
  const h = createHash('sha256');
  for (const c of inv.candidates) h.update(JSON.stringify([c.src, c.size, c.mtimeMs, c.blobPath, c.blobType]) + '\n');
  for (const [k, v] of [...inv.aux].sort()) h.update(JSON.stringify([k, v.hash]) + '\n');
  return h.digest('hex');
}
