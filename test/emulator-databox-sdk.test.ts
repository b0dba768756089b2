/**
 * An unmodified @azure/arm-databox client (DataBoxManagementClient, a token credential returning any bearer token,
 * only `endpoint` changed) performs every customer-disk operation against the emulator over HTTPS, the long-running
 * ones polled by @azure/core-lro to completion. TLS trust comes from NODE_EXTRA_CA_CERTS in a child process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { EmulatorControl } from '../emulator/control-client';

const SUB = '77777777-8888-7777-6666-555555555555';
const CHILD = path.join(__dirname, 'fixtures', 'emulator', 'databox-sdk-client.ts');
const ROOT = path.resolve(__dirname, '..');
const KEY = '238810-662376-448998-450120-652806-203390-606320-483076';

function runChild(env: Record<string, string>): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.NODE_TEST_CONTEXT;
    execFile(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, env: childEnv, timeout: 120_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '{}';
      let out: Record<string, unknown>;
      try {
        out = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out = { unparsable: stdout };
      }
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, stderr });
    });
  });
}

void describe('unmodified @azure/arm-databox client over HTTPS', () => {
  let emu: RunningEmulator;
  let ctl: EmulatorControl;
  before(async () => {
    emu = await startEmulator({ httpsPort: 0 });
    ctl = new EmulatorControl(emu.httpUrl);
  });
  after(async () => {
    await emu.close();
  });

  void it('performs every customer-disk operation, long-running ones included, and retries a 429', async () => {
    await ctl.addFault({ operation: 'Jobs_Get', api: 'databox', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    const { code, out, stderr } = await runChild({
      NODE_EXTRA_CA_CERTS: emu.caCertPath ?? '',
      EMULATOR_ENDPOINT: emu.httpsUrl ?? '',
      EMULATOR_CONTROL: emu.httpUrl,
      EMULATOR_SUB: SUB,
    });
    assert.equal(code, 0, `${JSON.stringify(out)}\n${stderr}`);
    assert.equal(out.apiVersion, '2022-12-01');
    assert.ok((out.operations as number) >= 10);
    assert.deepEqual(out.skus, { westus: [true], brazilsouth: [[false, 'Region']] });
    assert.deepEqual(out.validation, { status: 'InputsRevisitRequired', item: [['ValidateSkuAvailability', 'Invalid', 'SkuNotAvailable']] });
    assert.deepEqual(out.datacenter, { westus: ['DatacenterAddressLocation', ['FedEx', 'UPS', 'DHL']], southeastasia: ['DatacenterAddressInstruction', true] });
    assert.deepEqual(out.created, { name: 'sdkcd1', status: 'AwaitingShipmentDetails', sku: 'DataBoxCustomerDisk', type: 'DataBoxCustomerDisk' });
    assert.equal(out.createdSync, 'AwaitingShipmentDetails');
    assert.equal(out.createdBare, 'AwaitingShipmentDetails');
    assert.deepEqual((out.duplicate as { statusCode: number }).statusCode, 409);
    assert.deepEqual(out.got, { status: 'AwaitingShipmentDetails', isCancellable: true, address: 'DatacenterAddressLocation', disks: ['SDKDISK1', 'SDKDISK2'], hasKey: false, hasCarrierAccount: false });
    assert.equal(out.gotPlain, true, 'details only with $expand=details');
    assert.deepEqual(out.list, ['sdkcd1', 'sdkcd2', 'sdkcd3']);
    assert.deepEqual(out.listByRg, ['sdkcd1', 'sdkcd2', 'sdkcd3']);
    assert.deepEqual(out.updated, { tags: { via: 'sdk' }, contact: 'Night shift' });
    assert.equal(out.shipped, 'ShippedToAzureDC');
    assert.equal((out.shipConflict as { statusCode: number }).statusCode, 409);
    assert.equal((out.cancelRefused as { statusCode: number }).statusCode, 409);
    assert.match((out.cancelRefused as { message: string }).message, /isCancellable is false/);
    assert.deepEqual(out.cancelled, { status: 'Cancelled', reason: 'changed our mind', isDeletable: true });
    assert.deepEqual(out.credentials, { type: 'DataBoxCustomerDisk', disks: [['SDKDISK1', true], ['SDKDISK2', true]], carrierAccount: '987654321' });
    assert.deepEqual(out.copying, {
      status: 'DataCopy',
      progress: [
        ['SDKDISK1', 'InProgress', 300_000_000_000, 1_000_000_000_000],
        ['SDKDISK2', 'InProgress', 300_000_000_000, 1_000_000_000_000],
      ],
      logs: 2,
    });
    assert.deepEqual(out.done, { status: 'CompletedWithErrors', disks: [['SDKDISK1', 'CompletedWithErrors'], ['SDKDISK2', 'DriveCorrupted']], returnCarrier: 'UPS', isDeletable: true });
    assert.equal(out.deleted, 404);
    assert.deepEqual(out.remaining, ['sdkcd3']);
    assert.ok(!JSON.stringify(out).includes(KEY), 'the summary only compares keys');

    const log = (await ctl.requests()).filter((r) => r.api === 'databox');
    const statuses = (op: string) => log.filter((r) => r.operation === op).map((r) => r.status);
    // sdkcd1: 202 then two 202 polls and the 200; sdkcd2: 200 at once; sdkcd3: bare 202 (the SDK GETs the job); duplicate: 409
    assert.deepEqual(statuses('Jobs_Create'), [202, 200, 202, 409]);
    assert.deepEqual(statuses('OperationResults_Get').slice(0, 3), [202, 202, 200]);
    assert.deepEqual(statuses('Jobs_Update'), [202]);
    assert.deepEqual(statuses('Jobs_Delete'), [202, 202]);
    assert.deepEqual(statuses('Jobs_MarkDevicesShipped'), [204, 204, 409]);
    assert.deepEqual(statuses('Jobs_Cancel'), [409, 204]);
    assert.equal(statuses('Jobs_Get')[0], 429, 'the injected 429 came first and was retried');
    for (const op of [
      'Operations_List',
      'Service_ListAvailableSkusByResourceGroup',
      'Service_ValidateInputs',
      'Service_RegionConfiguration',
      'Service_RegionConfigurationByResourceGroup',
      'Jobs_List',
      'Jobs_ListByResourceGroup',
      'Jobs_ListCredentials',
    ]) {
      assert.ok(statuses(op).includes(200), `SDK did not call ${op}`);
    }
  });

  void it('fails without trusting the certificate (TLS is real)', async () => {
    const { code, out } = await runChild({ NODE_EXTRA_CA_CERTS: '', EMULATOR_ENDPOINT: emu.httpsUrl ?? '', EMULATOR_CONTROL: emu.httpUrl, EMULATOR_SUB: SUB });
    assert.notEqual(code, 0);
    assert.match(String(out.message), /self[- ]signed|certificate/i);
  });
});
