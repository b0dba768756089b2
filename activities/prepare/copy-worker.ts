/**
 * Worker thread of CopyPool (see pool.ts): copies and hashes batches of byte ranges.
 *
 * A source file that changes while it is read would give a drive copy that matches neither its
 * old nor its new content (a torn copy), so every range is checked: the source's size and
 * modification time must equal the planned ones before the read, and its identity (device,
 * inode, size, mtime, ctime, in nanoseconds) must be unchanged after it. Timestamps cannot show
 * a change made within the file system's timestamp granularity of the last one, so a planned
 * range of a file modified less than RACY_MS ago is read and hashed a second time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { createBlockHasher, LANES, LANE_CAPACITY } from './md5/hasher';
import type { BatchReply, CopyFailure, CopyItem, CopyWorkerData, WorkerReply, WorkerRequest } from './pool';

/** FAT's 2 s is the coarsest modification-time granularity among the file systems a source may be on. */
const RACY_MS = 2500;

/**
 * Ranges of at least this many bytes are written with O_DIRECT, in multiples of DIRECT_ALIGN from
 * the kernel's page-aligned lane buffers: straight to the drive instead of being copied into the
 * page cache and written back later, which cost more CPU than hashing (measured here: 2 GB of large
 * files, 1.9-2.9 s of CPU buffered plus writeback, 0.46 s with O_DIRECT). Small files stay buffered:
 * a direct write waits for the disk, and many small ones would each pay a seek. The unaligned tail
 * of a range goes through the ordinary descriptor; durability is unchanged (syncfs or fdatasync
 * still follows, and flushes the drive's cache).
 */
const DIRECT_MIN_BYTES = 4 * 1024 * 1024;
const DIRECT_ALIGN = 4096;
/** Devices (st_dev) where O_DIRECT was refused (tmpfs, some FUSE file systems): written buffered from then on. */
const noDirect = new Set<number>();

const hasher = createBlockHasher((workerData as CopyWorkerData).kernel);

class ItemFailure extends Error {
  constructor(readonly failure: CopyFailure) {
    super(failure.message);
  }
}

function fail(side: CopyFailure['side'], e: unknown, context?: string): ItemFailure {
  const err = e as NodeJS.ErrnoException;
  const f: CopyFailure = { side, message: (context ? `${context}: ` : '') + (err?.message ?? String(e)) };
  if (err?.code) f.code = err.code;
  return new ItemFailure(f);
}

function changed(message: string): ItemFailure {
  return new ItemFailure({ side: 'source', code: 'ECHANGED', message });
}

/** Lanes filled but not hashed yet: which item and block each holds. */
interface Slot {
  item: number;
  block: number;
  length: number;
}

function readFully(fd: number, buf: Buffer, length: number, position: number, src: string): number {
  let got = 0;
  try {
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
  } catch (e) {
    throw fail('source', e, `read ${src} at offset ${position + got}`);
  }
  return got;
}

