/**
 * Benchmark of the prepare step against `cp -r` and `cp -r` + `md5sum`.
 *
 *   npm run bench:prepare -- [--size-gb 2] [--dir /path/on/the/disk/to/test] [--rounds 3] [--no-sync]
 *
 * Creates (or reuses) a mixed data set under --dir (git-ignored, default $TMPDIR/prepare-bench): 2000
 * small files (4–64 KiB) plus files of a few hundred MB, at least --size-gb GiB in all. Then, best of
 * --rounds rounds, every contender a child process run under /usr/bin/time (wall and user+sys CPU,
 * children included), every one ending durable (`&& sync`) and started after an untimed `sync`:
 *   1. `cp -r src drive && sync`                                          T(cp+sync)
 *   2. `cp -r src drive && find drive -type f | xargs md5sum && sync`     T(cp+md5sum+sync)
 *   3. our preparation (this file with --run-ours, a child like the others) T(ours)
 * and the same over four drive folders at once: four `cp -r` at once vs one preparation onto four drives.
 * Caches cannot be dropped (no root on shared machines), so the data set is read once before timing and
 * every contender reads it from the page cache; outputs are deleted between runs.
 * Also prints the MD5 kernel's throughput on one core (multi-buffer SIMD vs node:crypto).
 * Last line: `prepare_vs_cp=<A> prepare_vs_cp_md5sum=<B> cpu_vs_cp_md5sum=<C>` with
 * A = T(cp+sync)/T(ours), B = T(cp+md5sum+sync)/T(ours), C = CPU(ours)/CPU(cp+md5sum+sync).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { prepareDrives } from '../activities/prepare/prepare';
import { createBlockHasher, LANES, LANE_CAPACITY } from '../activities/prepare/md5/hasher';
import { loadKernelModule } from '../activities/prepare/md5/kernel';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : def;
}
const MiB = 1024 * 1024;

/** What the --run-ours child prepares. */
interface OursConfig {
  src: string;
  drives: string[];
  journalDir: string;
  syncData: boolean;
  id: string;
}

async function runOurs(cfgFile: string): Promise<void> {
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as OursConfig;
  await prepareDrives(
    {
      preparationId: cfg.id,
      dataset: [{ basePath: `${cfg.src}/`, dstBlobPathOrPrefix: 'bench/', blobType: 'block', disposition: 'rename' }],
      drives: cfg.drives.map((p, i) => ({ path: p, formatOption: 'AlreadyFormatted', encryption: 'AlreadyEncrypted', driveId: `BENCH${i + 1}`, bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name: `bench-${i}` } })),
      mode: 'copy',
      journalDir: cfg.journalDir,
    },
    { syncData: cfg.syncData },
  );
}

function makeDataset(src: string, totalBytes: number): void {
  const marker = path.join(src, '.bench-size');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === String(totalBytes)) return;
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  let written = 0;
  const chunk = randomBytes(4 * MiB);
  for (let i = 0; i < 2000; i++) {
    const n = 4096 + ((i * 7919) % (60 * 1024));
    const dir = path.join(src, 'small', `d${i % 20}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.dat`), randomBytes(n));
    written += n;
  }
  const sizes = [300, 220, 260, 180, 340, 240];
  let k = 0;
  while (written < totalBytes) {
    const want = Math.min((sizes[k % sizes.length] as number) * MiB + k * 4097, Math.max(totalBytes - written, 1 * MiB));
    const fd = fs.openSync(path.join(src, `large-${k}.bin`), 'w');
    let left = want;
    let salt = 0;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      chunk.writeUInt32LE(salt++, 0); // every block differs
      chunk.writeUInt32LE(k, 4);
      fs.writeSync(fd, chunk, 0, n);
      left -= n;
    }
    fs.closeSync(fd);
    written += want;
    k++;
  }
  fs.writeFileSync(marker, String(totalBytes));
}

interface Measured {
  wall: number;
  cpu: number;
}

