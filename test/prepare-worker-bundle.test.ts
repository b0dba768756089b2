/**
 * The copy worker's plain-JavaScript bundle: built when missing, rebuilt when a source it was
 * built from changed, and a thread started from it (without the TypeScript loader) copies and
 * hashes like node:crypto.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { copyWorkerBundle } from '../activities/prepare/worker-bundle';
import type { CopyWorkerData, WorkerReply, WorkerRequest } from '../activities/prepare/pool';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-bundle-'));
const bundle = path.join(dir, 'cache', 'copy-worker.cjs');
const sourcesOf = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[0]?.replace(/^\/\/ bundle built from: /, '') ?? '') as Record<string, string>;

void test('a missing bundle is built; one whose recorded sources differ from the files is rebuilt', () => {
  assert.equal(copyWorkerBundle(bundle), bundle);
  const sources = sourcesOf(bundle);
  assert.ok(sources['activities/prepare/copy-worker.ts'], `bundle sources: ${Object.keys(sources).join(', ')}`);
  const digest = createHash('sha256').update(fs.readFileSync(path.join(__dirname, '..', 'activities', 'prepare', 'copy-worker.ts'))).digest('hex');
  assert.equal(sources['activities/prepare/copy-worker.ts'], digest);

  const stale = fs.readFileSync(bundle, 'utf8').replace(digest, '0'.repeat(64)).replace('"use strict";', '"use strict"; throw new Error("stale bundle ran");');
  fs.writeFileSync(bundle, stale);
  assert.equal(copyWorkerBundle(bundle), bundle);
  assert.equal(sourcesOf(bundle)['activities/prepare/copy-worker.ts'], digest);
  assert.doesNotMatch(fs.readFileSync(bundle, 'utf8'), /stale bundle ran/);
});

void test('a thread started from the bundle, with no TypeScript loader, copies a file and hashes its blocks like node:crypto', async () => {
  const built = copyWorkerBundle(bundle);
  assert.ok(built);
  const src = path.join(dir, 'src.bin');
  const dst = path.join(dir, 'out', 'dst.bin');
  const data = randomBytes(9 * 1024 * 1024 + 5);
  fs.writeFileSync(src, data);
  const workerData: CopyWorkerData = { kernel: null };
  const w = new Worker(built, { workerData, execArgv: [] });
  try {
    const request: WorkerRequest = { id: 7, items: [{ src, dst, offset: 0, length: data.length, blockSize: 4 * 1024 * 1024, fileSize: data.length, sync: false }] };
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage(request);
    });
    const block = 4 * 1024 * 1024;
    const expected = [0, 1, 2].map((i) => createHash('md5').update(data.subarray(i * block, (i + 1) * block)).digest('hex').toUpperCase());
    assert.deepEqual(reply, { id: 7, results: [expected] });
    assert.ok(fs.readFileSync(dst).equals(data));
  } finally {
    await w.terminate();
  }
});
