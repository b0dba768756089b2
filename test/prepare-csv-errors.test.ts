/**
 * Generated malformed dataset.csv / driveset.csv files through the prepare command: every one
 * gets a located error (file, row, column), exit 2, no BitLocker key material in any output (text
 * or --json), nothing on the drive, no journal and no secret stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import { runPrepareCommand } from '../client/prepare-command';
import { MemorySecretStore } from './fixtures/prepare/memory-secrets';
import { tmpdir, write } from './fixtures/prepare/helpers';

const DRIVE_HEADER = 'DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId,CapacityBytes';
const DATA_HEADER = 'BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile';

/** A random recovery password whose groups are multiples of 11 (as real ones are). */
function randomKey(): string {
  return Array.from({ length: 8 }, () => String(11 * randomInt(0, 65536)).padStart(6, '0')).join('-');
}

interface Case {
  name: string;
  file: 'dataset' | 'driveset';
  text: string;
  key: string;
}

function cases(drive: string, src: string): Case[] {
  const out: Case[] = [];
  for (let round = 0; round < 2; round++) {
    const k = randomKey();
    const row = (key: string) => `${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,${key},D1,`;
    const drives: [string, string][] = [
      ['no header row', `${row(k)}\n`],
      ['no header row, BOM', `\ufeff${row(k)}\n`],
      ['no header row, two drives', `${row(k)}\n${row(k)}\n`],
      ['stray quote after the key', `${DRIVE_HEADER}\n${row(`${k}"`)}\n`],
      ['stray quote inside the key', `${DRIVE_HEADER}\n${row(`${k.slice(0, 20)}"${k.slice(20)}`)}\n`],
      ['unclosed quote before the key', `${DRIVE_HEADER}\n${row(`"${k}`)}\n`],
      ['text after a closing quote', `${DRIVE_HEADER}\n${row(`"${k}"x`)}\n`],
      ['key in the DriveId column', `${DRIVE_HEADER}\n${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,${k},${k} x,\n`],
      ['key in CapacityBytes', `${DRIVE_HEADER}\n${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,${k},D1,${k}\n`],
      ['key in FormatOption', `${DRIVE_HEADER}\n${drive},${k},SilentMode,AlreadyEncrypted,${k},D1,\n`],
      ['key in Encryption', `${DRIVE_HEADER}\n${drive},AlreadyFormatted,SilentMode,${k},${k},D1,\n`],
      ['key in SilentOrPromptOnFormat', `${DRIVE_HEADER}\n${drive},AlreadyFormatted,${k},AlreadyEncrypted,${k},D1,\n`],
      ['key as the drive path', `${DRIVE_HEADER}\n${k},AlreadyFormatted,SilentMode,AlreadyEncrypted,${k},D1,\n`],
      ['seven groups', `${DRIVE_HEADER}\n${row(k.split('-').slice(0, 7).join('-'))}\n`],
      ['letters in the key', `${DRIVE_HEADER}\n${row(k.replace(/^\d/, 'A'))}\n`],
      ['spaces for dashes', `${DRIVE_HEADER}\n${row(k.replace(/-/g, ' '))}\n`],
      ['extra field', `${DRIVE_HEADER}\n${row(k)},extra\n`],
      ['missing fields', `${DRIVE_HEADER}\n${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,${k}\n`],
      ['semicolons', `${DRIVE_HEADER.replace(/,/g, ';')}\n${row(k).replace(/,/g, ';')}\n`],
      ['tabs', `${DRIVE_HEADER.replace(/,/g, '\t')}\n${row(k).replace(/,/g, '\t')}\n`],
      ['duplicate column', `${DRIVE_HEADER},DriveLetter\n${row(k)},${drive}\n`],
      ['unknown column', `${DRIVE_HEADER},Colour\n${row(k)},blue\n`],
      ['header only', `${DRIVE_HEADER}\n`],
      ['empty file', ''],
      ['NUL bytes', `${DRIVE_HEADER}\n${row(k)}\u0000\n`],
      ['relative drive path', `${DRIVE_HEADER}\nmnt/drive,AlreadyFormatted,SilentMode,AlreadyEncrypted,${k},D1,\n`],
      ['Format requested', `${DRIVE_HEADER}\n${drive},Format,SilentMode,Encrypt,${k},D1,\n`],
      ['eleven drives', `${DRIVE_HEADER}\n${Array.from({ length: 11 }, (_, i) => `${drive}${i},AlreadyFormatted,SilentMode,AlreadyEncrypted,${k},D${i},`).join('\n')}\n`],
      ['the same drive twice', `${DRIVE_HEADER}\n${row(k)}\n${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,${k},D2,\n`],
      ['passwd file', `root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:${k}:/usr/sbin:/usr/sbin/nologin\n`],
    ];
    for (const [name, text] of drives) out.push({ name: `driveset: ${name} (${round})`, file: 'driveset', text, key: k });
  }
  const k = randomKey();
  const datasets: [string, string][] = [
    ['no header row', `${src}/,data/,,,,\n`],
    ['relative BasePath', `${DATA_HEADER}\nsrc/,data/,,,,\n`],
    ['wildcard', `${DATA_HEADER}\n${src}/*.bin,data/,,,,\n`],
    ['upper-case container', `${DATA_HEADER}\n${src}/,Data/,,,,\n`],
    ['container too short', `${DATA_HEADER}\n${src}/,ab/,,,,\n`],
    ['double dash container', `${DATA_HEADER}\n${src}/,a--b/,,,,\n`],
    ['directory without a prefix', `${DATA_HEADER}\n${src}/,data/blob,,,,\n`],
    ['bad BlobType', `${DATA_HEADER}\n${src}/,data/,append,,,\n`],
    ['bad Disposition', `${DATA_HEADER}\n${src}/,data/,,keep,,\n`],
    ['relative metadata', `${DATA_HEADER}\n${src}/,data/,,,meta.xml,\n`],
    ['unclosed quote', `${DATA_HEADER}\n"${src}/,data/,,,,\n`],
    ['stray quote', `${DATA_HEADER}\n${src}/",data/,,,,\n`],
    ['text after quote', `${DATA_HEADER}\n"${src}/"x,data/,,,,\n`],
    ['extra field', `${DATA_HEADER}\n${src}/,data/,,,,,x\n`],
    ['missing required column', `BasePath\n${src}/\n`],
    ['duplicate column', `${DATA_HEADER},BasePath\n${src}/,data/,,,,,${src}/\n`],
    ['header only', `${DATA_HEADER}\n`],
    ['empty', ''],
    ['NUL bytes', `\u0000\u0001binary`],
    ['passwd file', `root:x:0:0:root:/root:/bin/bash\n`],
    ['$root with directories', `${DATA_HEADER}\n${src}/x.bin,$root/a/b,,,,\n`],
    ['empty segment', `${DATA_HEADER}\n${src}/,data//x/,,,,\n`],
    ['key pasted into the dataset', `${DATA_HEADER}\n${src}/,data/,${k},,,\n`],
  ];
  for (const [name, text] of datasets) out.push({ name: `dataset: ${name}`, file: 'dataset', text, key: k });
  return out;
}

/** The key and every 6-digit group of it: none may appear anywhere in the output. */
function keyFragments(key: string): string[] {
  return [key, ...key.split('-'), key.replace(/-/g, ''), key.replace(/-/g, ' ')];
}

void test('at least 50 malformed CSVs: located errors, exit 2, no key material in text or --json output, nothing written', async () => {
  const root = tmpdir('prep-csv-');
  const src = path.join(root, 'src');
  write(path.join(src, 'x.bin'), 'x');
  const drive = path.join(root, 'drive');
  fs.mkdirSync(drive);
  const goodKey = randomKey();
  write(path.join(root, 'good-dataset.csv'), `${DATA_HEADER}\n${src}/,data/,,,,\n`);
  write(path.join(root, 'good-driveset.csv'), `${DRIVE_HEADER}\n${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,${goodKey},D1,\n`);
  const all = cases(drive, src);
  assert.ok(all.length >= 50, `${all.length} cases`);
  for (const [i, c] of all.entries()) {
    const bad = path.join(root, `case-${i}.csv`);
    fs.writeFileSync(bad, c.text);
    const secrets = new MemorySecretStore();
    const journalDir = path.join(root, `journal-${i}`);
    for (const json of [false, true]) {
      let out = '';
      let err = '';
      const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, secrets };
      const args = ['prepare', '--dataset', c.file === 'dataset' ? bad : path.join(root, 'good-dataset.csv'), '--driveset', c.file === 'driveset' ? bad : path.join(root, 'good-driveset.csv'), '--journal-dir', journalDir];
      const code = await runPrepareCommand(json ? [...args, '--json'] : args, io);
      const text = out + err;
      assert.equal(code, 2, `${c.name}: exit ${code}\n${text}`);
      for (const frag of keyFragments(c.key)) assert.ok(!text.includes(frag), `${c.name}: output contains key material "${frag}":\n${text}`);
      assert.ok(!text.includes('root:x:0'), `${c.name}: echoes the file's first line:\n${text}`);
      assert.match(err, new RegExp(`case-${i}\\.csv, row \\d+, column \\d+`), `${c.name}: no file/row/column in\n${err}`);
      if (json) {
        const doc = JSON.parse(out) as { ok: boolean; exitCode: number; error: { problems?: { file: string; row?: number; column?: number; message: string }[] } };
        assert.equal(doc.ok, false);
        assert.equal(doc.exitCode, 2);
        const first = doc.error.problems?.[0];
        assert.ok(first && first.file === bad && (first.row ?? 0) >= 1 && (first.column ?? 0) >= 1, `${c.name}: ${out}`);
      }
    }
    assert.equal(secrets.values.size, 0, `${c.name}: a secret was stored`);
    assert.ok(!fs.existsSync(journalDir), `${c.name}: a journal was written`);
    assert.deepEqual(fs.readdirSync(drive), [], `${c.name}: something was written to the drive`);
  }
  fs.rmSync(root, { recursive: true, force: true });
});
