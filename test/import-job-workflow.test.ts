/**
 * The import-job workflow end to end on the real dev server against the Azure emulator, with short injected
 * durations (the multi-day timers are covered on the time-skipping server in import-job-timers.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { workflowIdForJob } from '../common/ids';
import type { JobSpecInput } from '../common/job-spec';
import { importJobWorkflow } from '../workflows/import-job';
import { cancelUpdate, shipSignal, shipUpdate, statusQuery, type ImportJobStatus } from '../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually, useImportJobHarness, type ImportJobHarness } from './helpers/import-job-harness';

let h: ImportJobHarness;
useImportJobHarness((harness) => (h = harness));

/** Asserts an update fails and its ApplicationFailure cause matches `pattern`. */
async function rejectsWithCause(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected WorkflowUpdateFailedError, got ${String(err)}`);
    assert.match(err.cause instanceof Error ? err.cause.message : '', pattern);
    return true;
  });
}

const today = (): string => new Date().toISOString().slice(0, 10);

async function start(spec: JobSpecInput): Promise<WorkflowHandle<typeof importJobWorkflow>> {
  return h.env.client.workflow.start(importJobWorkflow, {
    args: [{ spec, startedBy: 'ops-test' }],
    taskQueue: h.taskQueue,
    workflowId: workflowIdForJob(spec.jobName),
  });
}

async function waitForStep(handle: WorkflowHandle, step: ImportJobStatus['step']): Promise<ImportJobStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.step === step ? s : undefined;
  }, 30_000, `step ${step}`);
}

const advance = (jobName: string, to: string): Promise<unknown> => h.control(`jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${jobName}/advance`, { to });
const opsFor = async (jobName: string, method: string): Promise<number> =>
  (await h.requests()).filter((r) => r.method === method && (r as { path?: string }).path?.includes(`/jobs/${jobName}`) && r.status < 300).length;

describe('import-job workflow on the dev server', () => {
  test('happy path: prepared drives → West US → create → ship update → Completed, one PUT and one PATCH', async () => {
    const spec = await h.spec();
    const handle = await start(spec);
    const waiting = await waitForStep(handle, 'awaiting-shipping');
    assert.equal(waiting.site?.locationName, 'westus');
    assert.equal(waiting.azureState, 'Creating');
    assert.ok(waiting.shippingDeadline);

    const receipt = await handle.executeUpdate(shipUpdate, {
      args: [{ carrierName: 'fedex', trackingNumber: '123456789012', driveCount: 2, shipDate: today(), submittedBy: 'clerk-ann' }],
    });
    assert.equal(receipt.duplicate, false);
    assert.equal(receipt.trackingNumber, '123456789012');

    // Same shipment again (a clerk double-clicks): accepted as a no-op.
    const again = await handle.executeUpdate(shipUpdate, {
      args: [{ carrierName: 'FedEx', trackingNumber: '1234 5678 9012', driveCount: 2, shipDate: today(), submittedBy: 'clerk-ann' }],
    });
    assert.equal(again.duplicate, true);

    await waitForStep(handle, 'tracking');
    await advance(spec.jobName, 'Transferring');
    await eventually(async () => (await handle.query(statusQuery)).azureState === 'Transferring', 20_000, 'Transferring seen');
    await advance(spec.jobName, 'Completed');
    const outcome = await handle.result();
    assert.equal(outcome.result, 'completed');
    assert.equal(outcome.azureState, 'Completed');
    assert.equal(outcome.drives.length, 2);
    assert.ok(outcome.returnPackage?.trackingNumber, 'return package tracking recorded');

    assert.equal(await opsFor(spec.jobName, 'PUT'), 1, 'exactly one Put Job');
    assert.equal(await opsFor(spec.jobName, 'PATCH'), 1, 'exactly one Update Job Properties');

    const status = await handle.query(statusQuery);
    const events = status.timeline.map((t) => t.event);
    assert.ok(events.includes('Azure job created'));
    assert.ok(events.some((e) => e.startsWith('shipment recorded')));
    assert.equal(status.timeline.find((t) => t.event.startsWith('shipment recorded'))?.by, 'clerk-ann');
    assert.equal(status.timeline[0]?.by, 'ops-test');

    // Search attributes find the job by tracking number and by drive serial.
    const byTracking = await eventually(async () => {
      const found: string[] = [];
      for await (const wf of h.env.client.workflow.list({ query: `ImportTrackingNumber = '123456789012'` })) found.push(wf.workflowId);
      return found.length > 0 ? found : undefined;
    }, 15_000, 'visibility by tracking number');
    assert.deepEqual(byTracking, [handle.workflowId]);
    const driveId = (spec.drives as { prepared: { driveId: string }[] }).prepared[0]!.driveId;
    const byDrive: string[] = [];
    for await (const wf of h.env.client.workflow.list({ query: `ImportDriveIds = '${driveId}'` })) byDrive.push(wf.workflowId);
    assert.deepEqual(byDrive, [handle.workflowId]);

    // The search attributes end as the job did, written at most once per workflow task (the server makes a
    // visibility write of each upsert; the SDK adds one for the patch marker).
    const described = await handle.describe();
    assert.deepEqual(
      Object.fromEntries(described.typedSearchAttributes.getAll().filter((p) => p.key.name.startsWith('Import')).map((p) => [p.key.name, p.value])),
      {
        ImportDriveIds: (spec.drives as { prepared: { driveId: string }[] }).prepared.map((d) => d.driveId),
        ImportJobName: spec.jobName,
        ImportJobState: 'Completed',
        ImportJobStep: 'completed',
        ImportStorageAccount: spec.storageAccountId.split('/').pop(),
        ImportTrackingNumber: '123456789012',
      },
    );
    const history = (await handle.fetchHistory()).events ?? [];
    const upsertsPerTask = new Map<string, number>();
    for (const e of history) {
      const task = e.upsertWorkflowSearchAttributesEventAttributes?.workflowTaskCompletedEventId?.toString();
      const fields = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
      if (task && !fields.includes('TemporalChangeVersion')) upsertsPerTask.set(task, (upsertsPerTask.get(task) ?? 0) + 1);
    }
    assert.ok(upsertsPerTask.size >= 5, `upserts in ${upsertsPerTask.size} tasks`);
    // A task that resolves a local activity runs two activations, and an activation whose code wakes another
    // condition may write twice; never more.
    for (const [task, n] of upsertsPerTask) assert.ok(n <= 2, `task ${task} wrote search attributes ${n} times`);
  });

  test('bad shipments are rejected by the validator without touching history', async () => {
    const spec = await h.spec();
    const handle = await start(spec);
    await waitForStep(handle, 'awaiting-shipping');
    const before = (await handle.fetchHistory()).events?.length ?? 0;
    const bad = [
      { carrierName: 'DHL', trackingNumber: '1234567890', driveCount: 2, shipDate: today() }, // not accepted at West US
      { carrierName: 'FedEx', trackingNumber: '1Z999AA10123456784', driveCount: 2, shipDate: today() }, // not a FedEx number
      { carrierName: 'FedEx', trackingNumber: '123456789012', driveCount: 3, shipDate: today() }, // wrong drive count
      { carrierName: 'FedEx', trackingNumber: '123456789013', driveCount: 2, shipDate: '2999-01-01' }, // future
      { carrierName: 'FedEx', trackingNumber: 'x!', driveCount: 2, shipDate: today() }, // malformed
    ];
    const messages: string[] = [];
    for (const s of bad) {
      await assert.rejects(handle.executeUpdate(shipUpdate, { args: [s] }), (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        messages.push(err.cause.message);
        // Programs read the problems from the failure's details, each naming its field.
        const problems = err.cause.details?.[0] as { field: string; message: string }[] | undefined;
        if (err.cause.type === 'InvalidShipment') assert.ok(problems?.length && problems.every((p) => typeof p.field === 'string' && p.message), 'problems in details');
        return true;
      });
    }
    assert.match(messages[0]!, /carrierName: DHL is not accepted at this site \(accepted: FedEx\)/);
    assert.match(messages[1]!, /trackingNumber: .* is not a FedEx tracking number/);
    assert.match(messages[2]!, /driveCount: the job has 2 drive\(s\), not 3/);
    assert.match(messages[3]!, /shipDate: .* is in the future/);
    assert.match(messages[4]!, /trackingNumber/);
    const afterCount = (await handle.fetchHistory()).events?.length ?? 0;
    assert.equal(afterCount, before, 'validator rejections leave no trace in history');

    // A bad signal is recorded and reported, not applied; a good signal then moves the job on.
    await handle.signal(shipSignal, { carrierName: 'UPS', trackingNumber: '1Z999AA10123456784', driveCount: 2, shipDate: today() });
    const rejected = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.rejectedSignals.length > 0 ? s : undefined;
    }, 15_000, 'rejected signal');
    assert.equal(rejected.step, 'awaiting-shipping');
    assert.match(rejected.rejectedSignals[0]!.problems.join(' '), /UPS is not accepted/);
    // The notification is delivered by an activity after the rejection is recorded.
    await eventually(async () => h.notifications().some((n) => n.kind === 'rejected-signal'), 15_000, 'rejected-signal notification');

    await handle.signal(shipSignal, { carrierName: 'FedEx', trackingNumber: '222233334444', driveCount: 2, shipDate: today(), submittedBy: 'clerk-bob' });
    await waitForStep(handle, 'tracking');
    await advance(spec.jobName, 'Closed');
    assert.equal((await handle.result()).result, 'closed');
  });

  test('a tracking number already used by another job is refused', async () => {
    const firstSpec = await h.spec();
    const first = await start(firstSpec);
    await waitForStep(first, 'awaiting-shipping');
    await first.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '555566667777', driveCount: 2, shipDate: today() }] });
    await eventually(async () => {
      for await (const _ of h.env.client.workflow.list({ query: `ImportTrackingNumber = '555566667777'` })) return true;
      return undefined;
    }, 15_000, 'first job visible');
    const second = await start(await h.spec());
    await waitForStep(second, 'awaiting-shipping');
    await rejectsWithCause(
      second.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '555566667777', driveCount: 2, shipDate: today() }] }),
      new RegExp(`already used by job\\(s\\) ${firstSpec.jobName}$`),
    );
    await second.executeUpdate(cancelUpdate, { args: [{ reason: 'test cleanup' }] });
    await first.terminate('test cleanup');
  });

  test('closed site → ships to its alternate', async () => {
    await h.control('locations/westus/close', { alternates: ['westus2'] });
    try {
      const handle = await start(await h.spec());
      const s = await waitForStep(handle, 'awaiting-shipping');
      assert.equal(s.site?.locationName, 'westus2');
      assert.deepEqual(s.site?.supportedCarriers.sort(), ['FedEx', 'UPS']);
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
    } finally {
      await h.control('locations/westus/open', {});
    }
  });

  test('every site closed → waits durably, notifies, proceeds when one reopens', async () => {
    await h.control('locations/westus/close', { alternates: ['westus2'] });
    await h.control('locations/westus2/close', { alternates: ['westus'] });
    let reopened = false;
    try {
      const handle = await start(await h.spec());
      await waitForStep(handle, 'waiting-for-open-site');
      await eventually(async () => h.notifications().some((n) => n.kind === 'sites-closed'), 10_000, 'sites-closed notification');
      await h.control('locations/westus2/open', {});
      reopened = true;
      const s = await waitForStep(handle, 'awaiting-shipping');
      assert.equal(s.site?.locationName, 'westus2');
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
    } finally {
      if (!reopened) await h.control('locations/westus2/open', {});
      await h.control('locations/westus/open', {});
    }
  });

  test('a site closing while the job waits: the shipment is refused with the new address', async () => {
    const handle = await start(await h.spec());
    await waitForStep(handle, 'awaiting-shipping');
    await h.control('locations/westus/close', { alternates: ['westus2'] });
    try {
      await rejectsWithCause(
        handle.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '777788889999', driveCount: 2, shipDate: today() }] }),
        /West US has closed\. Ship to West US 2 instead/,
      );
      assert.equal((await handle.query(statusQuery)).site?.locationName, 'westus2');
    } finally {
      await h.control('locations/westus/open', {});
    }
    await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
  });

  test('cancel: allowed while Creating (Azure cancelRequested set), refused once shipped', async () => {
    const spec = await h.spec();
    const handle = await start(spec);
    await waitForStep(handle, 'awaiting-shipping');
    const res = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer withdrew', requestedBy: 'ops-lee' }] });
    assert.equal(res.azureCancelRequested, true);
    const outcome = await handle.result();
    assert.equal(outcome.result, 'cancelled');
    const job = await fetch(`${h.emulator.httpUrl}/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.ImportExport/jobs/${spec.jobName}?api-version=2021-01-01`, {
      headers: { authorization: 'Bearer t' },
    }).then((r) => r.json() as Promise<{ properties: { cancelRequested: boolean } }>);
    assert.equal(job.properties.cancelRequested, true);

    const shipped = await start(await h.spec());
    await waitForStep(shipped, 'awaiting-shipping');
    await shipped.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '888899990000', driveCount: 2, shipDate: today() }] });
    await waitForStep(shipped, 'tracking');
    await rejectsWithCause(shipped.executeUpdate(cancelUpdate, { args: [{ reason: 'too late' }] }), /Cannot cancel: Azure no longer accepts cancellation: the job is Shipping/);
    await shipped.terminate('test cleanup');
  });

  test('Azure 429/503 are retried to success (Retry-After honoured)', async () => {
    await h.control('faults', { operation: 'Locations_Get', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    await h.control('faults', { operation: 'Jobs_Create', kind: 'status', status: 503, count: 2 });
    const spec = await h.spec();
    const handle = await start(spec);
    const s = await waitForStep(handle, 'awaiting-shipping');
    assert.equal(s.azureState, 'Creating');
    const faulted = (await h.requests()).filter((r) => r.faulted);
    assert.ok(faulted.some((r) => r.status === 429), 'the 429 was served');
    assert.ok(faulted.filter((r) => r.status === 503).length >= 2, 'both 503s were served');
    assert.equal(await opsFor(spec.jobName, 'PUT'), 1, 'one job created despite the retries');
    await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
  });

  test('a lost Put Job response is retried without creating a second job', async () => {
    await h.control('faults', { operation: 'Jobs_Create', kind: 'status', status: 500, count: 1, afterProcessing: true });
    const spec = await h.spec();
    const handle = await start(spec);
    const s = await waitForStep(handle, 'awaiting-shipping');
    assert.ok(s.timeline.some((t) => t.event === 'Azure job already existed (retry recognised)'));
    assert.equal((await h.requests()).filter((r) => r.method === 'PUT' && (r as { path?: string }).path?.includes(spec.jobName)).length, 1);
    await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'done' }] });
  });

  test('a lost Update Job Properties response is retried without a second PATCH', async () => {
    await h.control('faults', { operation: 'Jobs_Update', kind: 'status', status: 500, count: 1, afterProcessing: true });
    const spec = await h.spec();
    const handle = await start(spec);
    await waitForStep(handle, 'awaiting-shipping');
    await handle.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '314159265358', driveCount: 2, shipDate: today() }] });
    const s = await waitForStep(handle, 'tracking');
    assert.equal(s.azureState, 'Shipping');
    assert.ok(s.timeline.some((t) => t.event === 'Azure job already had this shipping information'), 'the retry found the PATCH applied');
    const patches = (await h.requests()).filter((r) => r.method === 'PATCH' && (r as { path?: string }).path?.includes(`/jobs/${spec.jobName}`));
    assert.equal(patches.length, 1, 'exactly one PATCH reached Azure');
    await handle.terminate('test done');
  });

  test('Azure 400 fails the workflow with a clear, non-retryable error', async () => {
    await h.control('faults', { operation: 'Jobs_Create', kind: 'status', status: 400, count: 1 });
    const handle = await start(await h.spec());
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'AzureValidationError');
      assert.match(err.cause.message, /createAzureJob failed: AzureValidationError/);
      return true;
    });
    assert.equal((await handle.query(statusQuery)).step, 'failed');
  });

  test('an invalid spec is refused with every problem named', async () => {
    const spec = { ...(await h.spec()), jobName: 'Bad_Name', region: '' };
    const handle = await start(spec);
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'InvalidJobSpec');
      assert.match(err.cause.message, /jobName: job names use lowercase/);
      assert.match(err.cause.message, /region:/);
      return true;
    });
  });
});