function sameIdentity(a: fs.BigIntStats, b: fs.BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function openDestination(dst: string): number {
  // Never truncate: a resumed copy rewrites ranges in place.
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT;
  try {
    return fs.openSync(dst, flags, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fail('destination', e, `open ${dst}`);
    try {
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      return fs.openSync(dst, flags, 0o644);
    } catch (e2) {
      throw fail('destination', e2, `open ${dst}`);
    }
  }
}

/** An O_DIRECT descriptor for the destination, or undefined where its file system does not take O_DIRECT. */
function openDirect(dst: string, dfd: number): number | undefined {
  const dev = fs.fstatSync(dfd).dev;
  if (noDirect.has(dev)) return undefined;
  try {
    return fs.openSync(dst, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw fail('destination', e, `open ${dst}`);
    noDirect.add(dev);
    return undefined;
  }
}

function writeFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let w = 0;
  while (w < length) w += fs.writeSync(fd, buf, offset + w, length - w, position + w);
}

function runBatch(items: CopyItem[]): BatchReply {
  const hashes: string[][] = items.map(() => []);
  const slots: Slot[] = [];
  const flush = () => {
    if (!slots.length) return;
    const h = hasher.hash(slots.map((s) => s.length));
    slots.forEach((s, i) => ((hashes[s.item] as string[])[s.block] = h[i] as string));
    slots.length = 0;
  };

  const copyItem = (index: number, item: CopyItem) => {
    if (item.blockSize <= 0 || item.blockSize > LANE_CAPACITY) throw new Error(`block size ${item.blockSize} is outside 1..${LANE_CAPACITY}`);
    let sfd: number | undefined;
    let dfd: number | undefined;
    let direct: number | undefined;
    try {
      try {
        sfd = fs.openSync(item.src, 'r');
      } catch (e) {
        throw fail('source', e, `open ${item.src}`);
      }
      const before = fs.fstatSync(sfd, { bigint: true });
      if (item.fileSize >= 0 && Number(before.size) !== item.fileSize)
        throw changed(`${item.src} is ${before.size} bytes but was ${item.fileSize} when the preparation was planned: it changed`);
      if (item.mtimeMs !== undefined && fs.fstatSync(sfd).mtimeMs !== item.mtimeMs)
        throw changed(`${item.src} was modified after the preparation was planned (modification time ${new Date(fs.fstatSync(sfd).mtimeMs).toISOString()}, planned ${new Date(item.mtimeMs).toISOString()})`);
      if (item.dst !== null) dfd = openDestination(item.dst);
      if (item.dst !== null && dfd !== undefined && item.length >= DIRECT_MIN_BYTES && hasher.pageAligned) direct = openDirect(item.dst, dfd);
      const end = item.offset + item.length;
      let block = 0;
      for (let pos = item.offset; pos < end; pos += item.blockSize, block++) {
        const want = Math.min(item.blockSize, end - pos);
        if (slots.length === LANES) flush();
        const lane = hasher.lanes[slots.length] as Buffer;
        const got = readFully(sfd, lane, want, pos, item.src);
        if (got < want) throw changed(`${item.src} is shorter than expected (${pos + got} of ${item.fileSize} bytes): it changed during the preparation`);
        if (dfd !== undefined) {
          try {
            let aligned = direct !== undefined && pos % DIRECT_ALIGN === 0 ? got - (got % DIRECT_ALIGN) : 0;
            if (aligned > 0 && direct !== undefined) {
              try {
                writeFully(direct, lane, 0, aligned, pos);
              } catch (e) {
                if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
                noDirect.add(fs.fstatSync(dfd).dev);
                fs.closeSync(direct);
                direct = undefined;
                aligned = 0;
              }
            }
            writeFully(dfd, lane, aligned, got - aligned, pos + aligned);
          } catch (e) {
            throw fail('destination', e, `write ${item.dst ?? ''} at offset ${pos}`);
          }
        }
        slots.push({ item: index, block, length: want });
      }
      const after = fs.fstatSync(sfd, { bigint: true });
      if (!sameIdentity(before, after)) throw changed(`${item.src} was modified while it was being copied`);
      if (item.mtimeMs !== undefined && Date.now() - Number(after.mtimeNs / 1_000_000n) < RACY_MS) rehash(index, item, sfd);
      if (dfd !== undefined && item.sync) {
        try {
          fs.fdatasyncSync(dfd);
        } catch (e) {
          throw fail('destination', e, `fdatasync ${item.dst ?? ''}`);
        }
      }
    } finally {
      if (sfd !== undefined) fs.closeSync(sfd);
      if (dfd !== undefined) fs.closeSync(dfd);
      if (direct !== undefined) fs.closeSync(direct);
    }
  };

  /** Reads the range again and compares block hashes: the file was modified too recently for its timestamps to show another change. */
  const rehash = (index: number, item: CopyItem, sfd: number) => {
    flush();
    const first = hashes[index] as string[];
    const end = item.offset + item.length;
    const lengths: number[] = [];
    let block = 0;
    const compare = () => {
      const again = hasher.hash(lengths);
      again.forEach((h, i) => {
        if (h !== first[block - lengths.length + i]) throw changed(`${item.src} was modified while it was being copied (its content differs on a second read)`);
      });
      lengths.length = 0;
    };
    for (let pos = item.offset; pos < end; pos += item.blockSize) {
      const want = Math.min(item.blockSize, end - pos);
      if (readFully(sfd, hasher.lanes[lengths.length] as Buffer, want, pos, item.src) < want) throw changed(`${item.src} shrank while it was being copied`);
      lengths.push(want);
      block++;
      if (lengths.length === LANES) compare();
    }
    if (lengths.length) compare();
  };

  for (const [i, item] of items.entries()) {
    try {
      copyItem(i, item);
    } catch (e) {
      flush();
      const failure = e instanceof ItemFailure ? e.failure : { side: 'source' as const, message: (e as Error).message };
      return { results: hashes.slice(0, i), failure };
    }
  }
  flush();
  return { results: hashes };
}

parentPort?.on('message', (m: WorkerRequest) => {
  const reply: WorkerReply = { id: m.id, ...runBatch(m.items) };
  parentPort?.postMessage(reply);
});
