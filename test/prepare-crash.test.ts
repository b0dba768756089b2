import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { parseDatasetCsv, parseDrivesetCsv } from '../activities/prepare';
import type { PrepareRequest, PrepareResult } from '../common/prepare-contract';
import { MemorySecretStore } from './fixtures/prepare/memory-secrets';
import { MiB, driveset, independentCheck, tmpdir, write } from './fixtures/prepare/helpers';

const CHILD = path.join(__dirname, 'fixtures', 'prepare', 'crash-child.ts');

function runChild(root: string, name: string, req: PrepareRequest, maxBytesPerSecond?: number) {
  const cfgFile = path.join(root, `${name}.json`);
  const resultFile = path.join(root, `${name}.result.json`);
  fs.writeFileSync(cfgFile, JSON.stringify({ req, resultFile, maxBytesPerSecond }));
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, resultFile, stderr: () => stderr };
}

function segRecords(journalFile: string): { f: number; o: number }[] {
  if (!fs.existsSync(journalFile)) return [];
  return fs
    .readFileSync(journalFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { t: string; f: number; o: number })
    .filter((r) => r.t === 'seg');
}

void test('SIGKILL part-way: the restart resumes without recopying finished files; manifests equal an uninterrupted run', { timeout: 120_000 }, async () => {
  const root = tmpdir('prep-crash-');
  const src = path.join(root, 'src');
  for (let i = 0; i < 40; i++) write(path.join(src, `dir${i % 4}`, `file-${String(i).padStart(2, '0')}.bin`), randomBytes(2 * MiB + i));
  const secrets = new MemorySecretStore();
  const dataset = parseDatasetCsv(`BasePath,DstBlobPathOrPrefix\n${src}/,crash/\n`, 'dataset.csv');
  const mkDrives = async (tag: string, id: string) => {
    const a = path.join(root, `${tag}-a`);
    const b = path.join(root, `${tag}-b`);
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    return parseDrivesetCsv(driveset([{ path: a, id: 'CRASH-A', capacity: 60 * MiB }, { path: b, id: 'CRASH-B', capacity: 60 * MiB }]), 'driveset.csv', secrets, id);
  };
  const journalDir = path.join(root, 'journal');
  const req: PrepareRequest = { preparationId: 'crash-1', dataset, drives: await mkDrives('k', 'crash-1'), mode: 'copy', journalDir };
  const journalFile = path.join(journalDir, 'crash-1', 'journal.jsonl');

  // 1. Start, and SIGKILL once the journal shows some finished files.
  // At 16 MiB/s the 80 MiB take at least 4 s, so the kill lands part-way however fast the machine copies.
  const first = runChild(root, 'first', req, 16 * MiB);
  let killedAt: { f: number; o: number }[] = [];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 15));
    killedAt = segRecords(journalFile);
    if (killedAt.length >= 5) break;
  }
  first.child.kill('SIGKILL');
  const ex = await first.exited;
  assert.equal(ex.signal, 'SIGKILL', `child ended before the kill: ${first.stderr()}`);
  assert.ok(!fs.existsSync(first.resultFile));
  killedAt = segRecords(journalFile); // everything durably journaled before the kill
  assert.ok(killedAt.length >= 5 && killedAt.length < 40, `finished before kill: ${killedAt.length}`);
  const plan = JSON.parse(fs.readFileSync(path.join(journalDir, 'crash-1', 'plan.json'), 'utf8')) as { drives: { path: string }[]; files: { drive: number; rel: string }[] };
  const destOf = (f: number) => {
    const pf = plan.files[f];
    assert.ok(pf);
    return path.join(plan.drives[pf.drive]?.path ?? '', ...pf.rel.split('/'));
  };
  const mtimes = new Map(killedAt.map((r) => [r.f, fs.statSync(destOf(r.f), { bigint: true }).mtimeNs]));
  for (const d of req.drives) assert.ok(!fs.existsSync(path.join(d.path, 'DriveManifest.xml')));

  // 2. Restart: resumes from the journal.
  const second = runChild(root, 'second', req);
  const ex2 = await second.exited;
  assert.equal(ex2.code, 0, second.stderr());
  const resumed = JSON.parse(fs.readFileSync(second.resultFile, 'utf8')) as PrepareResult;
  const after = segRecords(journalFile);
  // Files finished before the crash were not copied again: no new records, untouched mtimes.
  for (const r of killedAt) {
    assert.equal(after.filter((x) => x.f === r.f && x.o === r.o).length, 1, `file ${r.f} recopied`);
    assert.equal(fs.statSync(destOf(r.f), { bigint: true }).mtimeNs, mtimes.get(r.f), `file ${r.f} rewritten`);
  }
  assert.equal(new Set(after.map((r) => r.f)).size, 40);
  assert.equal(after.length, 40, 'each file journaled exactly once');

  // 3. An uninterrupted run onto fresh drives gives byte-identical manifests.
  const req2: PrepareRequest = { ...req, preparationId: 'crash-2', drives: await mkDrives('u', 'crash-2') };
  const third = runChild(root, 'third', req2);
  assert.equal((await third.exited).code, 0, third.stderr());
  const clean = JSON.parse(fs.readFileSync(third.resultFile, 'utf8')) as PrepareResult;
  for (let i = 0; i < 2; i++) {
    const a = resumed.drives[i];
    const b = clean.drives[i];
    assert.ok(a && b);
    assert.equal(a.manifestHash, b.manifestHash);
    assert.ok(fs.readFileSync(path.join(a.drivePath, 'DriveManifest.xml')).equals(fs.readFileSync(path.join(b.drivePath, 'DriveManifest.xml'))));
    assert.deepEqual(independentCheck(a.drivePath, a.manifestHash).problems, []);
  }
  fs.rmSync(root, { recursive: true, force: true });
});