/** Runs a shell command under /usr/bin/time after an untimed sync: wall seconds and user+sys CPU seconds of it and its children. */
function measure(cmd: string, timesFile: string): Measured {
  execFileSync('sync');
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timesFile, '/bin/sh', '-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`\`${cmd}\` failed (exit ${r.status ?? r.signal})`);
  const [user, sys] = fs.readFileSync(timesFile, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? [NaN, NaN];
  return { wall, cpu: (user ?? NaN) + (sys ?? NaN) };
}

function best(a: Measured | undefined, b: Measured): Measured {
  return !a || b.wall < a.wall ? b : a;
}

/**
 * One core: GB/s of hashing 4 MiB blocks, four at a time (SIMD) or one at a time (node:crypto),
 * per second of this thread's CPU time (not wall time, which other processes on a shared machine stretch).
 */
function kernelThroughput(): { simd: number | undefined; crypto: number } {
  const cpuNs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  const rate = (h: ReturnType<typeof createBlockHasher>) => {
    for (const l of h.lanes) randomBytes(LANE_CAPACITY).copy(l);
    const lengths = Array.from({ length: LANES }, () => LANE_CAPACITY);
    h.hash(lengths);
    let bytes = 0;
    const t = cpuNs();
    while (cpuNs() - t < 2e9) {
      h.hash(lengths);
      bytes += LANES * LANE_CAPACITY;
    }
    return bytes / (cpuNs() - t);
  };
  const kernel = loadKernelModule();
  return { simd: kernel ? rate(createBlockHasher(kernel)) : undefined, crypto: rate(createBlockHasher(null)) };
}

/** Splits the data set's top-level entries into `n` groups of about equal bytes (largest first, to the lightest group). */
function splitTopLevel(src: string, n: number): string[][] {
  const sizeOf = (p: string): number => {
    const st = fs.statSync(p);
    return st.isDirectory() ? fs.readdirSync(p).reduce((s, c) => s + sizeOf(path.join(p, c)), 0) : st.size;
  };
  const entries = fs.readdirSync(src).filter((e) => !e.startsWith('.')).map((e) => ({ p: path.join(src, e), size: sizeOf(path.join(src, e)) }));
  entries.sort((a, b) => b.size - a.size);
  const groups = Array.from({ length: n }, () => ({ bytes: 0, paths: [] as string[] }));
  for (const e of entries) {
    const g = groups.reduce((m, x) => (x.bytes < m.bytes ? x : m));
    g.paths.push(e.p);
    g.bytes += e.size;
  }
  return groups.map((g) => g.paths);
}

async function main(): Promise<void> {
  const runOursIndex = process.argv.indexOf('--run-ours');
  if (runOursIndex >= 0) return runOurs(process.argv[runOursIndex + 1] ?? '');

  const sizeGb = Number(arg('size-gb', '2'));
  const baseDir = path.resolve(arg('dir', path.join(os.tmpdir(), 'prepare-bench')));
  const rounds = Math.max(1, Number(arg('rounds', '3')));
  const syncData = !process.argv.includes('--no-sync');
  if (!fs.existsSync('/usr/bin/time')) throw new Error('this benchmark measures CPU time with /usr/bin/time (apt-get install time)');
  const q = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
  const total = Math.round(sizeGb * 1024 ** 3);
  const src = path.join(baseDir, 'src');
  process.stderr.write(`data set: ${sizeGb} GiB under ${src}\n`);
  makeDataset(src, total);
  execFileSync('/bin/sh', ['-c', `find ${q(src)} -type f -print0 | xargs -0 cat > /dev/null`]);
  const bytes = Number(execFileSync('du', ['-sb', '--exclude=.bench-size', src], { encoding: 'utf8' }).split(/\s/)[0]);
  const timesFile = path.join(baseDir, 'times.txt');
  const oursCmd = (drives: string[], id: string) => {
    const cfg: OursConfig = { src, drives, journalDir: path.join(baseDir, 'journal'), syncData, id };
    const cfgFile = path.join(baseDir, `${id}.json`);
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    return `${q(process.execPath)} --import tsx ${q(__filename)} --run-ours ${q(cfgFile)} && sync`;
  };
  const clean = (...dirs: string[]) => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  };
  const loadBefore = os.loadavg();
  let cp: Measured | undefined;
  let cpmd5: Measured | undefined;
  let ours: Measured | undefined;
  let cp4: Measured | undefined;
  let ours4: Measured | undefined;
  const groups = splitTopLevel(src, 4);
  for (let r = 0; r < rounds; r++) {
    const dcp = path.join(baseDir, 'drive-cp');
    const dmd5 = path.join(baseDir, 'drive-md5');
    const dours = path.join(baseDir, 'drive-ours');
    const journal = path.join(baseDir, 'journal');
    clean(dcp, dmd5, dours, journal);
    cp = best(cp, measure(`cp -r ${q(src)} ${q(dcp)} && sync`, timesFile));
    clean(dcp);
    cpmd5 = best(cpmd5, measure(`cp -r ${q(src)} ${q(dmd5)} && find ${q(dmd5)} -type f -print0 | xargs -0 md5sum > /dev/null && sync`, timesFile));
    clean(dmd5);
    fs.mkdirSync(dours);
    ours = best(ours, measure(oursCmd([dours], `bench-${r}`), timesFile));
    clean(dours, journal);

    const four = [0, 1, 2, 3].map((i) => path.join(baseDir, `drive4-${i}`));
    clean(...four);
    for (const d of four) fs.mkdirSync(d);
    cp4 = best(cp4, measure(`${groups.map((g, i) => `cp -r ${g.map(q).join(' ')} ${q(four[i] as string)} &`).join(' ')} wait && sync`, timesFile));
    clean(...four);
    for (const d of four) fs.mkdirSync(d);
    ours4 = best(ours4, measure(oursCmd(four, `bench4-${r}`), timesFile));
    clean(...four, journal);
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
  const k = kernelThroughput();
  const loadAfter = os.loadavg();
  if (!cp || !cpmd5 || !ours || !cp4 || !ours4) throw new Error('no measurements');
  const gbs = (t: number) => `${(bytes / t / 1e9).toFixed(2)} GB/s`;
  const row = (name: string, m: Measured) => `${name.padEnd(34)} ${m.wall.toFixed(3).padStart(7)} s  ${gbs(m.wall).padStart(10)}  CPU ${m.cpu.toFixed(2).padStart(6)} s\n`;
  const out = process.stdout;
  out.write(`bytes=${bytes} cores=${os.availableParallelism()} rounds=${rounds} syncData=${syncData} load(1m) before=${loadBefore[0]?.toFixed(2)} after=${loadAfter[0]?.toFixed(2)}\n`);
  out.write(row('cp -r && sync', cp));
  out.write(row('cp -r && md5sum && sync', cpmd5));
  out.write(row('prepare (ours) && sync', ours));
  out.write(row('4 drives: 4 × cp -r at once && sync', cp4));
  out.write(row('4 drives: prepare onto 4 && sync', ours4));
  out.write(`4 drives: prepare_vs_cp=${(cp4.wall / ours4.wall).toFixed(3)}\n`);
  out.write(`MD5 kernel, one core (per CPU second), 4 MiB blocks: multi-buffer SIMD ${k.simd === undefined ? 'not built' : `${(k.simd).toFixed(2)} GB/s`}, node:crypto ${k.crypto.toFixed(2)} GB/s\n`);
  out.write(`prepare_vs_cp=${(cp.wall / ours.wall).toFixed(3)} prepare_vs_cp_md5sum=${(cpmd5.wall / ours.wall).toFixed(3)} cpu_vs_cp_md5sum=${(ours.cpu / cpmd5.cpu).toFixed(3)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
