import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { MANIFEST_FILE_API_PATH, MANIFEST_FILE_NAME, parseManifest, type ParsedManifest } from './manifest';
import { Journal } from './journal';
import { toManifestPath } from './names';
import type { Plan } from './plan';
import { CopyPool, type BatchReply } from './pool';

export interface VerifyMismatch {
  /** Path relative to the drive root (manifest notation, `\dir\file`). */
  file: string;
  blob?: string;
  offset?: number;
  expected: string;
  actual: string;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  mismatches: VerifyMismatch[];
}

export interface VerifyProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  currentFile?: string;
}

export interface VerifyOptions {
  /** The manifest hash recorded for the job (PrepareResult.manifestHash); checked when given. */
  expectedManifestHash?: string;
  concurrency?: number;
  onProgress?: (p: VerifyProgress) => void;
  /** Manifest FilePath → source file: each source is also compared with the manifest (see sourcesFromJournal). */
  sources?: Map<string, string>;
}

function onDrive(drivePath: string, manifestPath: string): string {
  return path.join(drivePath, ...manifestPath.split('\\').filter((s) => s !== ''));
}

/**
 * Re-reads a prepared drive and checks the manifest against its recorded hash and every block
 * / page range / metadata / properties file against the manifest. Lists every mismatch.
 */
