import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { MultiBar, type Options as ProgressOptions, type Params as ProgressParams } from 'cli-progress';
import type { PrepareProgress, PrepareRequest } from '../common/prepare-contract';
import type { SecretStore } from '../common/secret-ref';
import { InsufficientCapacityError, JournalMismatchError, PrepareCancelledError, PrepareInputError, PrepareInputErrors, SourceReadError } from '../activities/prepare/errors';
import { parseDatasetCsv, parseDrivesetCsv, parsePrepareSpecText } from '../activities/prepare/inputs';
import { prepareDrives } from '../activities/prepare/prepare';
import { MibPerSecondSchema } from '../activities/prepare/scheduling';
import { sourcesFromJournal, verifyDrive } from '../activities/prepare/verify';

/** Where the command writes: process.stdout / process.stderr, or a buffer in tests. */
export interface TextSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface PrepareCliIo {
  stdout: TextSink;
  stderr: TextSink;
  secrets: SecretStore;
  /** Aborts a running preparation (e.g. on SIGINT); the journal makes a re-run resume. */
  signal?: AbortSignal;
}

/** Exit codes: 0 ok, 1 failure / verify mismatch, 2 invalid input, 3 not enough capacity, 130 cancelled. */
export const EXIT = { ok: 0, failure: 1, input: 2, capacity: 3, cancelled: 130 } as const;

/* ------------------------------------------------------------------------------------------ */
/* Progress                                                                                     */
/* ------------------------------------------------------------------------------------------ */

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

/** Shortens a path in the middle, keeping its start (the data set) and its end (the file name). */
export function shortenMiddle(s: string, width: number): string {
  if (s.length <= width) return s;
  if (width < 5) return '';
  const tail = Math.ceil((width - 1) * 0.6);
  return `${s.slice(0, width - 1 - tail)}…${s.slice(s.length - tail)}`;
}

interface BarPayload {
  p: PrepareProgress;
}

/** Lines of at most 80 columns on a pipe or a log file; the terminal's width on a TTY. */
const PLAIN_WIDTH = 80;

/**
 * Progress of a preparation or a verification, drawn by cli-progress: redrawn in place on a TTY
 * (ten times a second at most), a plain line every few seconds otherwise.
 */
export class PrepareProgressBar {
  private readonly multi: MultiBar;
  private readonly bar: ReturnType<MultiBar['create']>;
  private readonly started = Date.now();
  private startBytes: number | undefined;
  private last: PrepareProgress = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };

  constructor(
    private readonly out: TextSink,
    private readonly label: string,
    plainEveryMs = 5000,
  ) {
    const tty = out.isTTY === true;
    const options: ProgressOptions = {
      stream: out as unknown as NodeJS.WritableStream,
      format: (_o: ProgressOptions, _params: ProgressParams, payload: BarPayload) => this.line(payload.p, tty ? Math.max(20, (out.columns ?? 80) - 1) : PLAIN_WIDTH, tty),
      fps: 10,
      noTTYOutput: true,
      notTTYSchedule: plainEveryMs,
      hideCursor: false,
      linewrap: false,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: !tty,
    };
    this.multi = new MultiBar(options);
    this.bar = this.multi.create(1, 0, { p: this.last });
  }

  update(p: PrepareProgress): void {
    this.last = p;
    this.startBytes ??= p.bytesDone;
    this.bar.setTotal(Math.max(1, p.bytesTotal));
    this.bar.update(p.bytesDone, { p });
  }

  /** A message above the bar (the bar is redrawn below it on a TTY). */
  log(message: string): void {
    if (this.out.isTTY) this.multi.log(`${message}\n`);
    else this.out.write(`${message}\n`);
  }

  finish(): void {
    this.bar.update(this.last.bytesDone, { p: this.last });
    this.multi.stop();
  }

  private line(p: PrepareProgress, width: number, tty: boolean): string {
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? (p.bytesDone - (this.startBytes ?? 0)) / secs : 0;
    const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : Infinity;
    const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
    const pct = `${(frac * 100).toFixed(1)}%`;
    const [done, total] = [human(p.bytesDone), human(p.bytesTotal)];
    const unit = total.slice(total.indexOf(' '));
    const bytes = done.endsWith(unit) ? `${done.slice(0, -unit.length)}/${total}` : `${done}/${total}`;
    const full = `${pct} ${bytes} ${human(rate)}/s ETA ${clock(eta)} files ${p.filesDone}/${p.filesTotal}`;
    // On a narrow terminal the rate goes first, so that the bar and some of the file name still fit.
    const short = `${pct} ${bytes} ETA ${clock(eta)} files ${p.filesDone}/${p.filesTotal}`;
    const fileWant = p.currentFile ? Math.min(p.currentFile.length, 28) + 1 : 0;
    let line: string;
    if (tty) {
      const barFor = (stats: string) => Math.min(24, width - this.label.length - stats.length - 4 - fileWant);
      const stats = barFor(full) >= 8 ? full : short;
      const barWidth = Math.max(8, barFor(stats));
      const fill = Math.round(frac * barWidth);
      line = `${this.label} [${'#'.repeat(fill)}${'-'.repeat(barWidth - fill)}] ${stats}`;
    } else line = `${this.label}: ${width - this.label.length - 2 - full.length - fileWant >= 0 ? full : short}`;
    const room = width - line.length - 1;
    if (p.currentFile && room >= 12) line += ` ${shortenMiddle(p.currentFile, room)}`;
    return line.length > width ? line.slice(0, width) : line;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Commands                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** `--max-mib-per-second`, checked as the worker checks PREPARE_MAX_MIB_PER_SECOND. */
function mibPerSecond(value: string): number {
  const parsed = MibPerSecondSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? 'a number of MiB per second');
  return parsed.data;
}

