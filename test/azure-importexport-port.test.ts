/**
 * The import-job activities on the Import/Export adapter of the Azure port (requests without `api`, as every
 * history recorded before Data Box), against the emulator over HTTPS with its CA trusted.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createAzurePorts } from '../activities/azure';
import { createImportJobActivities } from '../activities/import-job-activities';
import { EmulatorControl } from '../emulator/control-client';
import { KEYS, RESOURCE_GROUP, SUBSCRIPTION_ID, createRequest, rejection, runActivity, shippingRequest, startAzureTestEnv, type AzureTestEnv } from './fixtures/azure/requests';

let env: AzureTestEnv;
let control: EmulatorControl;
let activities: ReturnType<typeof createImportJobActivities>;

function assertFailure(err: unknown, type: string, nonRetryable: boolean): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.type, type, err.message);
  assert.equal(err.nonRetryable, nonRetryable, err.message);
  return err;
}

const operations = async (name: string): Promise<number> => (await control.requests()).filter((r) => r.operation === name).length;

before(async () => {
  env = await startAzureTestEnv();
  control = new EmulatorControl(env.emulator.httpUrl);
  activities = createImportJobActivities({ azure: createAzurePorts(env.config, { timeoutMs: 5_000 }), secrets: env.secrets });
});
after(async () => env?.close());
beforeEach(async () => {
  await control.clearFaults();
  await control.clearRequests();
});

void describe('Import/Export through the port (no api = importexport)', () => {
  void it('getSite: an open site with its address and carriers; a closed one with its alternates', async () => {
    const site = await runActivity(activities.getSite, [{ subscriptionId: SUBSCRIPTION_ID, locationName: 'West US' }]);
    assert.equal(site.api, 'importexport');
    assert.equal(site.isOpen, true);
    assert.equal(site.locationName, 'westus');
    assert.ok(site.supportedCarriers.includes('FedEx'));
    assert.ok(site.address !== undefined && site.address.streetAddress1 !== '');
    assert.equal(site.instruction, undefined);
    await control.closeLocation('West US', ['West US 2']);
    try {
      const closed = await runActivity(activities.getSite, [{ subscriptionId: SUBSCRIPTION_ID, locationName: 'westus' }]);
      assert.equal(closed.isOpen, false);
      assert.deepEqual(closed.alternateLocationNames, ['westus2']);
    } finally {
      await control.openLocation('West US');
    }
  });

  void it('create with a lost response: the retry finds the job it made; exactly one PUT, one job', async () => {
    const req = createRequest(env);
    await control.addFault({ operation: 'Jobs_Create', kind: 'status', status: 500, afterProcessing: true, count: 1 });
    assertFailure(await rejection(runActivity(activities.createAzureJob, [req])), 'AzureServerError', false);
    const retry = await runActivity(activities.createAzureJob, [req], 2);
    assert.equal(retry.created, false);
    assert.equal(retry.snapshot.state, 'Creating');
    assert.equal(retry.snapshot.api, 'importexport');
    assert.deepEqual(retry.snapshot.drives.map((d) => d.driveId), ['D1SERIAL', 'D2SERIAL']);
    assert.equal(await operations('Jobs_Create'), 1, 'exactly one PUT');
    assert.ok(!JSON.stringify(retry).includes(KEYS[0]), 'no key in the result');
    // The keys went to Azure (resolved from the secret store inside the activity).
    const keys = await createAzurePorts(env.config).importexport.readDiskKeys(req);
    assert.deepEqual(keys.map((k) => k.bitLockerKey).sort(), [...KEYS].sort());
  });

  void it('a different spec under the same name is a non-retryable JobSpecConflict naming the fields', async () => {
    const req = createRequest(env);
    assert.equal((await runActivity(activities.createAzureJob, [req])).created, true);
    const other = createRequest(env, { jobName: req.jobName, requestId: 'someone-else' });
    const err = assertFailure(await rejection(runActivity(activities.createAzureJob, [other])), 'JobSpecConflict', true);
    assert.match(err.message, /importOrchestratorRequestId/);
    const changed = createRequest(env, { jobName: req.jobName, storageAccountId: req.storageAccountId.replace('portacct', 'otheracct') });
    const err2 = assertFailure(await rejection(runActivity(activities.createAzureJob, [changed])), 'JobSpecConflict', true);
    assert.match(err2.message, /storageAccountId/);
    assert.ok(!JSON.stringify({ m: err2.message, d: err2.details }).includes(KEYS[0]));
  });

  void it('400 fails at once, naming the field; a missing secret fails at once and sends nothing', async () => {
    const bad = createRequest(env, { locationName: 'atlantis' });
    const err = assertFailure(await rejection(runActivity(activities.createAzureJob, [bad])), 'AzureValidationError', true);
    assert.match(err.message, /location/);
    await control.clearRequests();
    const missing = createRequest(env, {});
    missing.drives[0] = { ...missing.drives[0]!, bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name: 'bitlocker-never-stored' } };
    const err2 = assertFailure(await rejection(runActivity(activities.createAzureJob, [missing])), 'SecretNotFound', true);
    assert.match(err2.message, /bitlocker-never-stored/);
    assert.equal(await operations('Jobs_Create'), 0);
  });

  void it('an invalid request is refused before any call, naming the field', async () => {
    const req = { ...createRequest(env), drives: [] };
    const err = assertFailure(await rejection(runActivity(activities.createAzureJob, [req])), 'InvalidAzureRequest', true);
    assert.match(err.message, /drives/);
    assert.equal((await control.requests()).length, 0);
  });

  void it('429 and 5xx are retryable with the server’s delay', async () => {
    const req = createRequest(env);
    await runActivity(activities.createAzureJob, [req]);
    await control.addFault({ operation: 'Jobs_Get', kind: 'status', status: 429, retryAfterSeconds: 2, count: 1 });
    const throttled = assertFailure(await rejection(runActivity(activities.getAzureJob, [req])), 'AzureThrottledError', false);
    assert.equal(throttled.nextRetryDelay, 2000);
    await control.addFault({ operation: 'Jobs_Get', kind: 'status', status: 503, count: 1 });
    assertFailure(await rejection(runActivity(activities.getAzureJob, [req])), 'AzureServerError', false);
    assert.equal((await runActivity(activities.getAzureJob, [req])).state, 'Creating');
  });

  void it('shipment: the first attempt PATCHes once; a retry after a lost response does not PATCH again', async () => {
    const req = createRequest(env);
    await runActivity(activities.createAzureJob, [req]);
    const ship = shippingRequest(req);
    await control.addFault({ operation: 'Jobs_Update', kind: 'status', status: 500, afterProcessing: true, count: 1 });
    assertFailure(await rejection(runActivity(activities.updateShipping, [ship])), 'AzureServerError', false);
    const retry = await runActivity(activities.updateShipping, [ship], 2);
    assert.equal(retry.applied, false);
    assert.equal(retry.snapshot.state, 'Shipping');
    assert.equal(retry.snapshot.deliveryPackage?.trackingNumber, '123456789012');
    assert.equal(await operations('Jobs_Update'), 1, 'one PATCH in effect');
  });

  void it('cancel while Creating is accepted; after shipping it is refused with CancelNotAllowed', async () => {
    const open = createRequest(env);
    await runActivity(activities.createAzureJob, [open]);
    const cancelled = await runActivity(activities.requestAzureCancel, [{ ...open, reason: 'not needed' }]);
    assert.equal(cancelled.cancelRequested, true);
    assert.equal(cancelled.cancellable, false);

    const shipped = createRequest(env);
    await runActivity(activities.createAzureJob, [shipped]);
    const { snapshot } = await runActivity(activities.updateShipping, [shippingRequest(shipped, '223456789012')]);
    assert.equal(snapshot.cancellable, false);
    const err = assertFailure(await rejection(runActivity(activities.requestAzureCancel, [shipped])), 'CancelNotAllowed', true);
    assert.match(err.message, /Shipping/);
    assert.equal((await runActivity(activities.getAzureJob, [{ subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, jobName: shipped.jobName }])).cancelRequested, false);
  });
});
