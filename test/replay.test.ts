/**
 * Replays committed histories of real runs against the current workflow code. A change that alters the commands of
 * a running workflow without `patched()` makes this fail with a nondeterminism error.
 * v1 histories were recorded before the `notify-shipping-confirmed` patch, v2 after it: both must replay. The
 * Data Box v1 histories were recorded with the ship-update checks as local activities (their markers are visible);
 * v3 histories with the locate step's site read and the tracking polls as local activities too; v4 histories with
 * one patch for all of that and the search attributes written once per workflow task.
 * Record a new version with `npx tsx scripts/record-histories.ts v<N>`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../worker/create-workers';
import { testDataConverter } from './helpers/import-job-harness';
import { installQuietRuntime } from './helpers/temporal-env';

const dir = path.join(__dirname, 'fixtures', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('recorded import-job histories replay against the current workflow code', async () => {
  installQuietRuntime();
  assert.ok(files.length >= 3, `expected committed histories in ${dir}`);
  const bundle = await workflowBundle();
  for (const file of files) {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: testDataConverter, replayName: file }, history, `replay-${file}`);
  }
  // The patch id sits in an (encrypted) marker payload; the marker event itself is visible.
  const markers = (f: string): number => (fs.readFileSync(path.join(dir, f), 'utf8').match(/EVENT_TYPE_MARKER_RECORDED/g) ?? []).length;
  assert.equal(markers('import-job-happy-path-v1.json'), 0, 'v1 was recorded before the patch');
  assert.equal(markers('import-job-happy-path-v2.json'), 1, 'v2 carries the patch marker');
  // Patch markers plus one marker per local activity of the ship update (two checks, for each of two submissions:
  // the repeated one is answered from state without activities).
  assert.ok(markers('import-job-databox-happy-path-v1.json') >= 4, 'the Data Box history carries patch and local-activity markers');
  assert.ok(files.some((f) => f.includes('databox')), 'Data Box histories are replayed too');
  // v3: the site read and the tracking poll are markers, not activities; only the writes and notifications remain.
  const activities = (f: string): string[] =>
    (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] }).events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  for (const f of ['import-job-happy-path-v3.json', 'import-job-databox-happy-path-v3.json']) {
    assert.deepEqual(activities(f), ['createAzureJob', 'updateShipping', 'sendNotification', 'sendNotification'], f);
    assert.ok(activities('import-job-happy-path-v2.json').includes('getSite') && activities('import-job-happy-path-v2.json').includes('getAzureJob'), 'v2 read with remote activities');
    assert.ok(markers(f) > markers('import-job-databox-happy-path-v1.json'), `${f}: more markers than v1 (the patch and the local reads)`);
  }
  // v4: one patch marker instead of three, so one TemporalChangeVersion upsert; the job's own changes batched.
  const upserts = (f: string): number => (fs.readFileSync(path.join(dir, f), 'utf8').match(/EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES/g) ?? []).length;
  for (const api of ['', 'databox-']) {
    const v3 = `import-job-${api}happy-path-v3.json`;
    const v4 = `import-job-${api}happy-path-v4.json`;
    assert.deepEqual(activities(v4), activities(v3), `${v4}: the same activities as v3`);
    assert.equal(markers(v4), markers(v3) - 2, `${v4}: one patch marker where v3 has three`);
    assert.ok(upserts(v4) <= upserts(v3) - 6, `${v4}: ${upserts(v4)} search-attribute upserts, v3 ${upserts(v3)}`);
  }
});

test('replay detects a change to the commands (the safety net works)', async () => {
  installQuietRuntime();
  const bundle = await workflowBundle();
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'import-job-happy-path-v1.json'), 'utf8')) as { events: { eventType: string; timerStartedEventAttributes?: unknown; activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }[] };
  // Pretend the workflow once started a timer where the code schedules the first activity.
  const first = json.events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' || e.eventType === 'ActivityTaskScheduled');
  assert.ok(first, 'history has an activity');
  first.eventType = first.eventType.startsWith('EVENT_TYPE') ? 'EVENT_TYPE_TIMER_STARTED' : 'TimerStarted';
  first.timerStartedEventAttributes = { timerId: '1', startToFireTimeout: '1s', workflowTaskCompletedEventId: '4' };
  delete first.activityTaskScheduledEventAttributes;
  const history = historyFromJSON(json);
  await assert.rejects(
    Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: testDataConverter }, history, 'replay-mutated'),
    /[Nn]ondeterminism|DeterminismViolation/,
  );
});
