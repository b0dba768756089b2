/**
 * A drive that really runs out of space (a tmpfs of a few MiB): the error names the drive, and
 * the manifest's temporary file never survives a failed manifest write or the resume after it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { InsufficientCapacityError, parseDatasetCsv, parseDrivesetCsv, prepareDrives } from '../activities/prepare';
import type { PrepareRequest } from '../common/prepare-contract';
import { MemorySecretStore } from './fixtures/prepare/memory-secrets';
import { MiB, bytes, driveset, independentCheck, tmpdir, write } from './fixtures/prepare/helpers';

const PAGE = 4096;

/** Mounts a tmpfs of `mib` MiB on `dir`; undefined when this machine does not allow it (not root, no mount). */
function mountTmpfs(dir: string, mib: number): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}M`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); a real full file system is needed`;
  }
}

function unmount(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}

async function request(root: string, src: string, drive: string, id: string): Promise<PrepareRequest> {
  const dataset = parseDatasetCsv(`BasePath,DstBlobPathOrPrefix\n${src}/,full/\n`, 'dataset.csv');
  const drives = await parseDrivesetCsv(driveset([{ path: drive, id: 'FULL1', capacity: 1024 * MiB }]), 'driveset.csv', new MemorySecretStore(), id);
  return { preparationId: id, dataset, drives, mode: 'copy', journalDir: path.join(root, 'journal') };
}

/**
 * The up-front check reads the file system's free space, so the drive is mounted large for it and
 * shrunk at the first progress report (after the plan, before any copy): the real ENOSPC is what stops the copy.
 */
function shrinkOnFirstProgress(drive: string, mib: number): { onProgress: () => void } {
  let shrunk = false;
  return {
    onProgress: () => {
      if (shrunk) return;
      shrunk = true;
      execFileSync('mount', ['-o', `remount,size=${mib}M`, drive], { stdio: 'pipe' });
    },
  };
}

/**
 * Runs `body` with a drive on its own tmpfs (64 MiB, so the up-front capacity check passes) under a fresh root;
 * skips with the reason where mounting is not permitted; always unmounts and removes the root.
 */
async function withTmpfsDrive(t: TestContext, prefix: string, body: (root: string, drive: string) => Promise<void>): Promise<void> {
  const root = tmpdir(prefix);
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const refused = mountTmpfs(drive, 64);
  if (refused !== undefined) {
    t.skip(refused);
    fs.rmSync(root, { recursive: true, force: true });
    return;
  }
  try {
    await body(root, drive);
  } finally {
    unmount(drive);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const temporaries = (drive: string): string[] => fs.readdirSync(drive).filter((n) => n.startsWith('DriveManifest.xml.tmp-'));

void test('data that does not fit on the drive: the error names the drive and its DriveId and says it is full; no manifest', { timeout: 120_000 }, async (t) => {
  await withTmpfsDrive(t, 'prep-full-data-', async (root, drive) => {
    const src = path.join(root, 'src');
    for (let i = 0; i < 3; i++) write(path.join(src, `part-${i}.bin`), bytes(4 * MiB, i + 1));
    await assert.rejects(prepareDrives(await request(root, src, drive, 'full-data'), { concurrency: 2, ...shrinkOnFirstProgress(drive, 8) }), (e: unknown) => {
      assert.ok(e instanceof InsufficientCapacityError, String(e));
      assert.ok(e.message.includes(`drive ${drive} (DriveId FULL1) is full`), e.message);
      return true;
    });
    assert.ok(!fs.existsSync(path.join(drive, 'DriveManifest.xml')), 'no manifest describes a partial copy');
    assert.deepEqual(temporaries(drive), []);
  });
});

void test('data that fits but a manifest that does not: the error names the drive and the manifest, its temporary file is removed; after growing the drive the resume completes', {
  timeout: 120_000,
}, async (t) => {
  await withTmpfsDrive(t, 'prep-full-manifest-', async (root, drive) => {
    const src = path.join(root, 'src');
    // tmpfs counts whole 4 KiB pages: 600 one-page files plus one large file leave a few pages for a manifest of tens of KB.
    const small = 600;
    const freePages = 1;
    for (let i = 0; i < small; i++) write(path.join(src, 'small', `f-${String(i).padStart(4, '0')}.txt`), `file ${i}\n`);
    write(path.join(src, 'large.bin'), bytes(((8 * MiB) / PAGE - small - freePages) * PAGE, 7));
    const req = await request(root, src, drive, 'full-manifest');
    await assert.rejects(prepareDrives(req, { concurrency: 2, ...shrinkOnFirstProgress(drive, 8) }), (e: unknown) => {
      assert.ok(e instanceof InsufficientCapacityError, String(e));
      assert.ok(e.message.includes(`drive ${drive} (DriveId FULL1) is full: writing DriveManifest.xml`), e.message);
      return true;
    });
    assert.deepEqual(temporaries(drive), [], 'the failed manifest write leaves no temporary file');
    assert.ok(!fs.existsSync(path.join(drive, 'DriveManifest.xml')));

    execFileSync('mount', ['-o', 'remount,size=64M', drive], { stdio: 'pipe' });
    const res = await prepareDrives(req, { concurrency: 2 });
    assert.equal(res.drives[0]?.fileCount, small + 1);
    assert.ok(fs.existsSync(path.join(drive, 'DriveManifest.xml')));
    assert.deepEqual(temporaries(drive), []);
    assert.deepEqual(independentCheck(drive, res.drives[0]?.manifestHash ?? '').problems, []);
  });
});
