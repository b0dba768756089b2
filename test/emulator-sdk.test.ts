/**
 * An unmodified Azure SDK client (@azure/arm-storageimportexport, static TokenCredential, only `endpoint`
 * changed) performs every operation against the emulator over HTTPS, trusting the emulator's self-signed
 * certificate through NODE_EXTRA_CA_CERTS (set for a child process, as TLS trust is read at startup).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { EmulatorControl } from '../emulator/control-client';

const SUB = '99999999-8888-7777-6666-555555555555';
const CHILD = path.join(__dirname, 'fixtures', 'emulator', 'sdk-client.ts');
const ROOT = path.resolve(__dirname, '..');

function runChild(env: Record<string, string>): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.NODE_TEST_CONTEXT; // the child is a plain script, not a test file
    execFile(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '{}';
      let out: Record<string, unknown> = {};
      try {
        out = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out = { unparsable: stdout };
      }
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, stderr });
    });
  });
}

void describe('unmodified Azure SDK client over HTTPS', () => {
  let emu: RunningEmulator;
  let ctl: EmulatorControl;
  before(async () => {
    emu = await startEmulator({ httpsPort: 0 });
    ctl = new EmulatorControl(emu.httpUrl);
  });
  after(async () => {
    await emu.close();
  });

  void it('the emulator serves HTTPS with a certificate file it created', () => {
    assert.match(emu.httpsUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(emu.caCertPath?.startsWith(emu.dataDir));
  });

  void it('performs every operation (with a retried 429) and sees ARM semantics', async () => {
    await ctl.addFault({ operation: 'Locations_Get', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    const { code, out, stderr } = await runChild({
      NODE_EXTRA_CA_CERTS: emu.caCertPath ?? '',
      EMULATOR_ENDPOINT: emu.httpsUrl ?? '',
      EMULATOR_SUB: SUB,
    });
    assert.equal(code, 0, `${JSON.stringify(out)}\n${stderr}`);
    assert.equal((out.operations as string[]).length, 6);
    assert.ok((out.locations as string[]).includes('West US'));
    assert.deepEqual(out.location, {
      name: 'West US',
      supportedCarriers: ['FedEx'],
      alternateLocations: ['/providers/Microsoft.ImportExport/locations/westus'],
    });
    assert.deepEqual(out.created, { name: 'sdkjob1', state: 'Creating', location: 'West US', drives: 1 });
    assert.equal(out.replacedState, 'Creating');
    assert.deepEqual(out.got, { id: `/subscriptions/${SUB}/resourceGroups/rg-sdk/providers/Microsoft.ImportExport/jobs/sdkjob1`, hasKey: false });
    assert.deepEqual(out.updated, { state: 'Shipping', tags: { via: 'sdk' }, tracking: '123456789012' });
    assert.equal(out.tagOnly, 'Creating');
    assert.deepEqual(out.bySub, ['sdkjob1', 'sdkjob2']);
    assert.deepEqual(out.byRg, ['sdkjob1', 'sdkjob2']);
    assert.deepEqual(out.keys, [{ driveId: 'SDKDRIVE1', bitLockerKey: '238810-662376-448998-450120-652806-203390-606320-483076' }]);
    assert.deepEqual(out.deleted, { statusCode: 404, code: 'ResourceNotFound' });
    const cancelError = out.cancelError as { statusCode: number; code: string; message: string };
    assert.equal(cancelError.statusCode, 409);
    assert.match(cancelError.message, /^properties\.cancelRequested: /);

    const log = await ctl.requests();
    const ops = new Set(log.map((r) => r.operation));
    for (const op of [
      'Operations_List',
      'Locations_List',
      'Locations_Get',
      'Jobs_Create',
      'Jobs_Get',
      'Jobs_Update',
      'Jobs_ListBySubscription',
      'Jobs_ListByResourceGroup',
      'BitLockerKeys_List',
      'Jobs_Delete',
    ]) {
      assert.ok(ops.has(op), `SDK did not call ${op}`);
    }
    // the 429 was retried by the SDK's pipeline; paging with top=1 took two pages per list
    assert.deepEqual(log.filter((r) => r.operation === 'Locations_Get').map((r) => r.status), [429, 200]);
    assert.equal(log.filter((r) => r.operation === 'Jobs_ListBySubscription').length, 2);
    assert.equal(log.filter((r) => r.operation === 'Jobs_Create').length, 3);
  });

  void it('fails without trusting the certificate (TLS is real)', async () => {
    const { code, out } = await runChild({ NODE_EXTRA_CA_CERTS: '', EMULATOR_ENDPOINT: emu.httpsUrl ?? '', EMULATOR_SUB: SUB });
    assert.notEqual(code, 0);
    assert.match(String(out.message), /self[- ]signed|certificate/i);
  });
});
