import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  InsufficientCapacityError,
  PrepareInputError,
  parseDatasetCsv,
  parseDrivesetCsv,
  parsePrepareSpecText,
  prepareDrives,
  verifyDrive,
} from '../activities/prepare';
import { runPrepareCommand } from '../client/prepare-command';
import { MemorySecretStore } from './fixtures/prepare/memory-secrets';
import { KEY1, KEY2, MiB, bytes, driveset, independentCheck, listFiles, md5, tmpdir, write } from './fixtures/prepare/helpers';

const DATASET_HEADER = 'BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile\n';

/** The tree the issue asks for: nested folders, empty file, 4 MiB, 4 MiB + 1, a .vhd, metadata/properties, unicode names. */
function makeTree(root: string): { src: string; meta: string; props: string; single: string } {
  const src = path.join(root, 'src');
  write(path.join(src, 'a', 'b', 'c', 'deep.txt'), 'deep file\n');
  write(path.join(src, 'empty.dat'), Buffer.alloc(0));
  write(path.join(src, 'exact4m.bin'), bytes(4 * MiB, 1));
  write(path.join(src, 'four-plus-one.bin'), bytes(4 * MiB + 1, 2));
  write(path.join(src, 'disk.vhd'), bytes(512 * 2051, 3));
  write(path.join(src, 'ünïcødé', '日本語 ファイル.txt'), 'こんにちは\n');
  write(path.join(src, 'a', 'medium.bin'), bytes(9 * MiB + 123, 4));
  const single = path.join(root, 'single', 'report.csv');
  write(single, 'x,y\n1,2\n');
  const meta = path.join(root, 'meta.xml');
  write(meta, '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata><owner>ops</owner><project>seed</project></Metadata>\n');
  const props = path.join(root, 'props.xml');
  write(props, '<?xml version="1.0" encoding="UTF-8"?>\n<Properties><Content-Type>text/csv</Content-Type></Properties>\n');
  return { src, meta, props, single };
}

async function setup(root: string, mode: 'copy' | 'skip-write' = 'copy', prepId = 'prep-main') {
  const t = makeTree(root);
  const d1 = path.join(root, 'drive1');
  const d2 = path.join(root, 'drive2');
  fs.mkdirSync(d1);
  fs.mkdirSync(d2);
  const secrets = new MemorySecretStore();
  const dataset = parseDatasetCsv(
    DATASET_HEADER + `${t.src}/,data/set1/,,rename,None,None\n"${t.single}",reports/2024/q1.csv,block,overwrite,${t.meta},${t.props}\n`,
    'dataset.csv',
  );
  const drives = await parseDrivesetCsv(driveset([{ path: d1, id: 'WD-AAA111', key: KEY1 }, { path: d2, id: 'WD-BBB222', key: KEY2 }]), 'driveset.csv', secrets, prepId);
  return { ...t, d1, d2, secrets, dataset, drives, journalDir: path.join(root, 'journal'), mode };
}

