/**
 * What preparation refuses to do: copy a file that changes under it (a torn copy), follow links
 * out of the data set, write into its own source, keep a journal on a drive, or leave a
 * manifest's temporary file behind after an interrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PrepareInputError, SourceReadError, parseDatasetCsv, parseDrivesetCsv, prepareDrives } from '../activities/prepare';
import type { PrepareRequest } from '../common/prepare-contract';
import { runPrepareCommand } from '../client/prepare-command';
import { MemorySecretStore } from './fixtures/prepare/memory-secrets';
import { MiB, driveset, independentCheck, listFiles, tmpdir, write } from './fixtures/prepare/helpers';

async function request(root: string, src: string, drive: string, id: string, journalDir = path.join(root, 'journal')): Promise<PrepareRequest> {
  const dataset = parseDatasetCsv(`BasePath,DstBlobPathOrPrefix\n${src}/,torn/\n`, 'dataset.csv');
  const drives = await parseDrivesetCsv(driveset([{ path: drive, id: 'SAFE1' }]), 'driveset.csv', new MemorySecretStore(), id);
  return { preparationId: id, dataset, drives, mode: 'copy', journalDir };
}

void test('a file rewritten in place while it is copied (same size, new bytes) is detected; its torn copy is removed, no manifest is written', { timeout: 120_000 }, async () => {
  const root = tmpdir('prep-torn-');
  const src = path.join(root, 'src');
  const big = path.join(src, 'big.bin');
  const chunk = randomBytes(4 * MiB);
  fs.mkdirSync(src, { recursive: true });
  const fd = fs.openSync(big, 'w');
  for (let i = 0; i < 48; i++) {
    chunk.writeUInt32LE(i, 0);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  write(path.join(src, 'small.txt'), 'stays the same\n');
  const size = fs.statSync(big).size;
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const req = await request(root, src, drive, 'torn-1');
  const dstBig = path.join(drive, 'torn', 'big.bin');

  // As soon as the copy of big.bin has started, keep rewriting it in place with new bytes of the same total size.
  let rewrites = 0;
  let settled = false;
  const writer = (async () => {
    while (!settled && !fs.existsSync(dstBig)) await new Promise((r) => setImmediate(r));
    const wfd = fs.openSync(big, 'r+');
    try {
      while (!settled) {
        fs.writeSync(wfd, randomBytes(64 * 1024), 0, 64 * 1024, (rewrites * 7919 * 4096) % (size - 64 * 1024));
        rewrites++;
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      fs.closeSync(wfd);
    }
  })();
  const outcome = prepareDrives(req, { concurrency: 2 }).finally(() => (settled = true));
  await assert.rejects(outcome, (e: unknown) => {
    assert.ok(e instanceof SourceReadError, String(e));
    assert.equal(e.retryable, false);
    assert.equal(e.path, big);
    assert.match(e.message, /big\.bin changed while the preparation was copying it/);
    return true;
  });
  await writer;
  assert.ok(rewrites > 0, 'the file was rewritten during the copy');
  assert.equal(fs.statSync(big).size, size);
  assert.ok(!fs.existsSync(dstBig), 'the torn copy is not left on the drive');
  assert.ok(!fs.existsSync(path.join(drive, 'DriveManifest.xml')), 'no manifest describes a torn copy');
  fs.rmSync(root, { recursive: true, force: true });
});

void test('a file modified between planning and its copy is refused the same way', async () => {
  const root = tmpdir('prep-torn-');
  const src = path.join(root, 'src');
  write(path.join(src, 'a.bin'), randomBytes(MiB));
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const req = await request(root, src, drive, 'torn-2');
  let touched = false;
  await assert.rejects(
    prepareDrives(req, {
      concurrency: 1,
      // The plan is written before the first progress report and before any copy.
      onProgress: () => {
        if (touched) return;
        touched = true;
        const file = path.join(src, 'a.bin');
        fs.writeFileSync(file, randomBytes(MiB));
        fs.utimesSync(file, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
      },
    }),
    (e: unknown) => e instanceof SourceReadError && /a\.bin changed while the preparation was copying it/.test(e.message),
  );
  fs.rmSync(root, { recursive: true, force: true });
});

void test('symbolic links out of BasePath are refused; links inside it are followed', async () => {
  const root = tmpdir('prep-link-');
  const src = path.join(root, 'src');
  write(path.join(src, 'inside.txt'), 'inside\n');
  write(path.join(root, 'outside', 'secret.txt'), 'not part of the data set\n');
  fs.symlinkSync(path.join(src, 'inside.txt'), path.join(src, 'link-inside.txt'));
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const ok = await prepareDrives(await request(root, src, drive, 'link-ok'));
  assert.equal(ok.drives[0]?.fileCount, 2);
  assert.deepEqual(independentCheck(drive, ok.drives[0]?.manifestHash ?? '').problems, []);

  const src2 = path.join(root, 'src2');
  write(path.join(src2, 'fine.txt'), 'fine\n');
  fs.symlinkSync(path.join(root, 'outside', 'secret.txt'), path.join(src2, 'to-outside.txt'));
  fs.symlinkSync('/etc/hostname', path.join(src2, 'to-etc'));
  const drive2 = path.join(root, 'drive2');
  fs.mkdirSync(drive2);
  await assert.rejects(prepareDrives(await request(root, src2, drive2, 'link-bad')), (e: unknown) => {
    assert.ok(e instanceof PrepareInputError);
    assert.match(e.message, /to-outside\.txt is a symbolic link to .*outside BasePath/);
    assert.match(e.message, /to-etc is a symbolic link to .*outside BasePath/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(drive2), [], 'nothing written to the drive');
  assert.ok(!fs.existsSync(path.join(root, 'journal', 'link-bad')), 'no journal written');
  fs.rmSync(root, { recursive: true, force: true });
});

void test('a drive equal to or inside a source directory, or a journal on a drive (even through a symlink, not yet created), is refused before anything is written', async () => {
  const root = tmpdir('prep-overlap-');
  const src = path.join(root, 'src');
  write(path.join(src, 'data.txt'), 'data\n');
  const inside = path.join(src, 'drive-in-source');
  fs.mkdirSync(inside);
  for (const [drive, id] of [
    [inside, 'overlap-in'],
    [src, 'overlap-eq'],
  ] as const) {
    await assert.rejects(prepareDrives(await request(root, src, drive, id)), (e: unknown) => e instanceof PrepareInputError && /is inside the source directory/.test(e.message));
  }
  assert.deepEqual(listFiles(src).sort(), ['data.txt'], 'nothing written into the source');

  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  fs.symlinkSync(drive, path.join(root, 'drive-link'));
  const journalDir = path.join(root, 'drive-link', 'not-yet', 'journal');
  await assert.rejects(prepareDrives(await request(root, src, drive, 'journal-on-drive', journalDir)), (e: unknown) => e instanceof PrepareInputError && /journal directory .* must not be on a target drive/.test(e.message));
  assert.deepEqual(fs.readdirSync(drive), [], 'nothing written to the drive');
  fs.rmSync(root, { recursive: true, force: true });
});

void test("a manifest's temporary file left by a killed run is removed when the preparation resumes", async () => {
  const root = tmpdir('prep-tmp-');
  const src = path.join(root, 'src');
  write(path.join(src, 'x.txt'), 'x\n');
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const req = await request(root, src, drive, 'tmp-1');
  await prepareDrives(req);
  // What a kill during the manifest write leaves: the temporary file (and no 'complete' record).
  const journalFile = path.join(root, 'journal', 'tmp-1', 'journal.jsonl');
  fs.writeFileSync(journalFile, fs.readFileSync(journalFile, 'utf8').split('\n').filter((l) => l && !l.includes('"manifest"') && !l.includes('"complete"')).join('\n') + '\n');
  fs.writeFileSync(path.join(drive, 'DriveManifest.xml.tmp-999999'), '<DriveManifest');
  const again = await prepareDrives(req);
  assert.deepEqual(fs.readdirSync(drive).filter((n) => n.includes('.tmp-')), []);
  assert.deepEqual(independentCheck(drive, again.drives[0]?.manifestHash ?? '').problems, []);
  fs.rmSync(root, { recursive: true, force: true });
});

void test('prepare verify with the journal compares the sources too: a drive copy that no longer matches its source is reported', async () => {
  const root = tmpdir('prep-verify-src-');
  const src = path.join(root, 'src');
  const file = path.join(src, 'data.bin');
  write(file, randomBytes(9 * MiB));
  write(path.join(src, 'other.txt'), 'unchanged\n');
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const journalDir = path.join(root, 'journal');
  const res = await prepareDrives(await request(root, src, drive, 'verify-src', journalDir));
  // What a torn copy looks like afterwards: the drive and its manifest agree, the source has other bytes in block 1.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, randomBytes(100), 0, 100, 4 * MiB + 10);
  fs.closeSync(fd);
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, secrets: new MemorySecretStore() };
  assert.equal(await runPrepareCommand(['prepare', 'verify', drive, '--manifest-hash', res.drives[0]?.manifestHash ?? '', '--json'], io), 0, 'the drive alone is consistent');
  out = '';
  assert.equal(await runPrepareCommand(['prepare', 'verify', drive, '--journal-dir', journalDir, '--id', 'verify-src', '--json'], io), 1);
  const r = JSON.parse(out) as { ok: boolean; mismatches: { file: string; offset?: number; reason: string }[] };
  assert.deepEqual(
    r.mismatches.map((m) => [m.file, m.offset, m.reason]),
    [['\\torn\\data.bin', 4 * MiB, 'source-differs']],
  );
  assert.equal(await runPrepareCommand(['prepare', 'verify', drive, '--journal-dir', journalDir], io), 2, '--journal-dir needs --id');
  fs.rmSync(root, { recursive: true, force: true });
});
