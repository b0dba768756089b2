/**
 * Benchmark of the prepare step against `cp -r` and `cp -r` + `md5sum`.
 *
 *   npm run bench:prepare -- [--size-gb 2] [--dir /path/on/the/disk/to/test] [--rounds 1] [--no-sync]
 *
 * Creates (or reuses) a mixed data set — 2000 small files (4–64 KiB) plus files of a few hundred
 * MB — of at least --size-gb GiB under --dir, then per round measures, in this order:
 *   1. `cp -r src drive-cp`                                   (T_cp)
 *   2. `cp -r src drive-md5 && find drive-md5 -type f | xargs md5sum`   (T_cpmd5)
 *   3. prepareDrives(src → empty drive folder)               (T_ours)
 * Method: caches cannot be dropped (no root on shared machines), so the data set is read once
 * before timing (all runs then read from the page cache), `sync` runs before every measurement
 * (untimed) so earlier dirty pages do not slow later runs, outputs are deleted between runs,
 * and the best of --rounds rounds of each is used. cp runs first, ours last.
 * Last line: `prepare_vs_cp=<T_cp/T_ours> prepare_vs_cp_md5sum=<T_cpmd5/T_ours>`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { prepareDrives } from '../activities/prepare/prepare';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : def;
}
const sizeGb = Number(arg('size-gb', '2'));
const baseDir = path.resolve(arg('dir', path.join(os.tmpdir(), 'prepare-bench')));
const rounds = Math.max(1, Number(arg('rounds', '1')));
const syncData = !process.argv.includes('--no-sync');
const MiB = 1024 * 1024;

function sh(cmd: string): void {
  execFileSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function makeDataset(src: string, totalBytes: number): void {
  const marker = path.join(src, '.bench-size');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === String(totalBytes)) return;
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  let written = 0;
  const chunk = randomBytes(4 * MiB);
  // many small files
  for (let i = 0; i < 2000; i++) {
    const n = 4096 + ((i * 7919) % (60 * 1024));
    const dir = path.join(src, 'small', `d${i % 20}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.dat`), randomBytes(n));
    written += n;
  }
  // some large files of a few hundred MB
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

async function time(fn: () => Promise<void> | void): Promise<number> {
  sh('sync');
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  const total = Math.round(sizeGb * 1024 ** 3);
  const src = path.join(baseDir, 'src');
  process.stderr.write(`data set: ${sizeGb} GiB under ${src}\n`);
  makeDataset(src, total);
  fs.rmSync(path.join(src, '.bench-size.keep'), { force: true });
  sh(`cat $(find '${src}' -type f -name 'large-*') > /dev/null; find '${src}' -type f -print0 | xargs -0 cat > /dev/null`);
  const bytes = Number(execFileSync('du', ['-sb', src], { encoding: 'utf8' }).split(/\s/)[0]);
  const best = { cp: Infinity, cpmd5: Infinity, ours: Infinity };
  for (let r = 0; r < rounds; r++) {
    const dcp = path.join(baseDir, 'drive-cp');
    const dmd5 = path.join(baseDir, 'drive-md5');
    const dours = path.join(baseDir, 'drive-ours');
    const journal = path.join(baseDir, 'journal');
    for (const d of [dcp, dmd5, dours, journal]) fs.rmSync(d, { recursive: true, force: true });
    best.cp = Math.min(best.cp, await time(() => sh(`cp -r '${src}' '${dcp}'`)));
    fs.rmSync(dcp, { recursive: true, force: true });
    best.cpmd5 = Math.min(best.cpmd5, await time(() => sh(`cp -r '${src}' '${dmd5}' && find '${dmd5}' -type f -print0 | xargs -0 md5sum > /dev/null`)));
    fs.rmSync(dmd5, { recursive: true, force: true });
    fs.mkdirSync(dours);
    best.ours = Math.min(
      best.ours,
      await time(async () => {
        await prepareDrives(
          {
            preparationId: `bench-${r}`,
            dataset: [{ basePath: `${src}/`, dstBlobPathOrPrefix: 'bench/', blobType: 'block', disposition: 'rename' }],
            drives: [{ path: dours, formatOption: 'AlreadyFormatted', encryption: 'AlreadyEncrypted', driveId: 'BENCH1', bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name: 'bench' } }],
            mode: 'copy',
            journalDir: journal,
          },
          { syncData },
        );
      }),
    );
    fs.rmSync(dours, { recursive: true, force: true });
    fs.rmSync(journal, { recursive: true, force: true });
  }
  const gbs = (t: number) => `${(bytes / t / 1e9).toFixed(2)} GB/s`;
  process.stdout.write(`bytes=${bytes} cores=${os.availableParallelism()} rounds=${rounds} syncData=${syncData}\n`);
  process.stdout.write(`cp -r:            ${best.cp.toFixed(3)} s (${gbs(best.cp)})\n`);
  process.stdout.write(`cp -r + md5sum:   ${best.cpmd5.toFixed(3)} s (${gbs(best.cpmd5)})\n`);
  process.stdout.write(`prepare (ours):   ${best.ours.toFixed(3)} s (${gbs(best.ours)})\n`);
  process.stdout.write(`prepare_vs_cp=${(best.cp / best.ours).toFixed(3)} prepare_vs_cp_md5sum=${(best.cpmd5 / best.ours).toFixed(3)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