void test('prepares a tree onto two drives; an independent check re-reads every block and hash', async () => {
  const root = tmpdir();
  const s = await setup(root);
  const progress: number[] = [];
  const r = await prepareDrives(
    { preparationId: 'prep-main', dataset: s.dataset, drives: s.drives, mode: 'copy', journalDir: s.journalDir },
    { onProgress: (p) => progress.push(p.bytesDone) },
  );
  assert.equal(r.drives.length, 2);
  const all: { blobPath: string; kind: string; length: number; ranges: { offset: number; length: number }[] }[] = [];
  for (const d of r.drives) {
    assert.equal(d.manifestFile, '\\DriveManifest.xml');
    assert.match(d.manifestHash, /^[0-9A-F]{32}$/);
    assert.equal(d.bitLockerKeyRef.kind, 'secret-ref');
    assert.ok(!JSON.stringify(d).includes(KEY1) && !JSON.stringify(d).includes(KEY2), 'no key in the result');
    const xml = fs.readFileSync(path.join(d.drivePath, 'DriveManifest.xml'), 'utf8');
    assert.ok(!xml.includes(KEY1) && !xml.includes(KEY2) && !xml.includes('StorageAccountKey'));
    assert.ok(xml.includes(`<DriveId>${d.driveId}</DriveId>`));
    const chk = independentCheck(d.drivePath, d.manifestHash);
    assert.deepEqual(chk.problems, []);
    assert.equal(chk.blobs.length, d.fileCount);
    assert.ok(d.fileCount > 0, 'both drives used');
    all.push(...chk.blobs);
  }
  const srcBytes = listFiles(s.src).reduce((n, f) => n + fs.statSync(path.join(s.src, f)).size, 0);
  assert.equal(progress.at(-1), srcBytes + [s.single, s.meta, s.props].reduce((n, f) => n + fs.statSync(f).size, 0));
  const by = new Map(all.map((b) => [b.blobPath, b]));
  assert.deepEqual([...by.keys()].sort(), [
    'data/set1/a/b/c/deep.txt',
    'data/set1/a/medium.bin',
    'data/set1/disk.vhd',
    'data/set1/empty.dat',
    'data/set1/exact4m.bin',
    'data/set1/four-plus-one.bin',
    'data/set1/ünïcødé/日本語 ファイル.txt',
    'reports/2024/q1.csv',
  ]);
  assert.deepEqual(by.get('data/set1/exact4m.bin')?.ranges.map((x) => x.length), [4 * MiB]);
  assert.deepEqual(by.get('data/set1/four-plus-one.bin')?.ranges.map((x) => x.length), [4 * MiB, 1]);
  assert.deepEqual(by.get('data/set1/empty.dat')?.ranges, []);
  assert.equal(by.get('data/set1/disk.vhd')?.kind, 'page');
  assert.deepEqual(by.get('data/set1/a/medium.bin')?.ranges.map((x) => x.offset), [0, 4 * MiB, 8 * MiB]);
  // metadata/properties referenced with hashes; disposition carried
  const d = r.drives.find((x) => fs.readFileSync(path.join(x.drivePath, 'DriveManifest.xml'), 'utf8').includes('reports/2024/q1.csv'));
  const xml = fs.readFileSync(path.join(d?.drivePath ?? '', 'DriveManifest.xml'), 'utf8');
  assert.ok(xml.includes(`<MetadataPath Hash="${md5(fs.readFileSync(s.meta))}">`));
  assert.ok(xml.includes(`<PropertiesPath Hash="${md5(fs.readFileSync(s.props))}">`));
  assert.ok(xml.includes('<ImportDisposition>overwrite</ImportDisposition>'));
  // The journal is not on a drive; verify mode agrees.
  for (const x of r.drives) {
    assert.ok(!listFiles(x.drivePath).some((f) => f.includes('journal')));
    const v = await verifyDrive(x.drivePath, { expectedManifestHash: x.manifestHash });
    assert.deepEqual(v, { ok: true, mismatches: [] });
  }
  // A retry of a completed preparation returns the same result without work.
  const again = await prepareDrives({ preparationId: 'prep-main', dataset: s.dataset, drives: s.drives, mode: 'copy', journalDir: s.journalDir }, {});
  assert.deepEqual(again, r);

  // Deterministic: the same inputs onto fresh drives give byte-identical manifests.
  const e1 = path.join(root, 'again1');
  const e2 = path.join(root, 'again2');
  fs.mkdirSync(e1);
  fs.mkdirSync(e2);
  const drives2 = await parseDrivesetCsv(driveset([{ path: e1, id: 'WD-AAA111', key: KEY1 }, { path: e2, id: 'WD-BBB222', key: KEY2 }]), 'driveset.csv', s.secrets, 'prep-second');
  const r2 = await prepareDrives({ preparationId: 'prep-second', dataset: s.dataset, drives: drives2, mode: 'copy', journalDir: s.journalDir }, { concurrency: 1 });
  for (let i = 0; i < 2; i++) {
    assert.equal(r2.drives[i]?.manifestHash, r.drives[i]?.manifestHash);
    assert.ok(fs.readFileSync(path.join(r2.drives[i]?.drivePath ?? '', 'DriveManifest.xml')).equals(fs.readFileSync(path.join(r.drives[i]?.drivePath ?? '', 'DriveManifest.xml'))));
  }
  fs.rmSync(root, { recursive: true, force: true });
});

