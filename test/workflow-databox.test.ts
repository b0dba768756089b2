/**
 * The import-job workflow on the Data Box backend (Microsoft.DataBox, sku DataBoxCustomerDisk) end to end on the
 * dev server against the emulator. The multi-day timers (expiry, watchdog) are in workflow-databox-timers.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { workflowIdForJob } from '../common/ids';
import type { JobSpecInput } from '../common/job-spec';
import { importJobWorkflow } from '../workflows/import-job';
import { cancelUpdate, shipUpdate, statusQuery, type ImportJobStatus } from '../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually, useImportJobHarness, type ImportJobHarness } from './helpers/import-job-harness';

let h: ImportJobHarness;
useImportJobHarness((harness) => (h = harness));

const today = (): string => new Date().toISOString().slice(0, 10);
const dataBoxSpec = (overrides: Partial<JobSpecInput> = {}): Promise<JobSpecInput> => h.spec({ azure: { api: 'databox' }, ...overrides });

async function start(spec: JobSpecInput): Promise<WorkflowHandle<typeof importJobWorkflow>> {
  return h.env.client.workflow.start(importJobWorkflow, { args: [{ spec, startedBy: 'ops-test' }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
}

async function waitFor(handle: WorkflowHandle, what: string, ok: (s: ImportJobStatus) => boolean): Promise<ImportJobStatus> {
  const s = await eventually(async () => {
    const status = await handle.query(statusQuery);
    return ok(status) || status.step === 'failed' ? status : undefined;
  }, 45_000, what);
  assert.ok(ok(s), `${what}: the job failed instead (${s.failure ?? ''})`);
  return s;
}
const waitForStep = (handle: WorkflowHandle, step: ImportJobStatus['step']): Promise<ImportJobStatus> => waitFor(handle, `step ${step}`, (s) => s.step === step);

/** Successful Data Box calls for one job, by operation. */
async function dataBoxOps(jobName: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await h.emulatorControl.requests()) {
    if (r.api !== 'databox' || r.status >= 300 || !r.path.includes(`/jobs/${jobName}`)) continue;
    counts.set(r.operation, (counts.get(r.operation) ?? 0) + 1);
  }
  return counts;
}

async function rejectsWithCause(p: Promise<unknown>, pattern: RegExp): Promise<ApplicationFailure> {
  let cause: ApplicationFailure | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected WorkflowUpdateFailedError, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.match(err.cause.message, pattern);
    cause = err.cause;
    return true;
  });
  return cause!;
}

const ship = (handle: WorkflowHandle, carrierName = 'FedEx', trackingNumber = '123456789012') =>
  handle.executeUpdate(shipUpdate, { args: [{ carrierName, trackingNumber, driveCount: 2, shipDate: today(), submittedBy: 'clerk-ann' }] });

