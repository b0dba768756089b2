/**
 * Prepare progress reaches the status query while the station copies (throttled signals), and the signal count is
 * bounded (one per whole percent at most).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { parseDatasetCsv } from '../activities/prepare';
import { workflowIdForJob } from '../common/ids';
import { createPrepareWorker } from '../worker/prepare-worker';
import { progressThrottle } from '../worker/prepare-progress';
import { importJobWorkflow } from '../workflows/import-job';
import { cancelUpdate, statusQuery, type ImportJobStatus } from '../workflows/import-job-messages';
import { TEST_BITLOCKER_KEYS, eventually, startImportJobHarness, testDataConverter, type ImportJobHarness } from './helpers/import-job-harness';

const MiB = 1024 * 1024;
let h: ImportJobHarness;
let station: Worker;
let running: Promise<unknown>;
let dir: string;
before(async () => {
  h = await startImportJobHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prepare-progress-'));
  // The station's copy-rate cap makes the 480 MiB take at least (480 − 16) / 64 ≈ 7 s on any machine: several of the
  // activity's one-second heartbeats, and so progress signals, fall while the copy is under way.
  station = await createPrepareWorker({
    connection: h.env.nativeConnection,
    namespace: h.env.namespace ?? 'default',
    taskQueue: 'progress-station',
    secrets: h.secrets,
    dataConverter: testDataConverter,
    progressSignalIntervalMs: 50,
    maxBytesPerSecond: 64 * MiB,
  });
  running = Promise.all([h.worker.run(), station.run()]);
});
after(async () => {
  h.worker.shutdown();
  station.shutdown();
  await running;
  await h.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('throttle: one report per whole percent, and not more often than the interval', () => {
  let now = 0;
  const ok = progressThrottle(1000, () => now);
  const p = (bytesDone: number) => ({ filesDone: 0, filesTotal: 1, bytesDone, bytesTotal: 1000 });
  assert.equal(ok(p(0)), true);
  assert.equal(ok(p(5)), false, 'same percent');
  now = 2000;
  assert.equal(ok(p(5)), false, 'same percent, later');
  assert.equal(ok(p(20)), true);
  now = 2500;
  assert.equal(ok(p(500)), false, 'too soon');
  let sent = 0;
  for (let b = 0; b <= 1000; b++) {
    now += 10_000;
    if (ok(p(b))) sent++;
  }
  assert.ok(sent <= 101, `at most 101 reports per attempt (got ${sent})`);
});

test('progress shows in the status query while the station copies', { timeout: 180_000 }, async () => {
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  // At the station's cap, enough data that preparing it outlasts the one-second heartbeat interval many times over.
  for (let i = 0; i < 60; i++) fs.writeFileSync(path.join(src, `f${i}.bin`), crypto.randomBytes(8 * MiB));
  fs.mkdirSync(path.join(dir, 'drive'));
  const spec = await h.spec({
    drives: {
      prepare: {
        dataset: parseDatasetCsv(`BasePath,DstBlobPathOrPrefix\n${src}/,progress/\n`, 'dataset.csv'),
        drives: [{ path: path.join(dir, 'drive'), driveId: 'PROGRESSA1', capacityBytes: 1024 * MiB, bitLockerKeyRef: await h.secrets.put('progress-key', TEST_BITLOCKER_KEYS[0]!) }],
        stationTaskQueue: 'progress-station',
        journalDir: path.join(dir, 'journal'),
      },
    },
  });
  const started = performance.now();
  const handle = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
  const during = await eventually(async () => {
    const s: ImportJobStatus = await handle.query(statusQuery);
    const p = s.prepareProgress;
    return s.step === 'preparing' && p && p.bytesDone > 0 && p.bytesDone < p.bytesTotal ? s : undefined;
  }, 120_000, 'partial progress in the status while preparing');
  assert.equal(during.prepareProgress?.bytesTotal, 480 * MiB);

  const done = await eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.step === 'awaiting-shipping' ? s : undefined;
  }, 120_000, 'prepared and waiting for shipping');
  assert.equal(done.prepareProgress, undefined, 'progress is cleared once the drives are prepared');
  const preparedMs = performance.now() - started;
  // The station's cap reached the copy: all but the last 16 MiB batch waited for the rate.
  assert.ok(preparedMs >= ((480 - 16) / 64) * 1000, `prepared 480 MiB at a 64 MiB/s cap in ${preparedMs.toFixed(0)} ms`);
  const signals = ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'prepareProgress');
  console.log(`480 MiB at a 64 MiB/s station cap: prepared in ${preparedMs.toFixed(0)} ms with ${signals.length} progress signals`);
  assert.ok(signals.length >= 1 && signals.length <= 101, `between 1 and 101 progress signals (got ${signals.length})`);
  await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'test done' }] });
});
