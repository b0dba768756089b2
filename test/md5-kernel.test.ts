/**
 * The multi-buffer MD5 kernel (WebAssembly SIMD, four lanes) equals node:crypto on every edge
 * length and on random data, with lanes of unequal lengths in one call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { createBlockHasher, LANE_CAPACITY, type BlockHasher } from '../activities/prepare/md5/hasher';
import { kernelFile, loadKernelModule } from '../activities/prepare/md5/kernel';

const MiB = 1024 * 1024;

function simdHasher(): BlockHasher {
  if (!fs.existsSync(kernelFile())) execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'activities', 'prepare', 'md5', 'build.ts')], { stdio: 'inherit' });
  const kernel = loadKernelModule();
  assert.ok(kernel, `the MD5 kernel was not built at ${kernelFile()}`);
  const h = createBlockHasher(kernel);
  assert.equal(h.kind, 'simd');
  return h;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex').toUpperCase();

/** Fills lanes with `blocks`, hashes them in one call and compares each with node:crypto. */
function check(h: BlockHasher, blocks: Buffer[]): void {
  blocks.forEach((b, i) => b.copy(h.lanes[i] as Buffer));
  const got = h.hash(blocks.map((b) => b.length));
  assert.deepEqual(got, blocks.map(md5), `lengths ${blocks.map((b) => b.length).join(',')}`);
}

const EDGES = [0, 1, 2, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4095, 4096, 4097, 65535, 65536, 65537, MiB - 1, MiB, MiB + 1, 4 * MiB - 65, 4 * MiB - 64, 4 * MiB - 56, 4 * MiB - 55, 4 * MiB - 1, 4 * MiB];

void test('every edge length, alone and beside lanes of other lengths, equals node:crypto', () => {
  const h = simdHasher();
  const data = randomBytes(4 * MiB);
  for (const n of EDGES) {
    check(h, [data.subarray(0, n)]);
    // Unequal lanes: a lane that finishes early must keep its digest while the others go on.
    check(h, [data.subarray(0, n), data.subarray(7, 7 + Math.max(0, Math.min(4 * MiB - 7, (n * 3) % (4 * MiB)))), Buffer.alloc(0), data.subarray(1, 1 + ((n + 64) % (4 * MiB)))]);
  }
  // All four lanes at full capacity.
  check(h, [0, 1, 2, 3].map((i) => Buffer.concat([Buffer.from([i]), data.subarray(1)])));
});

void test('4 MiB + 1 is refused (blocks are at most 4 MiB), as are negative lengths and a fifth lane', () => {
  const h = simdHasher();
  assert.equal(LANE_CAPACITY, 4 * MiB);
  assert.throws(() => h.hash([4 * MiB + 1]), RangeError);
  assert.throws(() => h.hash([-1]), RangeError);
  assert.throws(() => h.hash([1, 1, 1, 1, 1]), RangeError);
});

void test('random data, random lengths and lane counts: equal to node:crypto (property)', () => {
  const h = simdHasher();
  const pool = randomBytes(4 * MiB + 4096);
  const len = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 4 * MiB }));
  const block = fc.record({ start: fc.integer({ min: 0, max: 4096 }), len });
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 4 }), (blocks) => {
      check(h, blocks.map((b) => pool.subarray(b.start, b.start + b.len)));
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 1, maxLength: 4 }), (arrays) => {
      check(h, arrays.map((a) => Buffer.from(a)));
    }),
    { numRuns: 500 },
  );
});

void test('the node:crypto fallback has the same contract', () => {
  const h = createBlockHasher(null);
  assert.equal(h.kind, 'node:crypto');
  const data = randomBytes(4 * MiB);
  for (const n of [0, 55, 64, 4 * MiB]) check(h, [data.subarray(0, n), data.subarray(0, 1)]);
});
