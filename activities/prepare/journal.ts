import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Durable record of one preparation, in `<journalDir>/<preparationId>/`:
 * - `plan.json`: the frozen plan (files, drive assignment, drive facts), written atomically
 *   before anything touches a drive, so a resumed run makes exactly the same manifests;
 * - `journal.jsonl`: append-only records, group-committed (write + fdatasync) at most every
 *   `commitMs`. A record lost in a crash only means that range is copied again.
 */

export type JournalRecord =
  /** Range [o, o+len) of plan file f copied/hashed; h = block hashes; w = whole-file hash (aux files). */
  | { t: 'seg'; f: number; o: number; h: string[]; w?: string }
  /** Manifest of drive d written. */
  | { t: 'manifest'; d: number; hash: string; size: number }
  | { t: 'complete' }
  | { t: 'attempt'; n: number; at: string };

export class Journal {
  private fd: number;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastCommit = Date.now();

  private constructor(
    readonly dir: string,
    private readonly commitMs: number,
  ) {
    this.fd = fs.openSync(path.join(dir, 'journal.jsonl'), 'a');
  }

  static dirFor(journalDir: string, preparationId: string): string {
    return path.join(journalDir, preparationId);
  }

  /** Opens (creating) the journal directory; returns the records already present. */
  static open(journalDir: string, preparationId: string, commitMs = 200): { journal: Journal; records: JournalRecord[] } {
    const dir = Journal.dirFor(journalDir, preparationId);
    fs.mkdirSync(dir, { recursive: true });
    const records = Journal.read(dir);
    return { journal: new Journal(dir, commitMs), records };
  }

  static read(dir: string): JournalRecord[] {
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, 'journal.jsonl'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const out: JournalRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as JournalRecord);
      } catch {
        // A torn last line from a crash: ignore it (and anything after it cannot exist).
        break;
      }
    }
    return out;
  }

  static readPlanText(journalDir: string, preparationId: string): string | undefined {
    try {
      return fs.readFileSync(path.join(Journal.dirFor(journalDir, preparationId), 'plan.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Writes plan.json atomically (tmp + fsync + rename + fsync dir). */
  writePlan(text: string): void {
    writeFileDurably(path.join(this.dir, 'plan.json'), text);
  }

  append(rec: JournalRecord): void {
    this.pending.push(JSON.stringify(rec) + '\n');
    // Commit on the clock even when a busy event loop delays the timer.
    if (Date.now() - this.lastCommit >= this.commitMs) this.commit();
    else if (!this.timer) this.timer = setTimeout(() => this.commit(), this.commitMs);
  }

  /** Writes and fdatasyncs everything appended so far. */
  commit(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.lastCommit = Date.now();
    if (!this.pending.length || this.fd < 0) return;
    const data = this.pending.join('');
    this.pending = [];
    writeAll(this.fd, Buffer.from(data, 'utf8'));
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    this.commit();
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * Writes the whole buffer. A nearly full file system may accept part of a write and return a short count instead of
 * failing; a single writeSync would then leave a truncated file that looks complete.
 */
function writeAll(fd: number, buf: Buffer): void {
  let written = 0;
  while (written < buf.length) {
    const n = fs.writeSync(fd, buf, written, buf.length - written);
    if (n <= 0) throw Object.assign(new Error(`no space left on device: wrote ${written} of ${buf.length} bytes`), { code: 'ENOSPC' });
    written += n;
  }
}

export function writeFileDurably(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A full disk (or any failure) must not leave the temporary file behind.
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* directories cannot be fsynced on every platform */
  }
}

/** Removes `<file>.tmp-<pid>` files that a killed writeFileDurably left behind. */
export function removeStaleTemporaries(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
  for (const n of stale) fs.rmSync(path.join(dir, n), { force: true });
  return stale;
}
