import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetEntry, DriveSpec, PrepareRequest } from '../../common/prepare-contract';
import type { SecretRef } from '../../common/secret-ref';
import { InsufficientCapacityError, PrepareInputError, PrepareInputErrors, formatBytes } from './errors';
import { driveRelativePathForBlob } from './names';
import { readDriveSerial, type DriveIdDeps } from './driveid';
import { AUX_DIR, BLOCK_SIZE, isUnder, realOr, type Candidate, type Inventory } from './inventory';
import { locator } from './origin';


export interface PlannedDrive {
  path: string;
  driveId: string;
  bitLockerKeyRef: SecretRef;
  /** Capacity used for planning (bytes). */
  capacity: number;
}

export interface PlannedFile {
  kind: 'blob' | 'aux';
  src: string;
  size: number;
  mtimeMs: number;
  drive: number;
  /** Path relative to the drive root, `/`-separated. */
  rel: string;
  blobPath?: string;
  blobType?: 'block' | 'page';
  disposition?: DatasetEntry['disposition'];
  /** Index (in plan.files) of the aux copy of the metadata / properties file on the same drive. */
  metadata?: number;
  properties?: number;
  /** For aux files: MD5 computed while validating. */
  hash?: string;
}

export interface Plan {
  version: 1;
  preparationId: string;
  mode: PrepareRequest['mode'];
  inputDigest: string;
  blockSize: number;
  drives: PlannedDrive[];
  files: PlannedFile[];
}

export interface PlanOptions {
  driveIdDeps?: DriveIdDeps;
}

/** Stable digest of the request (what a journal belongs to). */
export function requestDigest(req: PrepareRequest): string {
  const norm = {
    mode: req.mode,
    dataset: req.dataset.map((d) => [d.basePath, d.dstBlobPathOrPrefix, d.blobType, d.disposition, d.metadataFile ?? '', d.propertiesFile ?? '']),
    drives: req.drives.map((d) => [path.resolve(d.path), d.driveId ?? '', d.capacityBytes ?? 0]),
  };
  return createHash('sha256').update(JSON.stringify(norm)).digest('hex');
}

async function resolveDriveIds(req: PrepareRequest, opts: PlanOptions): Promise<string[]> {
  const errors: PrepareInputError[] = [];
  const ids: string[] = [];
  for (const [i, d] of req.drives.entries()) {
    if (d.driveId) {
      ids.push(d.driveId);
      continue;
    }
    try {
      ids.push(await readDriveSerial(d.path, opts.driveIdDeps));
    } catch (e) {
      errors.push(new PrepareInputError(locator(d, 'drives', i)('DriveId'), `no DriveId given and ${(e as Error).message}; add a DriveId column with the drive's serial number`));
      ids.push('');
    }
  }
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    if (!id) return;
    const p = seen.get(id);
    if (p !== undefined) errors.push(new PrepareInputError(locator(req.drives[i] as DriveSpec, 'drives', i)('DriveId'), `drive id ${id} is used by drive ${p + 1} too`));
    seen.set(id, i);
  });
  if (errors.length) throw new PrepareInputErrors(errors);
  return ids;
}

function freeSpace(p: string): { free: number; bsize: number; dev: number } {
  const s = fs.statfsSync(p);
  const dev = fs.statSync(p).dev;
  return { free: Number(s.bavail) * Number(s.bsize), bsize: Number(s.bsize) || 4096, dev };
}

/**
 * Builds the plan: drive facts, aux copies and the spread of files across drives by free
 * capacity (largest file first, each on the drive with the most room; files never split).
 * Throws InsufficientCapacityError when the data cannot fit.
 */
