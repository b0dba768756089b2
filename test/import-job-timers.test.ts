/**
 * The import job's multi-day timers with the real default timing policy (reminders on day 3, 7 and 12, expiry on
 * day 14), on Temporal's time-skipping server: weeks of workflow time in seconds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { workflowIdForJob } from '../common/ids';
import { importJobWorkflow } from '../workflows/import-job';
import { recreateUpdate, shipUpdate, statusQuery } from '../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually, startImportJobHarness, type ImportJobHarness } from './helpers/import-job-harness';

let h: ImportJobHarness;
let running: Promise<void>;
before(async () => {
  h = await startImportJobHarness({ timeSkipping: true });
  running = h.worker.run();
});
after(async () => {
  h.worker.shutdown();
  await running;
  await h.teardown();
});

const DAY = 86_400_000;

test('nobody ships: reminders on days 3 and 7, escalation on day 12, expiry on day 14, then the job ends as expired', async () => {
  const spec = await h.spec({ timing: undefined });
  const started = Date.now();
  const outcome = await h.env.client.workflow.execute(importJobWorkflow, {
    args: [{ spec }],
    taskQueue: h.taskQueue,
    workflowId: workflowIdForJob(spec.jobName),
  });
  assert.equal(outcome.result, 'expired');
  assert.ok(Date.now() - started < 60_000, 'weeks of timers ran in seconds');

  const notes = h.notifications();
  const kinds = notes.map((n) => n.kind);
  assert.deepEqual(kinds.filter((k) => k !== 'not-received'), ['reminder', 'reminder', 'escalation', 'expired']);
  assert.match(notes[2]!.message, /^ESCALATION: .* deletes the job in 2 day\(s\)/);
  assert.match(notes[3]!.message, /importctl recreate/);

  // The workflow's own timeline records when each reminder went out, in workflow time.
  const handle = h.env.client.workflow.getHandle(workflowIdForJob(spec.jobName));
  const history = await handle.fetchHistory();
  const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
  const timerDays = timers.map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds) * 1000 / DAY);
  // Waits: 3 days, then 4 (to day 7), 5 (to day 12), 2 (to day 14), then 14 days for a re-create request.
  assert.deepEqual(timerDays.map((d) => Math.round(d * 10) / 10), [3, 4, 5, 2, 14]);
});

test('expired job: re-created on request, then shipped, completed', async () => {
  const spec = await h.spec({ timing: { trackingPollInitial: '1 hour', trackingPollMax: '1 day' } });
  const handle = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
  await eventually(async () => (await handle.query(statusQuery)).step === 'awaiting-shipping', 30_000, 'awaiting shipping');
  await h.env.sleep('14 days');
  await eventually(async () => (await handle.query(statusQuery)).step === 'expired', 30_000, 'expired');
  assert.equal(await handle.executeUpdate(recreateUpdate, { args: [{ requestedBy: 'ops' }] }), 'the Azure job will be created again');
  const again = await eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.step === 'awaiting-shipping' ? s : undefined;
  }, 30_000, 're-created');
  assert.ok(again.timeline.some((t) => t.event === 're-creation requested' && t.by === 'ops'));
  await handle.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '135791357913', driveCount: 2, shipDate: new Date(Date.now()).toISOString().slice(0, 10) }] });
  await eventually(async () => (await handle.query(statusQuery)).step === 'tracking', 30_000, 'tracking');

  // Watchdog: Azure never reports the drives received; after 14 days the team is alerted.
  await h.env.sleep('15 days');
  await eventually(async () => h.notifications().some((n) => n.kind === 'not-received' && n.message.includes(spec.jobName)), 30_000, 'not-received alert');
  await h.control(`jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${spec.jobName}/advance`, { to: 'Completed' });
  const outcome = await handle.result();
  assert.equal(outcome.result, 'completed');
});