void test('skip-write hashes data already on the drive; verify finds a flipped byte and a tampered manifest', async () => {
  const root = tmpdir();
  const d = path.join(root, 'drive');
  write(path.join(d, 'photos', 'x.jpg'), bytes(5 * MiB + 7, 9));
  write(path.join(d, 'photos', 'sub', 'y.txt'), 'hello');
  write(path.join(d, 'vm', 'disk.vhd'), bytes(4096, 10));
  const secrets = new MemorySecretStore();
  const dataset = parseDatasetCsv(DATASET_HEADER + `${d}/photos/,pics/,,,,\n${d}/vm/disk.vhd,vhds/disk.vhd,page,,,\n`, 'dataset.csv');
  const drives = await parseDrivesetCsv(driveset([{ path: d, id: 'SER1' }]), 'driveset.csv', secrets, 'skip1');
  const before = listFiles(d).map((f) => [f, fs.statSync(path.join(d, f)).mtimeMs]);
  const r = await prepareDrives({ preparationId: 'skip1', dataset, drives, mode: 'skip-write', journalDir: path.join(root, 'j') }, {});
  const after = listFiles(d).filter((f) => f !== 'DriveManifest.xml').map((f) => [f, fs.statSync(path.join(d, f)).mtimeMs]);
  assert.deepEqual(after, before, 'only the manifest was written');
  const drive = r.drives[0];
  assert.ok(drive);
  const chk = independentCheck(d, drive.manifestHash);
  assert.deepEqual(chk.problems, []);
  assert.deepEqual(chk.blobs.map((b) => [b.blobPath, b.filePath]).sort(), [
    ['pics/sub/y.txt', '\\photos\\sub\\y.txt'],
    ['pics/x.jpg', '\\photos\\x.jpg'],
    ['vhds/disk.vhd', '\\vm\\disk.vhd'],
  ]);
  assert.equal((await verifyDrive(d, { expectedManifestHash: drive.manifestHash })).ok, true);

  // flip one byte in the second block of x.jpg
  const fd = fs.openSync(path.join(d, 'photos', 'x.jpg'), 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 4 * MiB + 3);
  b[0] = (b[0] ?? 0) ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 4 * MiB + 3);
  fs.closeSync(fd);
  let v = await verifyDrive(d, { expectedManifestHash: drive.manifestHash });
  assert.equal(v.ok, false);
  assert.equal(v.mismatches.length, 1);
  assert.deepEqual({ ...v.mismatches[0], expected: undefined, actual: undefined }, { file: '\\photos\\x.jpg', blob: 'pics/x.jpg', offset: 4 * MiB, reason: 'block-hash', expected: undefined, actual: undefined });

  // tamper with the manifest (change a length) → manifest hash mismatch + length mismatch
  const mf = path.join(d, 'DriveManifest.xml');
  fs.writeFileSync(mf, fs.readFileSync(mf, 'utf8').replace('<Length>5</Length>', '<Length>6</Length>'));
  v = await verifyDrive(d, { expectedManifestHash: drive.manifestHash });
  assert.ok(v.mismatches.some((m) => m.reason === 'manifest-hash' && m.expected === drive.manifestHash));
  assert.ok(v.mismatches.some((m) => m.reason === 'length' && m.file === '\\photos\\sub\\y.txt'));
  assert.ok(v.mismatches.some((m) => m.reason === 'block-hash' && m.offset === 4 * MiB));
  fs.rmSync(root, { recursive: true, force: true });
});

