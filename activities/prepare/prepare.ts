import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import {
  PrepareRequestSchema,
  type PrepareProgress,
  type PrepareRequest,
  type PrepareResult,
  type PreparedDrive,
} from '../../common/prepare-contract';
import {
  JournalMismatchError,
  PrepareCancelledError,
  PrepareInputError,
  PrepareInputErrors,
  SourceReadError,
} from './errors';
import { Journal, removeStaleTemporaries, writeFileDurably, type JournalRecord } from './journal';
import { MANIFEST_FILE_API_PATH, MANIFEST_FILE_NAME, buildManifest, type ManifestBlob } from './manifest';
import { blockId, toManifestPath } from './names';
import { buildPlan, requestDigest, type Plan, type PlannedFile } from './plan';
import { inventory, inventoryDigest } from './inventory';
import { getOrigin, setOrigin } from './origin';
import { CopyJobError, CopyPool, type BatchReply, type CopyItem } from './pool';
import { destPath, driveWriteError, mapJobError } from './copy-errors';
import type { DriveIdDeps } from './driveid';
import { DurableJournal } from './durable-journal';
import { FileSystemSyncer, canSyncFileSystems } from './file-system-sync';
import { batchesOf, interleave, ratePacer, runQueue, type RatePacer } from './scheduling';

/** Bytes per unit of work handed to a worker (a multiple of the 4 MiB block size). */
export const SEGMENT_BYTES = 64 * 1024 * 1024;

export interface PrepareOptions {
  onProgress?: (p: PrepareProgress) => void;
  signal?: AbortSignal;
  /** Worker threads copying and hashing in parallel (default: available cores + 1, at least 3). */
  concurrency?: number;
  /** Make copied data durable (syncfs of the drive, or fdatasync per file where syncfs is unavailable) before journaling it (default true; false survives only process crashes). */
  syncData?: boolean;
  /** Serial-number lookup overrides (tests). */
  driveIdDeps?: DriveIdDeps;
  /** Diagnostic messages (never contain secrets). */
  log?: (msg: string) => void;
  /** Cap on the bytes read from the sources (and written to the drives) per second; undefined or 0: unlimited. */
  maxBytesPerSecond?: number;
  /** A cap shared with the station's other preparations, instead of maxBytesPerSecond. */
  pacer?: RatePacer;
}

interface Seg {
  file: number;
  offset: number;
  length: number;
}

function segmentsOf(f: PlannedFile, fileIndex: number): Seg[] {
  if (f.size === 0) return [{ file: fileIndex, offset: 0, length: 0 }];
  const out: Seg[] = [];
  for (let o = 0; o < f.size; o += SEGMENT_BYTES) out.push({ file: fileIndex, offset: o, length: Math.min(SEGMENT_BYTES, f.size - o) });
  return out;
}

function validateRequest(reqIn: PrepareRequest): PrepareRequest {
  const parsed = PrepareRequestSchema.safeParse(reqIn);
  if (!parsed.success) {
    const errs = parsed.error.issues.map((i) => new PrepareInputError({ file: 'request', field: i.path.join('.') || undefined }, i.message));
    throw new PrepareInputErrors(errs);
  }
  const req = parsed.data;
  req.dataset.forEach((d, i) => {
    const o = reqIn.dataset[i] && getOrigin(reqIn.dataset[i]);
    if (o) setOrigin(d, o);
  });
  req.drives.forEach((d, i) => {
    const o = reqIn.drives[i] && getOrigin(reqIn.drives[i]);
    if (o) setOrigin(d, o);
  });
  return req;
}

/**
 * Copies and hashes the data set onto the drives and writes each drive's DriveManifest.xml.
 * Resumable: the plan and every finished range are journaled under journalDir/preparationId.
 */
