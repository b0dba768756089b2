/** The prepare command's progress bar: 80 columns, redrawn in place on a TTY, sparse plain lines otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrepareProgressBar, shortenMiddle } from '../client/prepare-command';

const LONG = '/srv/exports/2026/project-alpha/raw/instrument-07/session-0042/very-long-directory-name/frame-000123.tiff';

function sink(isTTY: boolean, columns?: number) {
  let text = '';
  return { write: (s: string) => (text += s), isTTY, columns, text: () => text };
}

void test('shortenMiddle keeps the start and the file name', () => {
  const s = shortenMiddle(LONG, 40);
  assert.equal(s.length, 40);
  assert.ok(s.startsWith('/srv/exports'), s);
  assert.ok(s.endsWith('frame-000123.tiff'), s);
  assert.ok(s.includes('…'));
  assert.equal(shortenMiddle('short', 40), 'short');
});

void test('on an 80-column TTY every drawn line fits and is redrawn in place', async () => {
  const out = sink(true, 80);
  const bar = new PrepareProgressBar(out, 'preparing');
  for (let i = 0; i <= 20; i++) {
    bar.update({ filesDone: i, filesTotal: 20, bytesDone: i * 100 * 1024 * 1024, bytesTotal: 2000 * 1024 * 1024, currentFile: LONG });
    await new Promise((r) => setTimeout(r, 15));
  }
  bar.finish();
  // Strip cursor movement / clear-line sequences: what remains are the drawn lines.
  const drawn = out.text().split(/\x1b\[[0-9;]*[A-Za-z]|\r|\n/).filter((l) => l.trim() !== '');
  assert.ok(drawn.length >= 2, out.text());
  for (const l of drawn) assert.ok(l.length <= 79, `${l.length}: ${l}`);
  assert.equal(out.text().split('\n').length - 1, 1, 'one newline (at the end): the bar is redrawn, not scrolled');
  const last = drawn[drawn.length - 1] ?? '';
  assert.match(last, /^preparing \[#+\] 100\.0% .* files 20\/20 \/srv\/.*….*\.tiff$/);
});

void test('without a TTY: sparse plain lines of at most 80 columns', async () => {
  const out = sink(false);
  const bar = new PrepareProgressBar(out, 'verifying', 60_000);
  for (let i = 0; i <= 50; i++) bar.update({ filesDone: i, filesTotal: 50, bytesDone: i, bytesTotal: 50, currentFile: LONG });
  await new Promise((r) => setTimeout(r, 50));
  bar.finish();
  const lines = out.text().split('\n').filter((l) => l !== '');
  assert.ok(lines.length <= 3, `${lines.length} lines for 51 updates:\n${out.text()}`);
  for (const l of lines) assert.ok(l.length <= 80 && !l.includes('\x1b'), l);
  assert.match(lines[lines.length - 1] ?? '', /^verifying: 100\.0% .* files 50\/50 /);
});
