/**
 * The copy-rate cap: the pacer's schedule (lower bounds on real waits, never tight timings), its cancellation, the
 * worker's PREPARE_MAX_MIB_PER_SECOND, and prepareDrives honouring the cap end to end with a correct drive.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrepareCancelledError, parseDatasetCsv, parseDrivesetCsv, prepareDrives, type PrepareRequest } from '../activities/prepare';
import { ratePacer } from '../activities/prepare/scheduling';
import { loadWorkerConfig } from '../worker/config';
import { MemorySecretStore } from './fixtures/prepare/memory-secrets';
import { KEY1, KEY2, MiB, bytes, driveset, independentCheck, tmpdir, write } from './fixtures/prepare/helpers';

/** The largest batch prepareDrives hands to a worker: the last one may start just before the end. */
const BATCH_BYTES = 16 * MiB;
/** setTimeout may fire a millisecond before performance.now() says the delay is over. */
const TIMER_SLACK_MS = 5;

const elapsedOf = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

describe('ratePacer', () => {
  test('refuses a rate that is not a positive finite number, naming the option', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => ratePacer(bad), (e: unknown) => e instanceof RangeError && /maxBytesPerSecond/.test(e.message) && e.message.includes(String(bad)));
  });

  test('the first batch starts at once; each later one once the bytes before it fit the rate', async () => {
    const pacer = ratePacer(20 * MiB);
    assert.ok((await elapsedOf(() => pacer.take(2 * MiB))) < 50, 'nothing handed out yet: no wait');
    const total = await elapsedOf(async () => {
      for (let i = 0; i < 5; i++) await pacer.take(2 * MiB);
    });
    // 6 takes of 2 MiB at 20 MiB/s: the last starts once the 10 MiB before it fit, 500 ms after the first.
    assert.ok(total >= 500 - TIMER_SLACK_MS, `5 paced takes after the first took ${total.toFixed(0)} ms, expected at least 500`);
  });

  test('takes asked for at once (parallel lanes) queue behind each other, in the order asked', async () => {
    const pacer = ratePacer(10 * MiB);
    const order: number[] = [];
    const t0 = performance.now();
    await Promise.all([0, 1, 2, 3, 4].map((i) => pacer.take(MiB).then(() => order.push(i))));
    const total = performance.now() - t0;
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.ok(total >= 400 - TIMER_SLACK_MS, `5 × 1 MiB at once at 10 MiB/s took ${total.toFixed(0)} ms, expected at least 400`);
  });

  test('idle time is not credited: after a lull the rate holds again from the next batch', async () => {
    const pacer = ratePacer(10 * MiB);
    await pacer.take(MiB);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok((await elapsedOf(() => pacer.take(MiB))) < 50, 'the schedule is behind: the batch after the lull starts at once');
    const third = await elapsedOf(() => pacer.take(MiB));
    assert.ok(third >= 100 - TIMER_SLACK_MS, `the batch after that waited ${third.toFixed(0)} ms, expected at least 100 (no burst from the lull)`);
  });

  test('an abort stops a wait promptly with PrepareCancelledError, and only the aborted caller', async () => {
    const pacer = ratePacer(MiB);
    await pacer.take(64 * MiB); // the next batch may start in 64 s
    const cancelled = new AbortController();
    const other = new AbortController();
    const t0 = performance.now();
    const waiting = pacer.take(MiB, cancelled.signal);
    const sharing = pacer.take(MiB, other.signal);
    setTimeout(() => cancelled.abort(), 50);
    await assert.rejects(waiting, PrepareCancelledError);
    assert.ok(performance.now() - t0 < 5_000, 'the wait ended at the abort, not at its start time');
    const stillWaiting = await Promise.race([sharing.then(() => 'started'), new Promise((r) => setTimeout(() => r('waiting'), 100))]);
    assert.equal(stillWaiting, 'waiting', 'the other preparation keeps its place in the schedule');
    other.abort();
    await assert.rejects(sharing, PrepareCancelledError);
    await assert.rejects(pacer.take(MiB, AbortSignal.abort()), PrepareCancelledError, 'an already aborted signal never waits');
  });

  test('a cancelled last wait gives its slot back: the next batch is not held up by bytes never copied', async () => {
    const pacer = ratePacer(10 * MiB);
    await pacer.take(MiB); // the next batch may start in 100 ms
    const cancelled = new AbortController();
    const waiting = pacer.take(50 * MiB, cancelled.signal); // would hold the schedule for 5 s more
    setTimeout(() => cancelled.abort(), 20);
    await assert.rejects(waiting, PrepareCancelledError);
    const elapsed = await elapsedOf(() => pacer.take(MiB));
    assert.ok(elapsed < 2_500, `the next batch started after the first one's slot, ${elapsed.toFixed(0)} ms, not the cancelled one's 5 s`);
  });
});