export async function prepareDrives(reqIn: PrepareRequest, opts: PrepareOptions = {}): Promise<PrepareResult> {
  const log = opts.log ?? (() => undefined);
  const req = validateRequest(reqIn);
  if (opts.signal?.aborted) throw new PrepareCancelledError();
  const pacer = opts.pacer ?? (opts.maxBytesPerSecond ? ratePacer(opts.maxBytesPerSecond) : undefined);

  // 1. Validate every input before anything is written anywhere.
  const inv = inventory(req);
  const digest = `${requestDigest(req)}:${inventoryDigest(inv)}`;
  const planText = Journal.readPlanText(req.journalDir, req.preparationId);
  let plan: Plan;
  let fresh = false;
  if (planText !== undefined) {
    plan = JSON.parse(planText) as Plan;
    if (plan.inputDigest !== digest)
      throw new JournalMismatchError(
        `journal ${Journal.dirFor(req.journalDir, req.preparationId)} belongs to different inputs (the data set, drives or source files changed since the preparation started); use a new preparation id or restore the inputs`,
      );
    log(`resuming preparation ${req.preparationId} from its journal`);
  } else {
    plan = await buildPlan(req, inv, { driveIdDeps: opts.driveIdDeps });
    plan.inputDigest = digest;
    const errors: PrepareInputError[] = [];
    for (const [di, d] of plan.drives.entries()) {
      if (fs.existsSync(path.join(d.path, MANIFEST_FILE_NAME)))
        errors.push(new PrepareInputError({ file: d.path, field: 'DriveLetter', row: di + 1 }, `drive already has a ${MANIFEST_FILE_NAME} (prepared before?); use an empty drive or the preparation's original id`));
    }
    if (req.mode === 'copy') {
      // One listing per destination directory rather than one stat per file; most do not exist yet.
      const listings = new Map<string, Set<string>>();
      const listing = (dir: string) => {
        let names = listings.get(dir);
        if (!names) {
          try {
            names = new Set(fs.readdirSync(dir));
          } catch {
            names = new Set();
          }
          listings.set(dir, names);
        }
        return names;
      };
      for (const f of plan.files) {
        const dp = destPath(plan, f);
        if (listing(path.dirname(dp)).has(path.basename(dp))) errors.push(new PrepareInputError({ file: dp }, `would overwrite an existing file on the drive (${f.src})`));
      }
    }
    if (errors.length) throw new PrepareInputErrors(errors);
    fresh = true;
  }
  if (opts.signal?.aborted) throw new PrepareCancelledError();

  // A manifest write killed part-way left its temporary file on the drive.
  for (const d of plan.drives) for (const t of removeStaleTemporaries(path.join(d.path, MANIFEST_FILE_NAME))) log(`removed ${t} left on ${d.path} by an interrupted run`);

  // 2. Journal: write the frozen plan first (nothing is on the drives yet).
  const { journal, records } = Journal.open(req.journalDir, req.preparationId);
  try {
    if (fresh) journal.writePlan(JSON.stringify(plan));
    return await execute(req, plan, journal, records, opts, log, pacer);
  } finally {
    journal.close();
  }
}