export async function buildPlan(req: PrepareRequest, inv: Inventory, opts: PlanOptions): Promise<Plan> {
  const ids = await resolveDriveIds(req, opts);
  const drives: PlannedDrive[] = [];
  const facts = req.drives.map((d) => freeSpace(d.path));
  req.drives.forEach((d, i) => {
    const f = facts[i] as { free: number };
    drives.push({ path: path.resolve(d.path), driveId: ids[i] ?? '', bitLockerKeyRef: d.bitLockerKeyRef, capacity: Math.min(f.free, d.capacityBytes ?? Infinity) });
  });
  const files: PlannedFile[] = [];
  const perDrive: PlannedFile[][] = drives.map(() => []);
  const auxOnDrive = drives.map(() => new Map<string, PlannedFile>());
  const roundUp = (n: number, bs: number) => Math.max(bs, Math.ceil(n / bs) * bs);

  if (req.mode === 'skip-write') {
    for (const c of inv.candidates) {
      const r = realOr(c.src);
      const di = inv.driveReal.findIndex((d) => isUnder(r, d));
      const rel = path.relative(inv.driveReal[di] as string, r).split(path.sep).join('/');
      const pf: PlannedFile = { kind: 'blob', src: c.src, size: c.size, mtimeMs: c.mtimeMs, drive: di, rel, blobPath: c.blobPath, blobType: c.blobType, disposition: c.disposition };
      perDrive[di]?.push(pf);
      attachAux(pf, c, di);
    }
  } else {
    const need = (c: Candidate, di: number) => {
      const bs = (facts[di] as { bsize: number }).bsize;
      let n = roundUp(c.size, bs) + 700 + 130 * Math.ceil(c.size / BLOCK_SIZE);
      for (const a of [c.metadataFile, c.propertiesFile]) if (a && !auxOnDrive[di]?.has(a)) n += roundUp(inv.aux.get(a)?.size ?? 0, bs);
      return n;
    };
    const remaining = drives.map((d) => d.capacity - 8192);
    const totalNeed = inv.candidates.reduce((s, c) => s + need(c, 0), 0) + 8192 * drives.length;
    const totalHave = drives.reduce((s, d) => s + d.capacity, 0);
    if (totalNeed > totalHave)
      throw new InsufficientCapacityError(
        `the data set needs ${formatBytes(totalNeed)} (${inv.candidates.length} files, incl. file-system and manifest overhead) but the drives have ${formatBytes(totalHave)} free: short by ${formatBytes(totalNeed - totalHave)}; add a drive or remove data`,
        totalNeed - totalHave,
      );
    const bySize = [...inv.candidates].sort((a, b) => b.size - a.size || (a.blobPath < b.blobPath ? -1 : 1));
    for (const c of bySize) {
      let best = -1;
      for (let di = 0; di < drives.length; di++) if (best < 0 || (remaining[di] as number) > (remaining[best] as number)) best = di;
      const n = need(c, best);
      if ((remaining[best] as number) < n) {
        const short = n - (remaining[best] as number);
        throw new InsufficientCapacityError(
          `${c.src} (${formatBytes(c.size)}) fits on no drive: the drive with the most room left (${drives[best]?.path}) has ${formatBytes(Math.max(0, remaining[best] as number))}; short by ${formatBytes(short)} (files are never split across drives)`,
          short,
        );
      }
      remaining[best] = (remaining[best] as number) - n;
      const rel = driveRelativePathForBlob(c.container, c.blobPath.slice(c.container.length + 1));
      const pf: PlannedFile = { kind: 'blob', src: c.src, size: c.size, mtimeMs: c.mtimeMs, drive: best, rel, blobPath: c.blobPath, blobType: c.blobType, disposition: c.disposition };
      perDrive[best]?.push(pf);
      attachAux(pf, c, best);
    }
    // Drives that share one file system must fit together.
    const byDev = new Map<number, { free: number; used: number; paths: string[] }>();
    drives.forEach((d, di) => {
      const f = facts[di] as { free: number; dev: number };
      const g = byDev.get(f.dev) ?? { free: f.free, used: 0, paths: [] };
      g.used += d.capacity - (remaining[di] as number);
      g.paths.push(d.path);
      byDev.set(f.dev, g);
    });
    for (const g of byDev.values())
      if (g.paths.length > 1 && g.used > g.free)
        throw new InsufficientCapacityError(
          `drives ${g.paths.join(', ')} share one file system with ${formatBytes(g.free)} free but need ${formatBytes(g.used)}: short by ${formatBytes(g.used - g.free)}`,
          g.used - g.free,
        );
  }

  function attachAux(pf: PlannedFile, c: Candidate, di: number): void {
    for (const [key, file, sub] of [
      ['metadata', c.metadataFile, 'metadata'],
      ['properties', c.propertiesFile, 'properties'],
    ] as const) {
      if (!file) continue;
      let a = auxOnDrive[di]?.get(file);
      if (!a) {
        const info = inv.aux.get(file);
        if (!info) continue;
        const r = realOr(file);
        const onDrive = req.mode === 'skip-write' && isUnder(r, inv.driveReal[di] as string);
        a = {
          kind: 'aux',
          src: file,
          size: info.size,
          mtimeMs: info.mtimeMs,
          drive: di,
          rel: onDrive ? path.relative(inv.driveReal[di] as string, r).split(path.sep).join('/') : `${AUX_DIR}/${sub}/${info.hash}.xml`,
          hash: info.hash,
        };
        auxOnDrive[di]?.set(file, a);
      }
      (pf as unknown as Record<string, PlannedFile>)[`__${key}`] = a;
    }
  }

  // Final order: per drive, blobs by blob path, then aux files by path.
  for (let di = 0; di < drives.length; di++) {
    const blobs = (perDrive[di] ?? []).sort((a, b) => ((a.blobPath ?? '') < (b.blobPath ?? '') ? -1 : 1));
    const auxes = [...(auxOnDrive[di]?.values() ?? [])].sort((a, b) => (a.rel < b.rel ? -1 : 1));
    for (const f of [...blobs, ...auxes]) files.push(f);
  }
  const indexOf = new Map<PlannedFile, number>(files.map((f, i) => [f, i]));
  for (const f of files) {
    const rec = f as unknown as Record<string, PlannedFile | undefined>;
    const m = rec['__metadata'];
    const p = rec['__properties'];
    delete rec['__metadata'];
    delete rec['__properties'];
    if (m) f.metadata = indexOf.get(m) as number;
    if (p) f.properties = indexOf.get(p) as number;
  }
  return { version: 1, preparationId: req.preparationId, mode: req.mode, inputDigest: '', blockSize: BLOCK_SIZE, drives, files };
}

