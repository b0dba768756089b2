import type { PrepareProgress } from '../../common/prepare-contract';

export interface TextSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function human(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : String(m)) + `:${String(sec).padStart(2, '0')}`;
}

/**
 * Progress display for the CLI: a bar (bytes, rate, ETA) redrawn in place on a TTY, or a plain
 * line every `plainEveryMs` otherwise.
 */
export class ProgressReporter {
  private readonly start = Date.now();
  private startBytes: number | undefined;
  private lastDraw = 0;
  private last: PrepareProgress | undefined;

  constructor(
    private readonly out: TextSink,
    private readonly label: string,
    private readonly plainEveryMs = 5000,
  ) {}

  update(p: PrepareProgress): void {
    this.last = p;
    if (this.startBytes === undefined) this.startBytes = p.bytesDone;
    const now = Date.now();
    const every = this.out.isTTY ? 100 : this.plainEveryMs;
    if (now - this.lastDraw < every && p.bytesDone < p.bytesTotal) return;
    this.lastDraw = now;
    this.draw(p, now);
  }

  private draw(p: PrepareProgress, now: number): void {
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? (p.bytesDone - (this.startBytes ?? 0)) / secs : 0;
    const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : Infinity;
    const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
    const pct = `${(frac * 100).toFixed(1)}%`;
    const stats = `${human(p.bytesDone)}/${human(p.bytesTotal)} ${human(rate)}/s ETA ${clock(eta)} files ${p.filesDone}/${p.filesTotal}`;
    if (this.out.isTTY) {
      const width = 24;
      const fill = Math.round(frac * width);
      const bar = `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}]`;
      let line = `${this.label} ${bar} ${pct} ${stats}`;
      const cols = this.out.columns ?? 100;
      if (p.currentFile && line.length + 3 < cols) {
        const room = cols - line.length - 2;
        const f = p.currentFile.length > room ? '…' + p.currentFile.slice(-(room - 1)) : p.currentFile;
        line += ` ${f}`;
      }
      this.out.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
    } else {
      this.out.write(`${this.label}: ${pct} ${stats}${p.currentFile ? ` (${p.currentFile})` : ''}\n`);
    }
  }

  finish(): void {
    if (this.last) this.draw(this.last, Date.now());
    if (this.out.isTTY) this.out.write('\n');
  }
}
