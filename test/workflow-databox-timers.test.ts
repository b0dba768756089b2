/**
 * The Data Box job's multi-day timers on Temporal's time-skipping server: the 2-week expiry of a job without
 * shipping information (handled explicitly: re-created on request), and the not-received watchdog.
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

test('Data Box: nobody ships → reminders, expiry after 14 days, re-created on request, shipped, watchdog, completed', async () => {
  const spec = await h.spec({ azure: { api: 'databox' }, timing: { trackingPollInitial: '1 hour', trackingPollMax: '1 day' } });
  const handle = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
  await eventually(async () => (await handle.query(statusQuery)).step === 'awaiting-shipping', 30_000, 'awaiting shipping');
  // The workflow's own 14-day window decides (the emulator's clock, which would cancel the order, stands still).
  await h.env.sleep('14 days');
  const expired = await eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.step === 'expired' ? s : undefined;
  }, 30_000, 'expired');
  assert.deepEqual(expired.remindersSent.map((r) => r.kind), ['reminder', 'reminder', 'escalation']);
  assert.ok(h.notifications().some((n) => n.kind === 'expired' && n.message.includes('importctl recreate')));

  assert.equal(await handle.executeUpdate(recreateUpdate, { args: [{ requestedBy: 'ops' }] }), 'the Azure job will be created again');
  const again = await eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.step === 'awaiting-shipping' && s.azureState === 'AwaitingShipmentDetails' ? s : undefined;
  }, 30_000, 're-created');
  assert.deepEqual(again.remindersSent, []);
  await handle.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '246824682468', driveCount: 2, shipDate: new Date(Date.now()).toISOString().slice(0, 10) }] });
  await eventually(async () => (await handle.query(statusQuery)).step === 'tracking', 30_000, 'tracking');

  // The disks never arrive: after 14 days in ShippedToAzureDC the team is alerted.
  await h.env.sleep('15 days');
  await eventually(async () => h.notifications().some((n) => n.kind === 'not-received' && n.message.includes(spec.jobName)), 30_000, 'not-received alert');
  await h.emulatorControl.dataBoxAdvance(SUBSCRIPTION_ID, RESOURCE_GROUP, spec.jobName, { to: 'Completed' });
  const outcome = await handle.result();
  assert.equal(outcome.result, 'completed');
  assert.equal(outcome.azureState, 'Completed');
});
