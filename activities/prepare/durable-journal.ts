import type { Journal, JournalRecord } from './journal';
import type { FileSystemSyncer } from './file-system-sync';

const SYNCFS_INTERVAL_MS = 250;

/**
 * Journals finished ranges only once their bytes are durable: with syncfs, each round syncs the
 * file systems of the drives the pending ranges were written to, then appends and commits
 * them, while the workers keep copying.
 */
export class DurableJournal {
  private pending: { rec: JournalRecord; drive: number | null }[] = [];
  private lastRound = 0;
  private draining = false;
  private wake: (() => void) | undefined;
  private flushing: Promise<void> | undefined;
  private error: unknown;

  /** `syncer` null: the workers fdatasync each file themselves (or nothing is made durable). */
  constructor(
    private readonly journal: Journal,
    private readonly syncer: FileSystemSyncer | null,
  ) {}

  /** `drive`: index of the drive the record's bytes were written to, or null when none were written. */
  add(rec: JournalRecord, drive: number | null): void {
    this.pending.push({ rec, drive });
    this.kick();
  }

  private kick(): void {
    if (this.flushing || this.error !== undefined) return;
    this.flushing = this.loop().finally(() => {
      this.flushing = undefined;
      if (this.pending.length) this.kick();
    });
  }

  private async loop(): Promise<void> {
    try {
      // Let the rest of the batch that started this round join it (its records are added in the same task).
      await Promise.resolve();
      while (this.pending.length) {
        // A syncfs also walks the file system's inodes (and flushes other writers' data on a shared one): at most one per interval.
        const wait = this.lastRound + SYNCFS_INTERVAL_MS - Date.now();
        if (this.syncer && !this.draining && wait > 0)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        this.wake = undefined;
        this.lastRound = Date.now();
        const round = this.pending.splice(0);
        const syncer = this.syncer;
        if (syncer) {
          const drives = new Set(round.map((r) => r.drive).filter((d): d is number => d !== null));
          await Promise.all([...drives].map((d) => syncer.sync(d)));
        }
        for (const r of round) this.journal.append(r.rec);
        this.journal.commit();
      }
    } catch (e) {
      this.error = e;
    }
  }

  /** Waits until everything added is durable and journaled. */
  async drain(): Promise<void> {
    this.draining = true;
    this.wake?.();
    while (this.flushing) await this.flushing;
    if (this.error !== undefined) throw this.error instanceof Error ? this.error : new Error(String(this.error));
  }
}
