/** `status --watch` output: a terminal gets each frame drawn over the last one; a pipe gets only frames that changed. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StatusScreen } from '../client/status-screen';

const frame = (n: number, lines = 3): string => Array.from({ length: lines }, (_, i) => `line ${i} of frame ${n}`).join('\n');

void it('on a terminal, moves up over the previous frame (counting wrapped lines) and clears it', () => {
  let out = '';
  const screen = new StatusScreen({ stdout: (s) => (out += s), tty: { columns: 10 } });
  screen.show(frame(1), true);
  assert.equal(out, `${frame(1)}\n`);
  out = '';
  screen.show(frame(2), true);
  // Each 20-character line wraps to two rows of 10 columns: 6 rows to go back over.
  assert.equal(out, `\x1b[6F\x1b[0J${frame(2)}\n`);
  out = '';
  screen.show(frame(2), true);
  assert.equal(out, '', 'an unchanged frame is not redrawn');
});

void it('without a terminal, prints only frames that changed, separated by a blank line, and no escape codes', () => {
  let out = '';
  const screen = new StatusScreen({ stdout: (s) => (out += s) });
  for (const n of [1, 1, 1, 2, 2]) screen.show(frame(n), true);
  assert.equal(out, `${frame(1)}\n\n${frame(2)}\n`);
  assert.doesNotMatch(out, /\x1b/);
});