export async function verifyDrive(drivePath: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const mismatches: VerifyMismatch[] = [];
  const mfile = path.join(drivePath, MANIFEST_FILE_NAME);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(mfile);
  } catch (e) {
    return { ok: false, mismatches: [{ file: MANIFEST_FILE_API_PATH, expected: 'manifest', actual: (e as NodeJS.ErrnoException).code ?? 'unreadable', reason: 'manifest-missing' }] };
  }
  const mhash = createHash('md5').update(buf).digest('hex').toUpperCase();
  if (opts.expectedManifestHash !== undefined && opts.expectedManifestHash.toUpperCase() !== mhash)
    mismatches.push({ file: MANIFEST_FILE_API_PATH, expected: opts.expectedManifestHash.toUpperCase(), actual: mhash, reason: 'manifest-hash' });
  let manifest: ParsedManifest;
  try {
    manifest = parseManifest(buf.toString('utf8'));
  } catch (e) {
    mismatches.push({ file: MANIFEST_FILE_API_PATH, expected: 'DriveManifest XML', actual: (e as Error).message, reason: 'manifest-invalid' });
    return { ok: false, mismatches };
  }

  interface Check {
    file: string;
    blob: string;
    abs: string;
    offset: number;
    length: number;
    hash: string;
    reason: string;
  }
  const checks: Check[] = [];
  const auxChecked = new Set<string>();
  let bytesTotal = 0;
  for (const b of manifest.blobs) {
    const abs = onDrive(drivePath, b.filePath);
    let size = -1;
    try {
      const st = fs.statSync(abs);
      size = st.isFile() ? st.size : -1;
    } catch {
      /* missing */
    }
    if (size < 0) {
      mismatches.push({ file: b.filePath, blob: b.blobPath, expected: `file of ${b.length} bytes`, actual: 'missing', reason: 'file-missing' });
    } else {
      if (size !== b.length) mismatches.push({ file: b.filePath, blob: b.blobPath, expected: String(b.length), actual: String(size), reason: 'length' });
      let expectOffset = 0;
      for (const r of b.ranges) {
        if (b.kind === 'block' && r.offset !== expectOffset)
          mismatches.push({ file: b.filePath, blob: b.blobPath, offset: r.offset, expected: `block at offset ${expectOffset}`, actual: `block at offset ${r.offset}`, reason: 'block-list-gap' });
        if (r.length > 4 * 1024 * 1024 || (b.kind === 'page' && (r.offset % 512 !== 0 || r.length % 512 !== 0)))
          mismatches.push({ file: b.filePath, blob: b.blobPath, offset: r.offset, expected: 'valid range', actual: `length ${r.length}`, reason: 'range-invalid' });
        expectOffset = r.offset + r.length;
        if (r.length > 0 && r.length <= 4 * 1024 * 1024) {
          checks.push({ file: b.filePath, blob: b.blobPath, abs, offset: r.offset, length: r.length, hash: r.hash.toUpperCase(), reason: b.kind === 'page' ? 'page-range-hash' : 'block-hash' });
          bytesTotal += r.length;
          const source = opts.sources?.get(b.filePath);
          if (source !== undefined) {
            // A copy torn by a source that changed mid-copy matches the manifest (it describes the copy) but not the source.
            checks.push({ file: b.filePath, blob: b.blobPath, abs: source, offset: r.offset, length: r.length, hash: r.hash.toUpperCase(), reason: 'source-differs' });
            bytesTotal += r.length;
          }
        }
      }
      if (b.kind === 'block' && expectOffset !== b.length)
        mismatches.push({ file: b.filePath, blob: b.blobPath, expected: `blocks covering ${b.length} bytes`, actual: `${expectOffset} bytes`, reason: 'block-list-coverage' });
    }
    for (const [aux, reason] of [
      [b.metadata, 'metadata-hash'],
      [b.properties, 'properties-hash'],
    ] as const) {
      if (!aux || auxChecked.has(aux.filePath + aux.hash)) continue;
      auxChecked.add(aux.filePath + aux.hash);
      let actual: string;
      try {
        actual = createHash('md5').update(fs.readFileSync(onDrive(drivePath, aux.filePath))).digest('hex').toUpperCase();
      } catch (e) {
        actual = `unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
      }
      if (actual !== aux.hash.toUpperCase()) mismatches.push({ file: aux.filePath, blob: b.blobPath, expected: aux.hash.toUpperCase(), actual, reason });
    }
  }

  // Each block of a file is checked on its own (the manifest's ranges need not be 4 MiB apart), many per worker message.
  const pool = new CopyPool(Math.max(1, opts.concurrency ?? Math.max(2, os.availableParallelism())));
  const filesTotal = new Set(checks.map((c) => c.abs)).size;
  const blocksLeft = new Map<string, number>();
  for (const c of checks) blocksLeft.set(c.abs, (blocksLeft.get(c.abs) ?? 0) + 1);
  let filesDone = 0;
  let bytesDone = 0;
  const batches: Check[][] = [];
  let cur: Check[] = [];
  let curBytes = 0;
  for (const c of checks) {
    if (cur.length && (curBytes + c.length > 16 * 1024 * 1024 || cur.length >= 64)) {
      batches.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(c);
    curBytes += c.length;
  }
  if (cur.length) batches.push(cur);
  try {
    let next = 0;
    const lane = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as Check[];
        let reply: BatchReply;
        try {
          reply = await pool.run(batch.map((c) => ({ src: c.abs, dst: null, offset: c.offset, length: c.length, blockSize: c.length, fileSize: -1, sync: false })));
        } catch (e) {
          reply = { results: [], failure: { side: 'source', message: (e as Error).message } };
        }
        for (const [i, c] of batch.entries()) {
          const got = reply.results[i]?.[0];
          // A failed block only makes that block unreadable; the rest of the batch is checked again on its own.
          const actual = got ?? (i === reply.results.length ? `unreadable (${reply.failure?.message ?? 'error'})` : await hashOne(pool, c));
          if (actual !== c.hash) mismatches.push({ file: c.file, blob: c.blob, offset: c.offset, expected: c.hash, actual, reason: c.reason });
          bytesDone += c.length;
          const left = (blocksLeft.get(c.abs) ?? 1) - 1;
          blocksLeft.set(c.abs, left);
          if (left === 0) filesDone++;
        }
        opts.onProgress?.({ filesDone, filesTotal, bytesDone, bytesTotal, currentFile: batch[batch.length - 1]?.file ?? '' });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? Math.max(2, os.availableParallelism())) }, lane));
  } finally {
    await pool.close();
  }
  mismatches.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.offset ?? -1) - (b.offset ?? -1)));
  return { ok: mismatches.length === 0, mismatches };
}

async function hashOne(pool: CopyPool, c: { abs: string; offset: number; length: number }): Promise<string> {
  try {
    const r = await pool.run([{ src: c.abs, dst: null, offset: c.offset, length: c.length, blockSize: c.length, fileSize: -1, sync: false }]);
    return r.results[0]?.[0] ?? `unreadable (${r.failure?.message ?? 'error'})`;
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
}

/**
 * The source of every file on `drivePath`, from the plan in a preparation's journal (copy mode
 * only: in skip-write mode the drive's files are the sources). Undefined when there is no such plan
 * or the drive is not one of its drives.
 */
export function sourcesFromJournal(journalDir: string, preparationId: string, drivePath: string): Map<string, string> | undefined {
  const text = Journal.readPlanText(journalDir, preparationId);
  if (text === undefined) return undefined;
  const plan = JSON.parse(text) as Plan;
  const di = plan.drives.findIndex((d) => path.resolve(d.path) === path.resolve(drivePath));
  if (di < 0) return undefined;
  const out = new Map<string, string>();
  if (plan.mode !== 'copy') return out;
  for (const f of plan.files) if (f.drive === di && f.kind === 'blob') out.set(toManifestPath(f.rel), f.src);
  return out;
}