describe('import-job workflow on the Data Box backend', () => {
  test('happy path: datacenter address → create (202 + polling) → ship → Completed with per-disk results; one create, one markDevicesShipped', async () => {
    const spec = await dataBoxSpec();
    const handle = await start(spec);
    const waiting = await waitForStep(handle, 'awaiting-shipping');
    assert.equal(waiting.azureState, 'AwaitingShipmentDetails');
    assert.ok(waiting.site?.address, 'the datacenter address is what the clerk ships to');
    assert.ok(waiting.site?.supportedCarriers.includes('FedEx'));

    const receipt = await ship(handle);
    assert.equal(receipt.duplicate, false);
    const again = await ship(handle, 'fedex', '1234 5678 9012');
    assert.equal(again.duplicate, true, 'a repeated shipment is a no-op');
    assert.equal(again.recordedAt, receipt.recordedAt);

    await waitFor(handle, 'ShippedToAzureDC', (s) => s.step === 'tracking' && s.azureState === 'ShippedToAzureDC');
    await h.emulatorControl.dataBoxAdvance(SUBSCRIPTION_ID, RESOURCE_GROUP, spec.jobName, { to: 'DataCopy', percentComplete: 40 });
    const copying = await waitFor(handle, 'DataCopy with disk progress', (s) => s.azureState === 'DataCopy' && s.drives.some((d) => d.percentComplete === 40));
    assert.ok(copying.stages?.some((st) => st.name === 'DataCopy'), 'job stages in the status');
    await h.emulatorControl.dataBoxAdvance(SUBSCRIPTION_ID, RESOURCE_GROUP, spec.jobName, { to: 'Completed' });
    const outcome = await handle.result();
    assert.equal(outcome.result, 'completed');
    assert.equal(outcome.azureState, 'Completed');
    assert.equal(outcome.drives.length, 2);
    assert.ok(outcome.drives.every((d) => d.percentComplete === 100));

    const ops = await dataBoxOps(spec.jobName);
    assert.equal(ops.get('Jobs_Create'), 1, 'exactly one create');
    assert.equal(ops.get('Jobs_MarkDevicesShipped'), 1, 'exactly one markDevicesShipped');
    const polls = (await h.emulatorControl.requests()).filter((r) => r.api === 'databox' && r.operation === 'OperationResults_Get');
    assert.ok(polls.length >= 1, 'the 202 was polled');
    assert.ok(h.notifications().some((n) => n.kind === 'completed' && n.message.includes(spec.jobName)));
  });

  test('CompletedWithErrors and CompletedWithWarnings end the job with per-disk results', async () => {
    for (const to of ['CompletedWithErrors', 'CompletedWithWarnings'] as const) {
      const spec = await dataBoxSpec();
      const handle = await start(spec);
      await waitForStep(handle, 'awaiting-shipping');
      await ship(handle, 'FedEx', to === 'CompletedWithErrors' ? '111122223333' : '444455556666');
      await waitForStep(handle, 'tracking');
      await h.emulatorControl.dataBoxAdvance(SUBSCRIPTION_ID, RESOURCE_GROUP, spec.jobName, { to });
      const outcome = await handle.result();
      assert.equal(outcome.result, 'completed');
      assert.equal(outcome.azureState, to);
      if (to === 'CompletedWithErrors') assert.ok(outcome.drives.some((d) => (d.filesErrored ?? 0) > 0), 'the disk with errors is named');
      else assert.ok(outcome.drives.length === 2);
    }
  });

  test('sku unavailable for the region → waits durably, notifies, proceeds when it becomes available', async () => {
    await h.emulatorControl.dataBoxSetSkuAvailable('westus2', false);
    let restored = false;
    try {
      const handle = await start(await dataBoxSpec({ region: 'westus2' }));
      const waiting = await waitForStep(handle, 'waiting-for-open-site');
      assert.ok(waiting.timeline.some((t) => t.event.startsWith('Data Box customer disks are not available')));
      await eventually(async () => h.notifications().some((n) => n.kind === 'sites-closed' && /Data Box customer-disk orders for westus2/.test(n.message)), 15_000, 'sku notification');
      await h.emulatorControl.dataBoxSetSkuAvailable('westus2', true);
      restored = true;
      const s = await waitForStep(handle, 'awaiting-shipping');
      assert.ok(s.site?.address);
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
    } finally {
      if (!restored) await h.emulatorControl.dataBoxResetRegion('westus2');
    }
  });

  test('a datacenter given only as an instruction reaches the clerk as that instruction', async () => {
    const spec = await dataBoxSpec({ region: 'germanywestcentral', returnShipping: { carrierName: 'DHL', carrierAccountNumber: '987654321' } });
    const handle = await start(spec);
    const s = await waitForStep(handle, 'awaiting-shipping');
    assert.equal(s.site?.address, undefined, 'no empty address');
    assert.ok(s.site?.instruction && s.site.instruction.length > 10, 'the instruction');
    await ship(handle, 'DHL', '1234567890');
    await waitForStep(handle, 'tracking');
    await handle.terminate('test done');
  });

  test('a change of the job datacenter address is surfaced like a site change and the shipment refused', async () => {
    const spec = await dataBoxSpec();
    const handle = await start(spec);
    await waitForStep(handle, 'awaiting-shipping');
    await h.emulatorControl.dataBoxSetJobDatacenterAddress(SUBSCRIPTION_ID, RESOURCE_GROUP, spec.jobName, { instruction: 'Call the datacenter at +1 555 0100 before shipping; use dock 4.' });
    const failure = await rejectsWithCause(ship(handle, 'FedEx', '999988887777'), /datacenter address of this job has changed/);
    assert.equal(failure.type, 'SiteChanged');
    const s = await handle.query(statusQuery);
    assert.match(s.site?.instruction ?? '', /dock 4/);
    assert.ok(s.timeline.some((t) => t.event === 'shipping site changed'));
    await eventually(async () => h.notifications().some((n) => n.kind === 'site-changed' && n.message.includes('dock 4')), 15_000, 'site-changed notification');
    // The clerk ships again, to the new place: accepted.
    await ship(handle, 'FedEx', '999988887777');
    await waitForStep(handle, 'tracking');
    await handle.terminate('test done');
  });

  test('a lost create response is retried without a second job; 429/5xx are retried', async () => {
    await h.emulatorControl.addFault({ operation: 'Service_RegionConfigurationByResourceGroup', api: 'databox', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    await h.emulatorControl.addFault({ operation: 'Service_RegionConfiguration', api: 'databox', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    await h.emulatorControl.addFault({ operation: 'Jobs_Create', api: 'databox', kind: 'status', status: 500, count: 1, afterProcessing: true });
    await h.emulatorControl.addFault({ operation: 'Jobs_Get', api: 'databox', kind: 'status', status: 503, count: 1 });
    const spec = await dataBoxSpec();
    const handle = await start(spec);
    const s = await waitForStep(handle, 'awaiting-shipping');
    assert.equal(s.azureState, 'AwaitingShipmentDetails');
    assert.ok(s.timeline.some((t) => t.event === 'Azure job already existed (retry recognised)'), 'the retry found the job it made');
    const creates = (await h.emulatorControl.requests()).filter((r) => r.api === 'databox' && r.method === 'PUT' && r.path.includes(`/jobs/${spec.jobName}`));
    assert.equal(creates.length, 1, 'one PUT reached Azure');
    const faulted = (await h.emulatorControl.requests()).filter((r) => r.faulted && r.api === 'databox');
    assert.ok(faulted.some((r) => r.status === 429), 'the 429 was served');
    await h.emulatorControl.clearFaults();
    await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
  });

  test('create polled through several 202s with Retry-After', async () => {
    await h.emulatorControl.dataBoxSetLro({ operations: ['Jobs_Create'], mode: 'async', polls: 3, retryAfterSeconds: 1 });
    try {
      const spec = await dataBoxSpec();
      const started = Date.now();
      const handle = await start(spec);
      await waitForStep(handle, 'awaiting-shipping');
      const polls = (await h.emulatorControl.requests()).filter((r) => r.api === 'databox' && r.operation === 'OperationResults_Get' && Date.parse(r.time) >= started);
      assert.ok(polls.length >= 3, `polled until done (${polls.length} polls)`);
      const gaps = polls.slice(1).map((p, i) => Date.parse(p.time) - Date.parse(polls[i]!.time));
      // @azure/core-lro polls once right after the 202; every later poll waits the poll's own Retry-After.
      assert.ok(gaps.slice(1).every((g) => g >= 900), `Retry-After honoured between polls (${gaps.join(', ')} ms)`);
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
    } finally {
      await h.emulatorControl.dataBoxSetLro({ operations: ['Jobs_Create'], mode: 'async', polls: 1, retryAfterSeconds: 1 });
    }
  });

  test('Azure 400 fails the workflow with a clear error naming the field', async () => {
    // westus2 does not take DHL for the return shipment.
    const handle = await start(await dataBoxSpec({ region: 'westus2', returnShipping: { carrierName: 'DHL', carrierAccountNumber: '987654321' } }));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'AzureValidationError');
      assert.match(err.cause.message, /createAzureJob failed: AzureValidationError: .*returnToCustomerPackageDetails\.carrierName/);
      return true;
    });
    assert.equal((await handle.query(statusQuery)).step, 'failed');
  });

  test('cancel: allowed while awaiting shipment details (Azure job Cancelled), refused once shipped', async () => {
    const spec = await dataBoxSpec();
    const handle = await start(spec);
    await waitForStep(handle, 'awaiting-shipping');
    const res = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer withdrew', requestedBy: 'ops-lee' }] });
    assert.equal(res.azureCancelRequested, true);
    assert.equal((await handle.result()).result, 'cancelled');
    const job = await h.emulatorControl.dataBoxJob(SUBSCRIPTION_ID, RESOURCE_GROUP, spec.jobName);
    assert.equal(job.properties.status, 'Cancelled');

    const shipped = await start(await dataBoxSpec());
    await waitForStep(shipped, 'awaiting-shipping');
    await ship(shipped, 'FedEx', '888899990000');
    await waitForStep(shipped, 'tracking');
    await rejectsWithCause(shipped.executeUpdate(cancelUpdate, { args: [{ reason: 'too late' }] }), /Cannot cancel: Azure no longer accepts cancellation: the job is ShippedToAzureDC/);
    await shipped.terminate('test cleanup');
  });
});