describe('PREPARE_MAX_MIB_PER_SECOND', () => {
  test('defaults to 0 (unlimited), takes fractions, and names the variable when invalid', () => {
    assert.equal(loadWorkerConfig({}).PREPARE_MAX_MIB_PER_SECOND, 0);
    assert.equal(loadWorkerConfig({ PREPARE_MAX_MIB_PER_SECOND: '62.5' }).PREPARE_MAX_MIB_PER_SECOND, 62.5);
    for (const bad of ['-1', 'fast', 'Infinity'])
      assert.throws(() => loadWorkerConfig({ PREPARE_MAX_MIB_PER_SECOND: bad }), /PREPARE_MAX_MIB_PER_SECOND: a number of MiB per second/);
  });
});

describe('prepareDrives under a copy-rate cap', () => {
  async function request(root: string, id: string, files: number, fileBytes: number, key: string): Promise<PrepareRequest> {
    const src = path.join(root, `${id}-src`);
    for (let i = 0; i < files; i++) write(path.join(src, `f${i}.bin`), bytes(fileBytes, i + 1));
    const drive = path.join(root, `${id}-drive`);
    fs.mkdirSync(drive);
    const dataset = parseDatasetCsv(`BasePath,DstBlobPathOrPrefix\n${src}/,capped/\n`, 'dataset.csv');
    const drives = await parseDrivesetCsv(driveset([{ path: drive, id: `WD-${id.toUpperCase()}`, key }]), 'driveset.csv', new MemorySecretStore(), id);
    return { preparationId: id, dataset, drives, mode: 'copy', journalDir: path.join(root, 'journal') };
  }

  test('takes at least (bytes − one batch) / cap, and the drive is prepared correctly', async () => {
    const root = tmpdir();
    try {
      const req = await request(root, 'capped', 16, 4 * MiB, KEY1);
      const cap = 32 * MiB;
      const t0 = performance.now();
      const r = await prepareDrives(req, { maxBytesPerSecond: cap, syncData: false });
      const ms = performance.now() - t0;
      const floor = ((64 * MiB - BATCH_BYTES) / cap) * 1000;
      console.log(`64 MiB at a 32 MiB/s cap: ${ms.toFixed(0)} ms (floor ${floor.toFixed(0)} ms)`);
      assert.ok(ms >= floor - TIMER_SLACK_MS, `prepared 64 MiB in ${ms.toFixed(0)} ms, below the cap's floor of ${floor.toFixed(0)} ms`);
      const [d] = r.drives;
      assert.ok(d);
      assert.equal(d.fileCount, 16);
      assert.equal(d.byteCount, 64 * MiB);
      assert.deepEqual(independentCheck(d.drivePath, d.manifestHash).problems, []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('one pacer shared by two preparations at once caps their sum', async () => {
    const root = tmpdir();
    try {
      const a = await request(root, 'shared-a', 16, 4 * MiB, KEY1);
      const b = await request(root, 'shared-b', 16, 4 * MiB, KEY2);
      const cap = 32 * MiB;
      const pacer = ratePacer(cap);
      const t0 = performance.now();
      const results = await Promise.all([prepareDrives(a, { pacer, syncData: false }), prepareDrives(b, { pacer, syncData: false })]);
      const ms = performance.now() - t0;
      // Each may have its last batch start just before the end; one 32 MiB/s cap each would allow 1.5 s.
      const floor = ((128 * MiB - 2 * BATCH_BYTES) / cap) * 1000;
      console.log(`2 × 64 MiB sharing a 32 MiB/s cap: ${ms.toFixed(0)} ms (floor ${floor.toFixed(0)} ms)`);
      assert.ok(ms >= floor - TIMER_SLACK_MS, `both prepared in ${ms.toFixed(0)} ms, below the shared cap's floor of ${floor.toFixed(0)} ms`);
      for (const r of results) for (const d of r.drives) assert.deepEqual(independentCheck(d.drivePath, d.manifestHash).problems, []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('cancelling a paced preparation stops it promptly, as PrepareCancelledError', async () => {
    const root = tmpdir();
    try {
      const req = await request(root, 'cancel', 16, 4 * MiB, KEY1);
      const ac = new AbortController();
      // At 1 MiB/s the 64 MiB would take over a minute.
      const running = prepareDrives(req, { maxBytesPerSecond: MiB, signal: ac.signal, syncData: false });
      let abortedAt = 0;
      setTimeout(() => {
        abortedAt = performance.now();
        ac.abort();
      }, 300);
      await assert.rejects(running, PrepareCancelledError);
      const ms = performance.now() - abortedAt;
      assert.ok(abortedAt > 0, 'it was still running when cancelled');
      assert.ok(ms < 10_000, `stopped ${ms.toFixed(0)} ms after being asked to (the remaining copy would take over 45 s)`);
      assert.ok(!fs.existsSync(path.join(root, 'cancel-drive', 'DriveManifest.xml')), 'no manifest for a cancelled preparation');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
