/**
 * The import-job activities on the Data Box adapter of the Azure port (`api: 'databox'`), against the emulator's
 * Microsoft.DataBox over HTTPS with its CA trusted: region configuration and sku availability, the long-running
 * create (202 + Location + Retry-After), idempotency across lost responses, markDevicesShipped once, cancel
 * gated by isCancellable, copy progress and logs, the two-week expiry, and the keys.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AzureLogger, getLogLevel, setLogLevel } from '@azure/logger';
import { ApplicationFailure } from '@temporalio/common';
import { createAzurePorts } from '../activities/azure';
import { loadAzureConfig } from '../activities/azure/config';
import { createImportJobActivities } from '../activities/import-job-activities';
import { EXPIRED_JOB_STATE, terminalStates } from '../common/azure-job';
import { EmulatorControl } from '../emulator/control-client';
import {
  CARRIER_ACCOUNT,
  KEYS,
  RESOURCE_GROUP,
  SUBSCRIPTION_ID,
  createRequest,
  rejection,
  runActivity,
  shippingRequest,
  startAzureTestEnv,
  type AzureTestEnv,
} from './fixtures/azure/requests';

let env: AzureTestEnv;
let control: EmulatorControl;
let activities: ReturnType<typeof createImportJobActivities>;

async function databox(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${env.emulator.httpUrl}/_emulator/databox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method} ${path} -> ${res.status}: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}
const advance = (jobName: string, body: Record<string, unknown>) => databox('POST', `/jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${jobName}/advance`, body);
const lroSettings = (lro: Record<string, unknown>) => databox('POST', '/settings', { lro });

function assertFailure(err: unknown, type: string, nonRetryable: boolean): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.type, type, err.message);
  assert.equal(err.nonRetryable, nonRetryable, err.message);
  return err;
}

const calls = async (operation: string) => (await control.requests()).filter((r) => r.operation === operation);
const databoxRequest = (over: Parameters<typeof createRequest>[1] = {}) => createRequest(env, { api: 'databox', ...over });
const site = (locationName: string, country?: string) =>
  runActivity(activities.getSite, [{ api: 'databox', subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, locationName, ...(country === undefined ? {} : { country }) }]);

before(async () => {
  env = await startAzureTestEnv();
  control = new EmulatorControl(env.emulator.httpUrl);
  activities = createImportJobActivities({ azure: createAzurePorts(env.config, { timeoutMs: 5_000, pollIntervalMs: 200 }), secrets: env.secrets });
});
after(async () => env?.close());
beforeEach(async () => {
  await control.clearFaults();
  await control.clearRequests();
  await lroSettings({ mode: 'async', polls: 1, retryAfterSeconds: 1 });
});

void describe('Data Box: where to ship', () => {
  void it('the datacenter address for the region and sku, with its return carriers', async () => {
    const west = await site('West US');
    assert.equal(west.api, 'databox');
    assert.equal(west.isOpen, true);
    assert.equal(west.locationName, 'westus');
    assert.equal(west.address?.streetAddress1, '3020 Coronado Drive');
    assert.equal(west.address?.countryOrRegion, 'US');
    assert.match(west.address?.recipientName ?? '', /Azure/);
    assert.deepEqual(west.supportedCarriers, ['FedEx', 'UPS', 'DHL']);
    assert.equal(west.instruction, undefined);
    assert.equal((await calls('Service_ListAvailableSkusByResourceGroup')).length, 1, 'sku availability asked');
  });

  void it('an instruction-only datacenter reaches the clerk as that instruction, never as an empty address', async () => {
    const de = await site('germanywestcentral', 'DE');
    assert.equal(de.isOpen, true);
    assert.equal(de.address, undefined);
    assert.match(de.instruction ?? '', /Contact the Azure Data Box operations team/);
  });

  void it('sku unavailable → a closed site saying why; available again → open', async () => {
    const br = await site('brazilsouth', 'BR');
    assert.equal(br.isOpen, false);
    assert.match(br.closedReason ?? '', /DataBoxCustomerDisk.*not available|not available.*DataBoxCustomerDisk/);
    assert.deepEqual(br.alternateLocationNames, []);
    await databox('POST', '/regions/brazilsouth', { customerDiskAvailable: true });
    try {
      assert.equal((await site('brazilsouth', 'BR')).isOpen, true);
    } finally {
      await databox('DELETE', '/regions/brazilsouth');
    }
  });

  void it('without a resource group the request is refused, naming the field', async () => {
    const err = assertFailure(
      await rejection(runActivity(activities.getSite, [{ api: 'databox', subscriptionId: SUBSCRIPTION_ID, locationName: 'westus' }])),
      'InvalidAzureRequest',
      true,
    );
    assert.match(err.message, /resourceGroup/);
  });
});

void describe('Data Box: create', () => {
  void it('202 + Location polled honouring Retry-After, then the job with its details; keys only via listCredentials', async () => {
    await lroSettings({ mode: 'async', polls: 3, retryAfterSeconds: 1 });
    const req = databoxRequest();
    const t0 = Date.now();
    const { snapshot, created } = await runActivity(activities.createAzureJob, [req]);
    const elapsed = Date.now() - t0;
    const polls = await calls('OperationResults_Get');
    const gaps = polls.slice(1).map((p, i) => Date.parse(p.time) - Date.parse(polls[i]!.time));
    // The SDK (core-lro) polls once right after the 202, then waits Retry-After before every further poll.
    console.log(`[databox create LRO] polls=${polls.length} Retry-After=1s gaps=${gaps.join(',')}ms elapsed=${elapsed}ms`);
    assert.equal(created, true);
    assert.deepEqual((await calls('Jobs_Create')).map((c) => c.status), [202]);
    assert.deepEqual(polls.map((p) => p.status).slice(-2), [202, 200]);
    assert.ok(polls.filter((p) => p.status === 202).length >= 3, 'every 202 was polled again');
    assert.ok(gaps.filter((g) => g >= 950).length >= 2, `waited for Retry-After between polls (${gaps.join(', ')} ms)`);
    assert.ok(elapsed >= 1900, `elapsed ${elapsed} ms`);
    assert.equal(snapshot.api, 'databox');
    assert.equal(snapshot.state, 'AwaitingShipmentDetails');
    assert.equal(snapshot.cancellable, true);
    assert.deepEqual(snapshot.drives.map((d) => d.driveId).sort(), ['D1SERIAL', 'D2SERIAL']);
    assert.equal(snapshot.shipTo?.address?.streetAddress1, '3020 Coronado Drive');
    assert.ok(snapshot.stages !== undefined && snapshot.stages.length > 0);
    const text = JSON.stringify(snapshot);
    assert.ok(!text.includes(KEYS[0]) && !text.includes(CARRIER_ACCOUNT), 'no secret in the snapshot');
    const keys = await createAzurePorts(env.config).databox.readDiskKeys(req);
    assert.deepEqual(
      keys.sort((a, b) => a.driveId.localeCompare(b.driveId)),
      [
        { driveId: 'D1SERIAL', bitLockerKey: KEYS[0] },
        { driveId: 'D2SERIAL', bitLockerKey: KEYS[1] },
      ],
    );
  });

  void it('200 at once (synchronous create) works the same', async () => {
    await lroSettings({ mode: 'sync' });
    const { created, snapshot } = await runActivity(activities.createAzureJob, [databoxRequest()]);
    assert.equal(created, true);
    assert.equal(snapshot.state, 'AwaitingShipmentDetails');
    assert.deepEqual((await calls('Jobs_Create')).map((c) => c.status), [200]);
    assert.equal((await calls('OperationResults_Get')).length, 0);
  });

  void it('a lost create response: the retry finds the job it made (tag), exactly one create, one job', async () => {
    const req = databoxRequest();
    await control.addFault({ operation: 'Jobs_Create', kind: 'status', status: 500, afterProcessing: true, count: 1 });
    assertFailure(await rejection(runActivity(activities.createAzureJob, [req])), 'AzureServerError', false);
    const retry = await runActivity(activities.createAzureJob, [req], 2);
    assert.equal(retry.created, false);
    assert.equal((await calls('Jobs_Create')).length, 1, 'exactly one create');
    const jobs = (await fetch(`${env.emulator.httpUrl}/_emulator/databox/jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${req.jobName}`)).status;
    assert.equal(jobs, 200);
  });

  void it('a dropped connection while polling: the retry finds the job', async () => {
    const req = databoxRequest();
    await control.addFault({ operation: 'OperationResults_Get', kind: 'drop', count: 1 });
    assertFailure(await rejection(runActivity(activities.createAzureJob, [req])), 'AzureNetworkError', false);
    const retry = await runActivity(activities.createAzureJob, [req], 2);
    assert.equal(retry.created, false);
    assert.equal((await calls('Jobs_Create')).length, 1);
  });

  void it('a different spec under the same name is a conflict naming the differing fields', async () => {
    const req = databoxRequest();
    await runActivity(activities.createAzureJob, [req]);
    const other = databoxRequest({ jobName: req.jobName, requestId: 'import-job-someone-else' });
    assert.match(assertFailure(await rejection(runActivity(activities.createAzureJob, [other])), 'JobSpecConflict', true).message, /importOrchestratorRequestId/);
    const changed = databoxRequest({ jobName: req.jobName });
    changed.drives[1] = { ...changed.drives[1]!, manifestHash: 'FFFF21108597EF36D5785F08303F3638' };
    const err = assertFailure(await rejection(runActivity(activities.createAzureJob, [changed])), 'JobSpecConflict', true);
    assert.match(err.message, /importDiskDetailsCollection\[D2SERIAL\]\.manifestHash/);
    const details = err.details?.[0] as { differences: Array<{ field: string }> };
    assert.deepEqual(details.differences.map((d) => d.field), ['properties.details.importDiskDetailsCollection[D2SERIAL].manifestHash']);
    assert.ok(!JSON.stringify({ m: err.message, d: err.details }).includes(KEYS[1]));
    assert.equal((await calls('Jobs_Create')).length, 1);
  });

  void it('400 fails at once, naming the field (and never echoing the carrier account)', async () => {
    const req = databoxRequest({ returnShipping: { carrierName: 'PigeonPost', carrierAccountNumber: CARRIER_ACCOUNT } });
    const err = assertFailure(await rejection(runActivity(activities.createAzureJob, [req])), 'AzureValidationError', true);
    assert.match(err.message, /returnToCustomerPackageDetails\.carrierName/);
    assert.ok(!err.message.includes(CARRIER_ACCOUNT));
    const problems = (err.details?.[0] as { problems: Array<{ field: string }> }).problems;
    assert.ok(problems.some((p) => /returnToCustomerPackageDetails\.carrierName$/.test(p.field)), JSON.stringify(problems));
  });

  void it('429 and 5xx are retryable with the server’s delay; the retry then creates', async () => {
    const req = databoxRequest();
    await control.addFault({ operation: 'Jobs_Get', kind: 'status', status: 429, retryAfterSeconds: 3, count: 1 });
    assert.equal(assertFailure(await rejection(runActivity(activities.createAzureJob, [req])), 'AzureThrottledError', false).nextRetryDelay, 3000);
    await control.addFault({ operation: 'Jobs_Create', kind: 'status', status: 503, count: 1 });
    assertFailure(await rejection(runActivity(activities.createAzureJob, [req], 2)), 'AzureServerError', false);
    assert.equal((await runActivity(activities.createAzureJob, [req], 3)).created, true);
  });

  void it('verbose SDK logging shows requests but never the token, BitLocker keys or the carrier account', async () => {
    const lines: string[] = [];
    const originalLog = AzureLogger.log;
    const originalLevel = getLogLevel();
    AzureLogger.log = (...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    };
    setLogLevel('verbose');
    const token = 'SUPER-SECRET-DATABOX-TOKEN';
    try {
      const config = loadAzureConfig({
        AZURE_ENDPOINT: env.config.endpoint,
        AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
        AZURE_CREDENTIAL: 'static-token',
        AZURE_STATIC_TOKEN: token,
        AZURE_CA_FILE: env.config.caFile ?? '',
      });
      const ports = createAzurePorts(config, { pollIntervalMs: 200 });
      const logged = createImportJobActivities({ azure: ports, secrets: env.secrets });
      const req = databoxRequest();
      await runActivity(logged.createAzureJob, [req]);
      assert.equal((await ports.databox.readDiskKeys(req)).length, 2);
    } finally {
      setLogLevel(originalLevel);
      AzureLogger.log = originalLog;
    }
    const all = lines.join('\n');
    assert.match(all, /Microsoft\.DataBox\/jobs/, 'requests were logged');
    for (const secret of [token, KEYS[0], KEYS[1], CARRIER_ACCOUNT]) assert.ok(!all.includes(secret), `${secret} not logged`);
  });

  void it('api-version 2025-02-01 through AZURE_DATABOX_API_VERSION', async () => {
    const config = loadAzureConfig({
      AZURE_ENDPOINT: env.config.endpoint,
      AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
      AZURE_CREDENTIAL: 'static-token',
      AZURE_CA_FILE: env.config.caFile ?? '',
      AZURE_DATABOX_API_VERSION: '2025-02-01',
    });
    assert.equal(config.databoxApiVersion, '2025-02-01');
    const newer = createImportJobActivities({ azure: createAzurePorts(config, { pollIntervalMs: 200 }), secrets: env.secrets });
    const { created } = await runActivity(newer.createAzureJob, [databoxRequest()]);
    assert.equal(created, true);
    assert.throws(() => loadAzureConfig({ AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID, AZURE_DATABOX_API_VERSION: '2019-01-01' }), /AZURE_DATABOX_API_VERSION/);
  });
});

void describe('Data Box: shipping, tracking, cancel, expiry', () => {
  void it('markDevicesShipped once in effect: a repeat and a retry after a lost response send nothing more', async () => {
    const req = databoxRequest();
    await runActivity(activities.createAzureJob, [req]);
    const ship = shippingRequest(req);
    const first = await runActivity(activities.updateShipping, [ship]);
    assert.equal(first.applied, true);
    assert.equal(first.snapshot.state, 'ShippedToAzureDC');
    assert.equal(first.snapshot.deliveryPackage?.trackingNumber, '123456789012');
    assert.equal(first.snapshot.cancellable, false);
    const again = await runActivity(activities.updateShipping, [ship]);
    assert.equal(again.applied, false);
    assert.equal((await calls('Jobs_MarkDevicesShipped')).length, 1);
    assert.equal((await calls('Jobs_Update')).length, 0, 'unchanged return details are not sent again');

    const lost = databoxRequest();
    await runActivity(activities.createAzureJob, [lost]);
    await control.clearRequests();
    await control.addFault({ operation: 'Jobs_MarkDevicesShipped', kind: 'status', status: 500, afterProcessing: true, count: 1 });
    assertFailure(await rejection(runActivity(activities.updateShipping, [shippingRequest(lost, '323456789012')])), 'AzureServerError', false);
    assert.equal((await runActivity(activities.updateShipping, [shippingRequest(lost, '323456789012')], 2)).applied, false);
    assert.equal((await calls('Jobs_MarkDevicesShipped')).length, 1);
  });

  void it('changed return details go through the long-running Jobs_Update before markDevicesShipped', async () => {
    const req = databoxRequest();
    await runActivity(activities.createAzureJob, [req]);
    const ship = { ...shippingRequest(req, '423456789012'), returnAddress: { ...req.returnAddress, streetAddress1: '2 Other St' } };
    const { applied, snapshot } = await runActivity(activities.updateShipping, [ship]);
    assert.equal(applied, true);
    assert.equal(snapshot.state, 'ShippedToAzureDC');
    assert.deepEqual((await calls('Jobs_Update')).map((c) => c.status), [202]);
    const job = (await databox('GET', `/jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${req.jobName}`)) as { properties: { details: { shippingAddress: { streetAddress1: string } } } };
    assert.equal(job.properties.details.shippingAddress.streetAddress1, '2 Other St');
  });

  void it('tracking: per-disk copy progress, copy-log links and a terminal result with errors', async () => {
    const req = databoxRequest();
    await runActivity(activities.createAzureJob, [req]);
    await runActivity(activities.updateShipping, [shippingRequest(req, '523456789012')]);
    await advance(req.jobName, { to: 'DataCopy', percentComplete: 40 });
    const copying = await runActivity(activities.getAzureJob, [{ api: 'databox', subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, jobName: req.jobName }]);
    assert.equal(copying.state, 'DataCopy');
    for (const d of copying.drives) {
      assert.equal(d.state, 'InProgress');
      assert.ok(d.bytesTotal !== undefined && d.bytesTotal > 0);
      assert.equal(d.percentComplete, 40);
    }
    assert.equal(copying.percentComplete, 40);
    assert.ok(!terminalStates('databox').has(copying.state));

    await advance(req.jobName, { to: 'CompletedWithErrors', disks: { D2SERIAL: { copyStatus: 'CompletedWithErrors', filesErroredOut: 3 } } });
    const done = await runActivity(activities.getAzureJob, [{ api: 'databox', subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, jobName: req.jobName }]);
    assert.equal(done.state, 'CompletedWithErrors');
    assert.ok(terminalStates('databox').has(done.state));
    const d2 = done.drives.find((d) => d.driveId === 'D2SERIAL');
    assert.equal(d2?.copyStatus, 'CompletedWithErrors');
    assert.equal(d2?.filesErrored, 3);
    assert.match(d2?.errorLogUri ?? '', /databoxcopylog/);
    assert.match(d2?.verboseLogUri ?? '', /VerboseLog/);
  });

  void it('cancel while awaiting shipment is accepted with the reason; after shipping it is refused', async () => {
    const open = databoxRequest();
    await runActivity(activities.createAzureJob, [open]);
    const cancelled = await runActivity(activities.requestAzureCancel, [{ ...open, reason: 'order placed by mistake' }]);
    assert.equal(cancelled.state, 'Cancelled');
    assert.equal(cancelled.cancelRequested, true);
    assert.equal(cancelled.cancellationReason, 'order placed by mistake');
    assert.ok(terminalStates('databox').has(cancelled.state));
    assert.equal((await runActivity(activities.requestAzureCancel, [open])).state, 'Cancelled', 'repeating is harmless');

    const shipped = databoxRequest();
    await runActivity(activities.createAzureJob, [shipped]);
    await runActivity(activities.updateShipping, [shippingRequest(shipped, '623456789012')]);
    await control.clearRequests();
    const err = assertFailure(await rejection(runActivity(activities.requestAzureCancel, [{ ...shipped, reason: 'too late' }])), 'CancelNotAllowed', true);
    assert.match(err.message, /ShippedToAzureDC/);
    assert.match(err.message, /isCancellable/);
    assert.equal((await calls('Jobs_Cancel')).length, 0);
  });

  void it('the two-week expiry is an explicit Expired state, by auto-cancel or by deletion', async () => {
    const cancelledByService = databoxRequest();
    await runActivity(activities.createAzureJob, [cancelledByService]);
    await databox('POST', '/settings', { expiry: 'cancel' });
    await control.advanceClock(15 * 86_400);
    const expired = await runActivity(activities.getAzureJob, [{ ...cancelledByService }]);
    assert.equal(expired.state, EXPIRED_JOB_STATE);
    assert.equal(expired.expired?.reason, 'cancelled-by-service');
    assert.match(expired.expired?.message ?? '', /cancelled by the service/);
    assert.ok(terminalStates('databox').has(expired.state));

    const deleted = databoxRequest();
    await runActivity(activities.createAzureJob, [deleted]);
    await databox('POST', '/settings', { expiry: 'delete' });
    try {
      await control.advanceClock(15 * 86_400);
      const gone = await runActivity(activities.getAzureJob, [{ ...deleted }]);
      assert.equal(gone.state, EXPIRED_JOB_STATE);
      assert.equal(gone.expired?.reason, 'deleted');
    } finally {
      await databox('POST', '/settings', { expiry: 'cancel' });
    }
  });
});