void test('bad inputs give located errors and leave the drives untouched', async () => {
  const root = tmpdir();
  const t = makeTree(root);
  const d1 = path.join(root, 'd1');
  const d2 = path.join(root, 'd2');
  fs.mkdirSync(d1);
  fs.mkdirSync(d2);
  const secrets = new MemorySecretStore();
  const drives = await parseDrivesetCsv(driveset([{ path: d1, id: 'A1' }, { path: d2, id: 'B2' }]), 'driveset.csv', secrets, 'bad');
  const journalDir = path.join(root, 'j');
  const run = async (csv: string, drv = drives) =>
    prepareDrives({ preparationId: 'bad', dataset: parseDatasetCsv(DATASET_HEADER + csv, 'dataset.csv'), drives: drv, mode: 'copy', journalDir }, {});
  const untouched = () => {
    assert.deepEqual(fs.readdirSync(d1), []);
    assert.deepEqual(fs.readdirSync(d2), []);
    assert.ok(!fs.existsSync(path.join(journalDir, 'bad', 'plan.json')));
  };

  // missing source: names dataset.csv, row 3, column 1
  await assert.rejects(run(`${t.src}/,data/,,,,\n${root}/nope.bin,data/nope.bin,,,,\n`), (e: PrepareInputError) => {
    assert.ok(e instanceof PrepareInputError);
    assert.equal(e.file, 'dataset.csv');
    assert.equal(e.row, 3);
    assert.equal(e.column, 1);
    assert.match(e.message, /nope\.bin does not exist/);
    return true;
  });
  untouched();
  // a "file" that is a directory (unreadable as a file); chmod-based unreadability when not root
  await assert.rejects(run(`${t.src},data/x,,,,\n`), /dataset\.csv, row 2, column 1 .*is a directory/);
  if (process.getuid?.() !== 0) {
    const locked = path.join(root, 'locked.bin');
    write(locked, 'secret');
    fs.chmodSync(locked, 0);
    await assert.rejects(run(`${locked},data/locked.bin,,,,\n`), /row 2, column 1 .*not readable/);
  }
  untouched();
  // invalid container name (column 2)
  await assert.rejects(run(`${t.src}/,Data_Set/,,,,\n`), (e: PrepareInputError) => e.row === 2 && e.column === 2 && /container name "Data_Set"/.test(e.message));
  await assert.rejects(run(`${t.single},$root/a/b.csv,,,,\n`), /\$root/);
  // page blob of a length that is not a multiple of 512
  await assert.rejects(run(`${t.single},data/x.csv,page,,,\n`), /row 2, column 3 .*multiple of 512/);
  untouched();
  // capacity shortfall refused up front, with the shortfall
  const small = await parseDrivesetCsv(driveset([{ path: d1, id: 'A1', capacity: 3 * MiB }, { path: d2, id: 'B2', capacity: 4 * MiB }]), 'driveset.csv', secrets, 'bad');
  await assert.rejects(run(`${t.src}/,data/,,,,\n`, small), (e: InsufficientCapacityError) => {
    assert.ok(e instanceof InsufficientCapacityError);
    assert.match(e.message, /short by/);
    assert.ok(e.shortfallBytes > 10 * MiB);
    return true;
  });
  // total fits but the largest file fits on no drive (files are never split)
  const split = await parseDrivesetCsv(driveset([{ path: d1, id: 'A1', capacity: 14 * MiB }, { path: d2, id: 'B2', capacity: 14 * MiB }]), 'driveset.csv', secrets, 'bad');
  await assert.rejects(run(`${t.src}/,data/,,,,\n${root}/big/,more/,,,,\n`, split), /fits on no drive|short by|does not exist/);
  write(path.join(root, 'big', 'huge.bin'), bytes(20 * MiB, 5));
  await assert.rejects(run(`${root}/big/,more/,,,,\n`, split), /huge\.bin .* fits on no drive.*short by/);
  untouched();

  // malformed CSV rows
  assert.throws(() => parseDatasetCsv(DATASET_HEADER + `${t.single},data/a\n`, 'ds.csv'), /ds\.csv, row 2, column 3: row has 2 fields but the header has 6/);
  assert.throws(() => parseDatasetCsv(DATASET_HEADER + `"${t.single},data/a,,,,\n`, 'ds.csv'), /ds\.csv, row 2.*malformed CSV: a quoted field is never closed/);
  assert.throws(() => parseDatasetCsv('BasePath,Destination\n/x,c/\n', 'ds.csv'), /ds\.csv, row 1, column 2 \(Destination\): unknown column/);
  assert.throws(() => parseDatasetCsv(DATASET_HEADER + `relative/path,data/,,,,\n`, 'ds.csv'), /row 2, column 1 \(BasePath\).*absolute/);
  assert.throws(() => parseDatasetCsv(DATASET_HEADER + `${t.single},data/x,block,replace,,\n`, 'ds.csv'), /row 2, column 4 \(Disposition\)/);

  // bad BitLocker key: located, never echoed, nothing stored
  const badKey = '12345-662376-448998-450120-652806-203390-606320-48307X';
  const s2 = new MemorySecretStore();
  await assert.rejects(parseDrivesetCsv(driveset([{ path: d1, id: 'A1' }, { path: d2, id: 'B2', key: badKey }]), 'driveset.csv', s2, 'bad'), (e: Error) => {
    assert.ok(e instanceof PrepareInputError);
    assert.equal(e.file, 'driveset.csv');
    assert.equal(e.row, 3);
    assert.equal(e.column, 5);
    assert.equal(e.field, 'ExistingBitLockerKey');
    assert.ok(!e.message.includes(badKey) && !e.message.includes('662376') && !(e.stack ?? '').includes('662376'));
    return true;
  });
  assert.equal(s2.values.size, 0);
  await assert.rejects(
    parseDrivesetCsv('DriveLetter,FormatOption,Encryption,ExistingBitLockerKey\n/mnt/x,Format,Encrypt,\n', 'driveset.csv', s2, 'bad'),
    /row 2, column 2 \(FormatOption\): formatting drives is not supported/,
  );
  untouched();

  // no DriveId and no readable serial → clear error
  const noId = await parseDrivesetCsv(driveset([{ path: d1 }]), 'driveset.csv', secrets, 'bad');
  await assert.rejects(
    prepareDrives(
      { preparationId: 'bad', dataset: parseDatasetCsv(DATASET_HEADER + `${t.single},data/a.csv,,,,\n`, 'dataset.csv'), drives: noId, mode: 'copy', journalDir },
      { driveIdDeps: { exec: async () => 'overlay\n', readText: async () => '' } },
    ),
    /driveset\.csv, row 2, column 6 \(DriveId\): no DriveId given and no block device backs/,
  );
  untouched();
  fs.rmSync(root, { recursive: true, force: true });
});

