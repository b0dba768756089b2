import { Worker } from 'node:worker_threads';

/**
 * A pool of worker threads that copy and hash byte ranges of files. Each job reads the range
 * [offset, offset+length) of `src` once in blocks of `blockSize`, writes it at the same offset
 * of `dst` (unless dst is null: hash only) and returns the upper-case hex MD5 of every block
 * (and of the whole range when `whole`). MD5 is CPU-bound, so the workers hash on all cores;
 * the I/O is synchronous inside each worker, which avoids thread-pool hops per block.
 */

export interface RangeJob {
  src: string;
  /** Destination path (created when missing, never truncated), or null to only hash. */
  dst: string | null;
  offset: number;
  length: number;
  blockSize: number;
  /** Also return the MD5 of the whole range. */
  whole: boolean;
  /** fdatasync the destination before reporting success. */
  sync: boolean;
  /** Expected total size of the source file (the job fails if the file is shorter). */
  fileSize: number;
}

export interface RangeResult {
  hashes: string[];
  whole?: string;
}

export class RangeJobError extends Error {
  constructor(
    message: string,
    /** Which side failed. */
    readonly side: 'source' | 'destination',
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'RangeJobError';
  }
}

type WorkerReply =
  | { id: number; ok: true; hashes: string[]; whole?: string }
  | { id: number; ok: false; side: 'source' | 'destination'; code?: string; message: string };

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
let buf = Buffer.allocUnsafe(workerData.blockSize);
function fail(id, side, e, extra) {
  parentPort.postMessage({ id, ok: false, side, code: e && e.code, message: (extra ? extra + ': ' : '') + (e && e.message ? e.message : String(e)) });
}
parentPort.on('message', (m) => {
  const { id, job } = m;
  if (buf.length < job.blockSize) buf = Buffer.allocUnsafe(job.blockSize);
  let sfd, dfd;
  try {
    try { sfd = fs.openSync(job.src, 'r'); } catch (e) { return fail(id, 'source', e); }
    if (job.dst !== null) {
      const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT;
      try { dfd = fs.openSync(job.dst, flags, 0o644); }
      catch (e) {
        if (e && e.code === 'ENOENT') {
          try { fs.mkdirSync(path.dirname(job.dst), { recursive: true }); dfd = fs.openSync(job.dst, flags, 0o644); }
          catch (e2) { return fail(id, 'destination', e2); }
        } else return fail(id, 'destination', e);
      }
    }
    const hashes = [];
    const whole = job.whole ? crypto.createHash('md5') : null;
    let pos = job.offset;
    const end = job.offset + job.length;
    while (pos < end) {
      const want = Math.min(job.blockSize, end - pos);
      let got = 0;
      try {
        while (got < want) { const n = fs.readSync(sfd, buf, got, want - got, pos + got); if (n === 0) break; got += n; }
      } catch (e) { return fail(id, 'source', e, 'read ' + job.src + ' at offset ' + (pos + got)); }
      if (got < want) {
        return fail(id, 'source', { code: 'ESHRUNK', message: job.src + ' is shorter than expected (' + (pos + got) + ' of ' + job.fileSize + ' bytes): it changed during the preparation' });
      }
      const chunk = got === buf.length ? buf : buf.subarray(0, got);
      if (dfd !== undefined) {
        try { let w = 0; while (w < got) w += fs.writeSync(dfd, chunk, w, got - w, pos + w); }
        catch (e) { return fail(id, 'destination', e, 'write ' + job.dst + ' at offset ' + pos); }
      }
      hashes.push(crypto.createHash('md5').update(chunk).digest('hex').toUpperCase());
      if (whole) whole.update(chunk);
      pos += got;
    }
    if (end === job.fileSize) {
      try { if (fs.fstatSync(sfd).size !== job.fileSize) return fail(id, 'source', { code: 'ECHANGED', message: job.src + ' changed size during the preparation' }); }
      catch (e) { return fail(id, 'source', e); }
    }
    if (dfd !== undefined && job.sync) {
      try { fs.fdatasyncSync(dfd); } catch (e) { return fail(id, 'destination', e, 'fdatasync ' + job.dst); }
    }
    const reply = { id, ok: true, hashes };
    if (whole) reply.whole = whole.digest('hex').toUpperCase();
    parentPort.postMessage(reply);
  } finally {
    if (sfd !== undefined) try { fs.closeSync(sfd); } catch {}
    if (dfd !== undefined) try { fs.closeSync(dfd); } catch {}
  }
});
`;

interface Pending {
  job: RangeJob;
  resolve: (r: RangeResult) => void;
  reject: (e: Error) => void;
}

export class RangePool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: { id: number; p: Pending }[] = [];
  private readonly running = new Map<Worker, { id: number; p: Pending }>();
  private nextId = 1;
  private closed = false;

  constructor(size: number, blockSize: number) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { blockSize } });
      w.on('message', (m: WorkerReply) => this.onReply(w, m));
      w.on('error', (e) => this.onWorkerDeath(w, e));
      w.on('exit', (code) => {
        if (!this.closed) this.onWorkerDeath(w, new Error(`hash worker exited with code ${code}`));
      });
      this.all.push(w);
      this.idle.push(w);
    }
  }

  run(job: RangeJob): Promise<RangeResult> {
    if (this.closed) return Promise.reject(new Error('pool closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, p: { job, resolve, reject } });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop();
      const item = this.queue.shift();
      if (!w || !item) break;
      this.running.set(w, item);
      w.postMessage({ id: item.id, job: item.p.job });
    }
  }

  private onReply(w: Worker, m: WorkerReply): void {
    const item = this.running.get(w);
    this.running.delete(w);
    this.idle.push(w);
    if (item && item.id === m.id) {
      if (m.ok) item.p.resolve(m.whole === undefined ? { hashes: m.hashes } : { hashes: m.hashes, whole: m.whole });
      else item.p.reject(new RangeJobError(m.message, m.side, m.code));
    }
    this.pump();
  }

  private onWorkerDeath(w: Worker, e: Error): void {
    const item = this.running.get(w);
    this.running.delete(w);
    const i = this.all.indexOf(w);
    if (i >= 0) this.all.splice(i, 1);
    if (item) item.p.reject(e);
    if (this.all.length === 0) {
      for (const q of this.queue.splice(0)) q.p.reject(new Error('all hash workers died'));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.p.reject(new Error('pool closed'));
    for (const [, item] of this.running) item.p.reject(new Error('pool closed'));
    this.running.clear();
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
