import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadKernelModule } from './md5/kernel';
import type { KernelModule } from './md5/wasm';
import { copyWorkerBundle } from './worker-bundle';

/**
 * A pool of worker threads that copy and hash byte ranges of files. A worker takes a whole
 * batch of ranges (many small files, or one large range) per message, reads each byte once
 * with large sequential reads straight into the MD5 kernel's lane buffers, writes the drive copy
 * from the same buffers and hashes four blocks at a time; so there is one message round trip per
 * batch, not per block, and no byte is copied between threads.
 */

export interface CopyItem {
  src: string;
  /** Destination path (created when missing, never truncated), or null to only hash. */
  dst: string | null;
  offset: number;
  length: number;
  /** Bytes per hashed block (at most 4 MiB). */
  blockSize: number;
  /** Expected total size of the source file, or -1 when unknown (hash-only reads). */
  fileSize: number;
  /** The source's modification time when the preparation was planned: a different one means the file changed. */
  mtimeMs?: number;
  /** fdatasync the destination before reporting it. */
  sync: boolean;
}

export interface BatchReply {
  /** Block hashes (upper-case hex MD5) of items[0..results.length). */
  results: string[][];
  /** Set when items[results.length] failed; the rest of the batch was not attempted. */
  failure?: CopyFailure;
}

export interface CopyFailure {
  side: 'source' | 'destination';
  /** errno code, or ESHRUNK / ECHANGED for a source that changed during the copy. */
  code?: string;
  message: string;
}

export class CopyJobError extends Error {
  constructor(
    message: string,
    readonly side: CopyFailure['side'],
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'CopyJobError';
  }
}

export interface WorkerRequest {
  id: number;
  items: CopyItem[];
}

export type WorkerReply = { id: number } & BatchReply;

export interface CopyWorkerData {
  kernel: KernelModule | null;
}

// Compiled, the worker is plain .js beside this file; from TypeScript sources it runs from a bundle (worker-bundle.ts),
// or, when none can be built, through tsx's loader.
const WORKER_FILE = path.join(__dirname, `copy-worker${path.extname(__filename)}`);

function workerBoot(): { entry: string; eval: boolean } {
  if (!WORKER_FILE.endsWith('.ts')) return { entry: WORKER_FILE, eval: false };
  const bundle = copyWorkerBundle();
  if (bundle) return { entry: bundle, eval: false };
  return { entry: `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(WORKER_FILE)});`, eval: true };
}

interface Pending {
  id: number;
  items: CopyItem[];
  resolve: (r: BatchReply) => void;
  reject: (e: Error) => void;
}

/**
 * Batches sent to a worker ahead of its replies. With one, a worker that finishes while the main
 * thread is busy (an fdatasync of the journal, writing a manifest) waits for it to hand out the
 * next batch; with two, the next one is already in the worker's message queue.
 */
const BATCHES_PER_WORKER = 2;

export class CopyPool {
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  /** Batches sent to each live worker and not answered yet, oldest first (a worker answers in order). */
  private readonly running = new Map<Worker, Pending[]>();
  private nextId = 1;
  private closed = false;
  /** Which hasher the workers use (for diagnostics). */
  readonly hasher: 'simd' | 'node:crypto';

  constructor(size: number) {
    const kernel = loadKernelModule();
    this.hasher = kernel ? 'simd' : 'node:crypto';
    const workerData: CopyWorkerData = { kernel };
    const boot = workerBoot();
    for (let i = 0; i < Math.max(1, size); i++) {
      // No inherited execArgv: under `node --import tsx` each thread would otherwise start tsx's loader too.
      const w = new Worker(boot.entry, { eval: boot.eval, workerData, execArgv: [] });
      w.on('message', (m: WorkerReply) => this.onReply(w, m));
      w.on('error', (e) => this.onWorkerDeath(w, e));
      w.on('exit', (code) => {
        if (!this.closed) this.onWorkerDeath(w, new Error(`copy worker exited with code ${code}`));
      });
      this.all.push(w);
      this.running.set(w, []);
    }
  }

  /** Copies / hashes a batch; resolves with the hashes of the items done (and the failure that stopped it). */
  run(items: CopyItem[]): Promise<BatchReply> {
    if (this.closed) return Promise.reject(new Error('pool closed'));
    if (this.all.length === 0) return Promise.reject(new Error('all copy workers died'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, items, resolve, reject });
      this.pump();
    });
  }

  /** Sends queued batches to the least busy workers, up to BATCHES_PER_WORKER each. */
  private pump(): void {
    while (this.queue.length) {
      let target: Pending[] | undefined;
      let worker: Worker | undefined;
      for (const [w, sent] of this.running)
        if (sent.length < BATCHES_PER_WORKER && (!target || sent.length < target.length)) {
          target = sent;
          worker = w;
        }
      if (!target || !worker) return;
      const p = this.queue.shift() as Pending;
      target.push(p);
      const req: WorkerRequest = { id: p.id, items: p.items };
      worker.postMessage(req);
    }
  }

  private onReply(w: Worker, m: WorkerReply): void {
    const sent = this.running.get(w) ?? [];
    const i = sent.findIndex((p) => p.id === m.id);
    const p = i >= 0 ? sent.splice(i, 1)[0] : undefined;
    if (p) p.resolve(m.failure ? { results: m.results, failure: m.failure } : { results: m.results });
    this.pump();
  }

  private onWorkerDeath(w: Worker, e: Error): void {
    const sent = this.running.get(w) ?? [];
    this.running.delete(w);
    const i = this.all.indexOf(w);
    if (i >= 0) this.all.splice(i, 1);
    for (const p of sent) p.reject(e);
    if (this.all.length === 0) for (const q of this.queue.splice(0)) q.reject(new Error('all copy workers died'));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('pool closed'));
    for (const sent of this.running.values()) for (const p of sent.splice(0)) p.reject(new Error('pool closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