void test('drive serial is read from /sys/block when no DriveId is given', async () => {
  const { readDriveSerial } = await import('../activities/prepare');
  const calls: string[] = [];
  const serial = await readDriveSerial('/mnt/usb1', {
    exec: async (cmd, args) => {
      calls.push(`${cmd} ${args.join(' ')}`);
      if (cmd === 'findmnt') return '/dev/sdz1\n';
      if (cmd === 'lsblk') return 'sdz\n';
      return '';
    },
    readText: async (p) => (p === '/sys/block/sdz/device/serial' ? '  WD-WX12 34\n' : ''),
  });
  assert.equal(serial, 'WD-WX1234');
  assert.ok(calls[0]?.startsWith('findmnt'));
});

void test('the job-spec (YAML) section gives the same drives and located errors', async () => {
  const secrets = new MemorySecretStore();
  const yaml = `jobName: j1\nprepare:\n  dataset:\n    - basePath: /data/photos/\n      dstBlobPathOrPrefix: photos/\n  drives:\n    - path: /mnt/d1\n      existingBitLockerKey: "${KEY1}"\n      driveId: X1\n`;
  const s = await parsePrepareSpecText(yaml, 'job.yaml', secrets, 'job-1');
  assert.equal(s.dataset[0]?.dstBlobPathOrPrefix, 'photos/');
  assert.deepEqual(s.drives[0]?.bitLockerKeyRef, { kind: 'secret-ref', store: 'local', name: 'bitlocker-job-1-X1' });
  assert.equal(await secrets.get(s.drives[0]?.bitLockerKeyRef ?? { kind: 'secret-ref', store: 'local', name: 'x' }), KEY1);
  await assert.rejects(parsePrepareSpecText(yaml.replace(KEY1, '1234'), 'job.yaml', new MemorySecretStore(), 'job-1'), (e: PrepareInputError) => {
    assert.equal(e.row, 8);
    assert.equal(e.field, 'drives[0].ExistingBitLockerKey');
    assert.ok(!e.message.includes('1234'));
    return true;
  });
});