async function execute(
  req: PrepareRequest,
  plan: Plan,
  journal: Journal,
  records: JournalRecord[],
  opts: PrepareOptions,
  log: (m: string) => void,
  pacer: RatePacer | undefined,
): Promise<PrepareResult> {
  const files = plan.files;
  const segs = files.map((f, i) => segmentsOf(f, i));
  /** file → offset → hashes (+ whole) of journaled ranges */
  const done = files.map(() => new Map<number, { h: string[]; w?: string }>());
  const manifests = new Map<number, { hash: string; size: number }>();
  let complete = false;
  for (const r of records) {
    if (r.t === 'seg') done[r.f]?.set(r.o, r.w === undefined ? { h: r.h } : { h: r.h, w: r.w });
    else if (r.t === 'manifest') manifests.set(r.d, { hash: r.hash, size: r.size });
    else if (r.t === 'complete') complete = true;
  }
  if (complete) {
    const result = tryCompletedResult(req, plan, manifests);
    if (result) {
      log('preparation already complete; manifests verified against the journal');
      return result;
    }
  }
  manifests.clear();

  const bytesTotal = files.reduce((s, f) => s + f.size, 0);
  const progress: PrepareProgress = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal };
  const emit = () => opts.onProgress?.({ ...progress });
  const copy = req.mode === 'copy';
  // One worker more than cores: the workers do synchronous I/O, so a spare one keeps the CPUs busy while another waits on the disk.
  const poolSize = Math.max(1, opts.concurrency ?? Math.max(2, os.availableParallelism()) + 1);
  const pool = new CopyPool(poolSize);
  const syncData = opts.syncData ?? true;
  const writesDrives = copy || files.some((f) => f.kind === 'aux');
  // One syncfs per drive per journal commit (as `cp && sync` does) instead of one fdatasync per file.
  const syncfs = syncData && writesDrives && canSyncFileSystems(plan.drives.map((d) => d.path));
  const syncer = syncfs ? new FileSystemSyncer(plan.drives.map((d) => d.path)) : null;
  const durable = new DurableJournal(journal, syncer);
  log(`copying with ${poolSize} workers, MD5 by ${pool.hasher === 'simd' ? 'the multi-buffer SIMD kernel' : 'node:crypto'}, data made durable by ${!syncData ? 'nothing (--no-sync)' : syncfs ? 'syncfs per drive' : 'fdatasync per file'}${pacer ? `, capped at ${(pacer.bytesPerSecond / (1024 * 1024)).toFixed(1)} MiB/s` : ''}`);

  const pace = async (batch: { item: CopyItem }[]) => pacer?.take(batch.reduce((n, b) => n + b.item.length, 0), opts.signal);
  const isFileDone = (fi: number) => (segs[fi] ?? []).every((s) => done[fi]?.has(s.offset));
  try {
    // 3. Decide what is left. Finished files are checked by size; partial files' ranges are re-verified.
    const toVerify: Seg[] = [];
    for (let fi = 0; fi < files.length; fi++) {
      const f = files[fi] as PlannedFile;
      const dm = done[fi] as Map<number, { h: string[] }>;
      if (dm.size === 0) continue;
      if (!copy) continue;
      let size = -1;
      try {
        size = fs.statSync(destPath(plan, f)).size;
      } catch {
        /* missing */
      }
      if (isFileDone(fi)) {
        if (size !== f.size) {
          log(`${f.rel}: journaled as copied but its size on the drive is ${size}; copying it again`);
          dm.clear();
        }
      } else if (size < 0) dm.clear();
      else for (const s of segs[fi] ?? []) if (dm.has(s.offset)) toVerify.push(s);
    }
    if (toVerify.length) {
      log(`verifying ${toVerify.length} journaled ranges of partially copied files`);
      const items = toVerify.map((s): CopyItem => ({ src: destPath(plan, files[s.file] as PlannedFile), dst: null, offset: s.offset, length: s.length, blockSize: plan.blockSize, fileSize: -1, sync: false }));
      await runQueue(batchesOf(toVerify.map((s, i) => ({ seg: s, item: items[i] as CopyItem }))), poolSize, opts.signal, async (batch) => {
        await pace(batch);
        let reply: BatchReply;
        try {
          reply = await pool.run(batch.map((b) => b.item));
        } catch {
          reply = { results: [] };
        }
        batch.forEach((b, i) => {
          const dm = done[b.seg.file] as Map<number, { h: string[] }>;
          const got = reply.results[i];
          if (!got || got.join() !== dm.get(b.seg.offset)?.h.join()) dm.delete(b.seg.offset);
        });
      });
    }
    for (let fi = 0; fi < files.length; fi++) {
      for (const s of segs[fi] ?? []) if (done[fi]?.has(s.offset)) progress.bytesDone += s.length;
      if (isFileDone(fi)) progress.filesDone++;
    }
    emit();

    // 4. Copy + hash the rest: batches of ranges, the drives interleaved so that all are written at once, and on
    // each drive the files' ranges interleaved too: writers of one file take turns on its inode lock (spinning for
    // it), so the workers at any moment should be writing different files.
    const perDrive = plan.drives.map(() => [] as { seg: Seg; item: CopyItem }[][]);
    for (let fi = 0; fi < files.length; fi++) {
      const f = files[fi] as PlannedFile;
      const ranges: { seg: Seg; item: CopyItem }[] = [];
      for (const s of segs[fi] ?? []) {
        if (done[fi]?.has(s.offset)) continue;
        let dst = copy || f.kind === 'aux' ? destPath(plan, f) : null;
        if (dst === f.src) dst = null;
        const item: CopyItem = { src: f.src, dst, offset: s.offset, length: s.length, blockSize: plan.blockSize, fileSize: f.size, mtimeMs: f.mtimeMs, sync: syncData && !syncfs };
        ranges.push({ seg: s, item });
      }
      if (ranges.length) perDrive[f.drive]?.push(ranges);
    }
    const batches = interleave(perDrive.map((fileRanges) => batchesOf(interleave(fileRanges))));
    const remaining = batches.reduce((n, b) => n + b.length, 0);
    if (remaining) log(`${remaining} ranges in ${batches.length} batches to ${copy ? 'copy and hash' : 'hash'}`);
    const record = (s: Seg, hashes: string[]) => {
      const f = files[s.file] as PlannedFile;
      // Metadata / properties files are at most 1 MiB: their whole-file MD5 is their one block's.
      const whole = f.kind === 'aux' ? (hashes[0] ?? EMPTY_MD5) : undefined;
      if (f.kind === 'aux' && whole !== f.hash) throw new SourceReadError(`${f.src} changed since it was validated (MD5 ${whole ?? '?'} ≠ ${f.hash ?? '?'})`, f.src, false);
      const rec: JournalRecord = whole === undefined ? { t: 'seg', f: s.file, o: s.offset, h: hashes } : { t: 'seg', f: s.file, o: s.offset, h: hashes, w: whole };
      durable.add(rec, copy || f.kind === 'aux' ? f.drive : null);
      done[s.file]?.set(s.offset, whole === undefined ? { h: hashes } : { h: hashes, w: whole });
      progress.bytesDone += s.length;
      if (isFileDone(s.file)) progress.filesDone++;
    };
    await runQueue(batches, poolSize * 2, opts.signal, async (batch) => {
      // Hashing-only batches count too: they read the sources.
      await pace(batch);
      progress.currentFile = batch[0]?.item.src;
      let reply: BatchReply;
      try {
        reply = await pool.run(batch.map((b) => b.item));
      } catch (e) {
        throw mapJobError(e, plan, files[batch[0]?.seg.file ?? 0] as PlannedFile);
      }
      reply.results.forEach((hashes, i) => record((batch[i] as { seg: Seg }).seg, hashes));
      emit();
      if (reply.failure) {
        const failed = batch[reply.results.length] as { seg: Seg; item: CopyItem };
        throw mapJobError(new CopyJobError(reply.failure.message, reply.failure.side, reply.failure.code), plan, files[failed.seg.file] as PlannedFile);
      }
    });
    await durable.drain();
  } finally {
    await pool.close();
    await durable.drain().catch(() => undefined);
    syncer?.close();
  }
  if (opts.signal?.aborted) throw new PrepareCancelledError();

  // 5. Manifests (every byte they describe is durable on its drive by now).
  delete progress.currentFile;
  const out: PreparedDrive[] = [];
  for (const [di, d] of plan.drives.entries()) {
    const blobs: ManifestBlob[] = [];
    let fileCount = 0;
    let byteCount = 0;
    for (const [fi, f] of files.entries()) {
      if (f.drive !== di || f.kind !== 'blob') continue;
      const hashes: string[] = [];
      for (const s of segs[fi] ?? []) hashes.push(...(done[fi]?.get(s.offset)?.h ?? []));
      const mb: ManifestBlob = {
        blobPath: f.blobPath ?? '',
        filePath: toManifestPath(f.rel),
        length: f.size,
        disposition: f.disposition ?? 'rename',
        kind: f.blobType ?? 'block',
        blockSize: plan.blockSize,
        hashes,
      };
      for (const key of ['metadata', 'properties'] as const) {
        const ai = f[key];
        if (ai === undefined) continue;
        const a = files[ai] as PlannedFile;
        mb[key] = { filePath: toManifestPath(a.rel), hash: done[ai]?.get(0)?.w ?? a.hash ?? '' };
      }
      blobs.push(mb);
      fileCount++;
      byteCount += f.size;
    }
    const xml = buildManifest({ driveId: d.driveId, blobs }, blockId);
    try {
      writeFileDurably(path.join(d.path, MANIFEST_FILE_NAME), xml);
    } catch (e) {
      throw driveWriteError(e, d, `writing ${MANIFEST_FILE_NAME} (${xml.length} bytes)`, xml.length);
    }
    const hash = createHash('md5').update(xml).digest('hex').toUpperCase();
    journal.append({ t: 'manifest', d: di, hash, size: xml.length });
    out.push({
      driveId: d.driveId,
      drivePath: d.path,
      bitLockerKeyRef: req.drives[di]?.bitLockerKeyRef ?? d.bitLockerKeyRef,
      manifestFile: MANIFEST_FILE_API_PATH,
      manifestHash: hash,
      fileCount,
      byteCount,
    });
  }
  journal.append({ t: 'complete' });
  journal.commit();
  emit();
  return { drives: out };
}

const EMPTY_MD5 = createHash('md5').digest('hex').toUpperCase();
function tryCompletedResult(req: PrepareRequest, plan: Plan, manifests: Map<number, { hash: string; size: number }>): PrepareResult | undefined {
  const out: PreparedDrive[] = [];
  for (const [di, d] of plan.drives.entries()) {
    const m = manifests.get(di);
    if (!m) return undefined;
    let buf: Buffer;
    try {
      buf = fs.readFileSync(path.join(d.path, MANIFEST_FILE_NAME));
    } catch {
      return undefined;
    }
    if (createHash('md5').update(buf).digest('hex').toUpperCase() !== m.hash) return undefined;
    const blobs = plan.files.filter((f) => f.drive === di && f.kind === 'blob');
    out.push({
      driveId: d.driveId,
      drivePath: d.path,
      bitLockerKeyRef: req.drives[di]?.bitLockerKeyRef ?? d.bitLockerKeyRef,
      manifestFile: MANIFEST_FILE_API_PATH,
      manifestHash: m.hash,
      fileCount: blobs.length,
      byteCount: blobs.reduce((s, f) => s + f.size, 0),
    });
  }
  return { drives: out };
}