interface PrepareFlags {
  dataset?: string;
  driveset?: string;
  spec?: string;
  journalDir?: string;
  id?: string;
  skipWrite?: boolean;
  json?: boolean;
  concurrency?: number;
  sync?: boolean;
  maxMibPerSecond?: number;
}

/**
 * `importctl prepare --dataset dataset.csv --driveset driveset.csv --journal-dir DIR [--id ID] [--skip-write] [--json]`
 * `importctl prepare --spec job.yaml --journal-dir DIR ...` (the spec's `prepare` section instead of the CSV files)
 * `importctl prepare verify <drivePath> [--manifest-hash HEX] [--journal-dir DIR --id ID] [--json]`
 * `argv` are the arguments after `importctl` (a leading `prepare` is optional).
 */
export async function runPrepareCommand(argv: string[], io: PrepareCliIo): Promise<number> {
  const args = argv[0] === 'prepare' ? argv.slice(1) : argv;
  let code: number = EXIT.ok;
  const program = new Command('prepare')
    .description('copy a data set onto import drives, hash it and write each drive manifest (WAImportExport PrepImport for Linux/macOS)')
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .option('--dataset <file>', 'WAImportExport v2 dataset.csv')
    .option('--driveset <file>', 'driveset.csv (drive = mount path or directory)')
    .option('--spec <file>', 'job spec (YAML/JSON) whose "prepare" section holds dataset and drives')
    .option('--journal-dir <dir>', 'directory for the preparation journal (not on a target drive)')
    .option('--id <id>', 'preparation id (journal key; default: derived from the input files)')
    .option('--skip-write', 'data is already on the drives: only hash and write the manifests')
    .option('--concurrency <n>', 'parallel copy/hash workers', (v) => Number.parseInt(v, 10))
    .option('--no-sync', 'do not make copied data durable before journaling it (faster; survives process crashes only)')
    .option('--max-mib-per-second <n>', 'cap on how fast the copy reads and writes, in MiB/s, for disks or shares used by other work (0: unlimited)', mibPerSecond)
    .option('--json', 'print the result (or the error) as JSON on stdout')
    .action(async (o: PrepareFlags) => {
      code = await runPrepare(o, io);
    });
  program
    .command('verify')
    .description('re-read a prepared drive and check every block and the manifest')
    .argument('<drivePath>', 'mount path / directory of the drive')
    .option('--manifest-hash <hex>', 'the manifest hash recorded for the job (checked when given)')
    .option('--journal-dir <dir>', "with --id: also compare every source file with the manifest (finds a copy torn by a source that changed)")
    .option('--id <id>', 'the preparation id whose journal names the sources')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (drivePath: string, o: VerifyFlags) => {
      code = await runVerify(drivePath, o, io);
    });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.input;
    io.stderr.write(`prepare: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  return code;
}

/** The error as a script reads it with --json: one object on stdout, the exit code unchanged. */
function jsonError(e: Error, exitCode: number): string {
  const located = (x: PrepareInputError) => ({ file: x.file, row: x.row, column: x.column, field: x.field, message: x.problem });
  const problems = e instanceof PrepareInputErrors ? e.errors.map(located) : e instanceof PrepareInputError ? [located(e)] : undefined;
  return JSON.stringify({ ok: false, exitCode, error: { type: e.name, message: e.message, ...(problems ? { problems } : {}) } }, null, 2) + '\n';
}

async function runPrepare(o: PrepareFlags, io: PrepareCliIo): Promise<number> {
  const fail = (m: string, exitCode: number, e?: Error) => {
    io.stderr.write(`prepare: ${m}\n`);
    if (o.json) io.stdout.write(jsonError(e ?? Object.assign(new Error(m), { name: 'UsageError' }), exitCode));
    return exitCode;
  };
  if (!o.journalDir) return fail('--journal-dir is required', EXIT.input);
  if (!o.spec && (!o.dataset || !o.driveset)) return fail('give --dataset and --driveset, or --spec', EXIT.input);
  let progress: PrepareProgressBar | undefined;
  try {
    const read = (f: string) => {
      try {
        return fs.readFileSync(f, 'utf8');
      } catch (e) {
        throw new PrepareInputError({ file: f }, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const texts = o.spec ? [read(o.spec)] : [read(o.dataset as string), read(o.driveset as string)];
    const id = o.id ?? `prep-${createHash('sha256').update(texts.join('\0')).digest('hex').slice(0, 16)}`;
    let req: PrepareRequest;
    const base = { preparationId: id, mode: o.skipWrite ? ('skip-write' as const) : ('copy' as const), journalDir: path.resolve(o.journalDir) };
    if (o.spec) {
      const s = await parsePrepareSpecText(texts[0] as string, o.spec, io.secrets, id);
      req = { ...base, dataset: s.dataset, drives: s.drives };
    } else {
      const dataset = parseDatasetCsv(texts[0] as string, o.dataset as string);
      const drives = await parseDrivesetCsv(texts[1] as string, o.driveset as string, io.secrets, id);
      req = { ...base, dataset, drives };
    }
    const bar = new PrepareProgressBar(io.stderr, o.skipWrite ? 'hashing' : 'preparing');
    progress = bar;
    const opts: Parameters<typeof prepareDrives>[1] = { onProgress: (p) => bar.update(p), log: (m) => bar.log(`prepare: ${m}`) };
    if (io.signal) opts.signal = io.signal;
    if (o.concurrency !== undefined && Number.isFinite(o.concurrency)) opts.concurrency = o.concurrency;
    if (o.sync === false) opts.syncData = false;
    if (o.maxMibPerSecond) opts.maxBytesPerSecond = o.maxMibPerSecond * 1024 * 1024;
    const result = await prepareDrives(req, opts);
    bar.finish();
    progress = undefined;
    if (o.json) io.stdout.write(JSON.stringify({ preparationId: id, ...result }, null, 2) + '\n');
    else {
      io.stdout.write(`preparation ${id}: ${result.drives.length} drive(s) ready\n`);
      for (const d of result.drives)
        io.stdout.write(
          `  driveId ${d.driveId}  ${d.drivePath}  manifestFile ${d.manifestFile}  manifestHash ${d.manifestHash}  ${d.fileCount} files, ${d.byteCount} bytes  BitLocker key: secret ${d.bitLockerKeyRef.store}:${d.bitLockerKeyRef.name}\n`,
        );
    }
    return EXIT.ok;
  } catch (e) {
    progress?.finish();
    const err = e instanceof Error ? e : new Error(String(e));
    if (e instanceof PrepareInputError || e instanceof JournalMismatchError) return fail(err.message, EXIT.input, err);
    if (e instanceof InsufficientCapacityError) return fail(err.message, EXIT.capacity, err);
    if (e instanceof PrepareCancelledError) return fail('cancelled; run the same command again to resume', EXIT.cancelled, err);
    if (e instanceof SourceReadError) return fail(err.message, EXIT.failure, err);
    return fail(`failed: ${err.message} (run the same command again to resume)`, EXIT.failure, err);
  }
}

interface VerifyFlags {
  manifestHash?: string;
  journalDir?: string;
  id?: string;
  json?: boolean;
}

async function runVerify(drivePath: string, o: VerifyFlags, io: PrepareCliIo): Promise<number> {
  const vo: Parameters<typeof verifyDrive>[1] = {};
  if (o.manifestHash) vo.expectedManifestHash = o.manifestHash;
  if ((o.journalDir === undefined) !== (o.id === undefined)) {
    io.stderr.write('prepare verify: give --journal-dir and --id together\n');
    return EXIT.input;
  }
  if (o.journalDir !== undefined && o.id !== undefined) {
    const sources = sourcesFromJournal(path.resolve(o.journalDir), o.id, drivePath);
    if (!sources) {
      io.stderr.write(`prepare verify: no preparation ${o.id} of drive ${drivePath} in journal ${o.journalDir}\n`);
      return EXIT.input;
    }
    vo.sources = sources;
  }
  const progress = new PrepareProgressBar(io.stderr, 'verifying');
  vo.onProgress = (p) => progress.update(p);
  const r = await verifyDrive(drivePath, vo);
  progress.finish();
  if (o.json) io.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else if (r.ok) io.stdout.write(`${drivePath}: OK, every block matches the manifest${o.manifestHash ? ' and the manifest matches its hash' : ''}\n`);
  else {
    io.stdout.write(`${drivePath}: ${r.mismatches.length} mismatch(es)\n`);
    for (const m of r.mismatches)
      io.stdout.write(`  ${m.reason}: ${m.file}${m.blob ? ` (blob ${m.blob})` : ''}${m.offset !== undefined ? ` at offset ${m.offset}` : ''}: expected ${m.expected}, found ${m.actual}\n`);
  }
  return r.ok ? EXIT.ok : EXIT.failure;
}
