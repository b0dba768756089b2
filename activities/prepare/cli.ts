import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import type { PrepareRequest } from '../../common/prepare-contract';
import type { SecretStore } from '../../common/secret-ref';
import { InsufficientCapacityError, JournalMismatchError, PrepareCancelledError, PrepareInputError, SourceReadError } from './errors';
import { parseDatasetCsv, parseDrivesetCsv, parsePrepareSpecText } from './inputs';
import { prepareDrives } from './prepare';
import { ProgressReporter, type TextSink } from './progress';
import { verifyDrive } from './verify';

export interface PrepareCliIo {
  stdout: TextSink;
  stderr: TextSink;
  secrets: SecretStore;
  /** Aborts a running preparation (e.g. on SIGINT); the journal makes a re-run resume. */
  signal?: AbortSignal;
}

/** Exit codes: 0 ok, 1 failure / verify mismatch, 2 invalid input, 3 not enough capacity, 130 cancelled. */
export const EXIT = { ok: 0, failure: 1, input: 2, capacity: 3, cancelled: 130 } as const;

/**
 * `importctl prepare --dataset dataset.csv --driveset driveset.csv --journal-dir DIR [--id ID] [--skip-write] [--json]`
 * `importctl prepare --spec job.yaml --journal-dir DIR ...` (the spec's `prepare` section instead of the CSV files)
 * `importctl prepare verify <drivePath> [--manifest-hash HEX] [--json]`
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
    .option('--no-sync', 'do not fdatasync copied data before journaling it (faster; survives process crashes only)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (o: { dataset?: string; driveset?: string; spec?: string; journalDir?: string; id?: string; skipWrite?: boolean; json?: boolean; concurrency?: number; sync?: boolean }) => {
      code = await runPrepare(o, io);
    });
  program
    .command('verify')
    .description('re-read a prepared drive and check every block and the manifest')
    .argument('<drivePath>', 'mount path / directory of the drive')
    .option('--manifest-hash <hex>', 'the manifest hash recorded for the job (checked when given)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (drivePath: string, o: { manifestHash?: string; json?: boolean }) => {
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

async function runPrepare(
  o: { dataset?: string; driveset?: string; spec?: string; journalDir?: string; id?: string; skipWrite?: boolean; json?: boolean; concurrency?: number; sync?: boolean },
  io: PrepareCliIo,
): Promise<number> {
  const err = (m: string) => io.stderr.write(`prepare: ${m}\n`);
  if (!o.journalDir) {
    err('--journal-dir is required');
    return EXIT.input;
  }
  if (!o.spec && (!o.dataset || !o.driveset)) {
    err('give --dataset and --driveset, or --spec');
    return EXIT.input;
  }
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
    const progress = new ProgressReporter(io.stderr, o.skipWrite ? 'hashing' : 'preparing');
    const opts: Parameters<typeof prepareDrives>[1] = { onProgress: (p) => progress.update(p), log: (m) => io.stderr.write(`${io.stderr.isTTY ? '\r\x1b[2K' : ''}prepare: ${m}\n`) };
    if (io.signal) opts.signal = io.signal;
    if (o.concurrency !== undefined && Number.isFinite(o.concurrency)) opts.concurrency = o.concurrency;
    if (o.sync === false) opts.syncData = false;
    const result = await prepareDrives(req, opts);
    progress.finish();
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
    if (e instanceof PrepareInputError || e instanceof JournalMismatchError) {
      err(e.message);
      return EXIT.input;
    }
    if (e instanceof InsufficientCapacityError) {
      err(e.message);
      return EXIT.capacity;
    }
    if (e instanceof PrepareCancelledError) {
      err('cancelled; run the same command again to resume');
      return EXIT.cancelled;
    }
    if (e instanceof SourceReadError) {
      err(e.message);
      return EXIT.failure;
    }
    err(`failed: ${(e as Error).message} (run the same command again to resume)`);
    return EXIT.failure;
  }
}

async function runVerify(drivePath: string, o: { manifestHash?: string; json?: boolean }, io: PrepareCliIo): Promise<number> {
  const vo: Parameters<typeof verifyDrive>[1] = {};
  if (o.manifestHash) vo.expectedManifestHash = o.manifestHash;
  const progress = new ProgressReporter(io.stderr, 'verifying');
  vo.onProgress = (p) => progress.update({ filesDone: 0, filesTotal: 0, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, ...(p.currentFile ? { currentFile: p.currentFile } : {}) });
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