void test('CLI: prepare (plain progress lines, --json) and verify', async () => {
  const root = tmpdir();
  const t = makeTree(root);
  const d1 = path.join(root, 'd1');
  fs.mkdirSync(d1);
  write(path.join(root, 'dataset.csv'), DATASET_HEADER + `${t.src}/,data/,,,,\n`);
  write(path.join(root, 'driveset.csv'), driveset([{ path: d1, id: 'CLI1' }]));
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, secrets: new MemorySecretStore() };
  const code = await runPrepareCommand(
    ['prepare', '--dataset', path.join(root, 'dataset.csv'), '--driveset', path.join(root, 'driveset.csv'), '--journal-dir', path.join(root, 'j'), '--id', 'cli-1', '--json'],
    io,
  );
  assert.equal(code, 0, err);
  const res = JSON.parse(out) as { drives: { manifestHash: string }[] };
  assert.match(res.drives[0]?.manifestHash ?? '', /^[0-9A-F]{32}$/);
  assert.match(err, /preparing: 100\.0%/);
  assert.ok(!err.includes(KEY1) && !out.includes(KEY1));
  out = '';
  assert.equal(await runPrepareCommand(['prepare', 'verify', d1, '--manifest-hash', res.drives[0]?.manifestHash ?? '', '--json'], io), 0);
  assert.equal((JSON.parse(out) as { ok: boolean }).ok, true);
  out = '';
  err = '';
  write(path.join(root, 'bad.csv'), DATASET_HEADER + `${t.src}/,Bad/,,,,\n`);
  assert.equal(await runPrepareCommand(['prepare', '--dataset', path.join(root, 'bad.csv'), '--driveset', path.join(root, 'driveset.csv'), '--journal-dir', path.join(root, 'j')], io), 2);
  assert.match(err, /bad\.csv, row 2, column 2/);
  // The copy-rate cap: refused by name when it is not a rate, honoured when it is (a lower bound on the copy).
  err = '';
  const d2 = path.join(root, 'd2');
  fs.mkdirSync(d2);
  write(path.join(root, 'driveset2.csv'), driveset([{ path: d2, id: 'CLI2' }]));
  const again = ['prepare', '--dataset', path.join(root, 'dataset.csv'), '--driveset', path.join(root, 'driveset2.csv'), '--journal-dir', path.join(root, 'j2'), '--id', 'cli-2'];
  assert.equal(await runPrepareCommand([...again, '--max-mib-per-second', 'fast'], io), 2);
  assert.match(err, /--max-mib-per-second.*a number of MiB per second/);
  assert.equal(await runPrepareCommand([...again, '--max-mib-per-second', '-1'], io), 2);
  const treeBytes = (fs.readdirSync(t.src, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .reduce((n, e) => n + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
  const t0 = performance.now();
  assert.equal(await runPrepareCommand([...again, '--max-mib-per-second', '2'], io), 0, err);
  // The first batch (at most 16 MiB) starts at once; the rest waits for the cap.
  const pacedBytes = treeBytes - 16 * MiB;
  assert.ok(pacedBytes > MiB, 'the tree is bigger than one batch');
  assert.ok(performance.now() - t0 >= (pacedBytes / (2 * MiB)) * 1000 - 5, 'the cap reached the copy');
  fs.rmSync(root, { recursive: true, force: true });
});
