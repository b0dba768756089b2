/**
 * Every official Microsoft.DataBox 2025-02-01 example request (the spec's x-ms-examples, 28 files) is sent to the
 * emulator and its response is validated against the swagger's schema for that operation and status; the long-running
 * ones both as 200 at once and as 202 + Location polled to the final body. A customer-disk job is then walked through
 * every status with each rendering validated too.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { EmulatorControl } from '../emulator/control-client';
import { DATABOX_SPEC_DIR, SwaggerValidator, loadDataBoxSwagger, operations, type OperationInfo } from './fixtures/emulator/swagger-validator';
import { arm, containsKey } from './fixtures/emulator/helpers';
import { customerDiskJob, DB_KEY, dataBoxJobPath } from './fixtures/emulator/databox';

interface Example {
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown }>;
}

const swagger = loadDataBoxSwagger('2025-02-01');
const validator = new SwaggerValidator(swagger);
const EXAMPLES_DIR = path.join(DATABOX_SPEC_DIR, '2025-02-01', 'examples');
const exampleOps = operations(swagger).flatMap((op) => Object.values(op.operation['x-ms-examples'] ?? {}).map((ref) => ({ file: path.basename(ref.$ref), op })));
const loadExample = (file: string) => JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Example;

/** The body parameter of an example (named after the operation's body parameter). */
function bodyOf(ex: Example, op: OperationInfo): unknown {
  const name = (op.operation.parameters ?? []).find((p) => p.in === 'body')?.name;
  return name === undefined ? undefined : ex.parameters[name];
}

function requestPath(op: OperationInfo, ex: Example): string {
  const p = op.pathTemplate.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = ex.parameters[name];
    if (typeof v !== 'string') throw new Error(`example lacks path parameter ${name}`);
    return encodeURIComponent(v);
  });
  const expand = ex.parameters.$expand;
  return typeof expand === 'string' ? `${p}?$expand=${encodeURIComponent(expand)}` : p;
}

/** Which create example makes the job a non-create example works on (its sku and transfer type). */
function creatorOf(file: string): string {
  if (file === 'JobsGetExport.json') return 'JobsCreateExport.json';
  if (file.includes('Cmk')) return 'JobsCreateDoubleEncryption.json';
  if (file === 'JobsPatchSystemAssignedToUserAssigned.json') return 'JobsCreateWithUserAssignedIdentity.json';
  return 'JobsCreate.json';
}

void describe('official Data Box examples against the emulator, responses validated by the swagger', () => {
  let emu: RunningEmulator;
  let ctl: EmulatorControl;
  const byFile = new Map(exampleOps.map((e) => [e.file, e.op]));

  const send = async (file: string) => {
    const op = byFile.get(file);
    assert.ok(op, file);
    const ex = loadExample(file);
    const res = await arm(emu, op.method, requestPath(op, ex), bodyOf(ex, op), { apiVersion: String(ex.parameters['api-version']) });
    return { op, ex, res };
  };
  const checkResponse = (file: string, operationId: string, status: number, body: unknown, text: string) => {
    const schema = validator.responseSchema(operationId, status);
    if (schema === null) assert.equal(text, '', `${file}: expected an empty body`);
    else assert.deepEqual(validator.validate(body, schema), [], `${file}: ${text.slice(0, 2000)}`);
  };
  const createJobFor = async (file: string) => {
    await ctl.dataBoxSetLro({ mode: 'sync' });
    const { res } = await send(creatorOf(file));
    assert.equal(res.status, 200, res.text);
  };

  before(async () => {
    emu = await startEmulator({ httpsPort: null });
    ctl = new EmulatorControl(emu.httpUrl);
  });
  beforeEach(async () => {
    await ctl.reset();
  });
  after(async () => {
    await emu.close();
  });

  void it('the spec lists 28 example files; the validator accepts every example response and catches wrong ones', () => {
    assert.equal(exampleOps.length, 28);
    for (const { file, op } of exampleOps) {
      for (const [status, r] of Object.entries(loadExample(file).responses)) {
        const schema = validator.responseSchema(op.operationId, Number(status));
        if (schema !== null) assert.deepEqual(validator.validate(r.body, schema), [], `${file} ${status}`);
      }
    }
    const job = structuredClone(loadExample('JobsGet.json').responses['200']?.body) as { properties: { details: Record<string, unknown>; status: string } };
    const schema = validator.responseSchema('Jobs_Get', 200);
    assert.ok(schema);
    job.properties.details.bogus = 1; // unknown property of the DataBox subtype
    job.properties.status = 'Lost';
    const problems = validator.validate(job, schema).join('\n');
    assert.match(problems, /unknown property 'bogus'/);
    assert.match(problems, /"Lost" is not one of/);
    const cd = { datacenterAddressType: 'DatacenterAddressLocation', street1: 5 };
    assert.match(validator.validate(cd, { $ref: '#/definitions/DatacenterAddressResponse' }).join('\n'), /street1: expected string/, 'the subtype is chosen by the discriminator');
  });

  for (const { file, op } of exampleOps) {
    void it(`${file} (${op.operationId}) is accepted and answered as the swagger says`, async () => {
      const ex = loadExample(file);
      const declared = Object.keys(ex.responses).map(Number);
      if (op.operationId === 'Jobs_Create') {
        await ctl.dataBoxSetLro({ mode: 'sync' });
        const sync = await send(file);
        assert.equal(sync.res.status, 200, sync.res.text);
        checkResponse(file, op.operationId, 200, sync.res.body, sync.res.text);
        await ctl.reset();
      } else if (op.operationId.startsWith('Jobs_') || op.operationId === 'Mitigate') {
        if (op.operationId !== 'Jobs_List' && op.operationId !== 'Jobs_ListByResourceGroup') await createJobFor(file);
        else {
          await createJobFor('JobsCreate.json');
          await ctl.dataBoxSetLro({ mode: 'sync' });
          assert.equal((await arm(emu, 'PUT', dataBoxJobPath('cdjob1', 'YourSubscriptionId', 'YourResourceGroupName'), customerDiskJob(), { apiVersion: '2025-02-01' })).status, 200);
        }
        if (op.operationId === 'Jobs_Delete') {
          const name = String(ex.parameters.jobName);
          const cancel = await arm(emu, 'POST', `${dataBoxJobPath(name, 'YourSubscriptionId', 'YourResourceGroupName')}/cancel`, { reason: 'to delete it' }, { apiVersion: '2025-02-01' });
          assert.equal(cancel.status, 204, cancel.text);
        }
      }
      await ctl.dataBoxSetLro({ mode: 'async', polls: 1, retryAfterSeconds: 0 });
      const { res } = await send(file);
      assert.ok(declared.includes(res.status), `${file}: status ${res.status} not in the example's ${declared.join(',')}: ${res.text.slice(0, 500)}`);
      checkResponse(file, op.operationId, res.status, res.body, res.text);
      assert.equal(containsKey(res.body, 'bitLockerKey') && op.operationId !== 'Jobs_ListCredentials', false, `${file}: a key leaked`);
      if (res.status === 202) {
        const location = res.headers.get('location');
        assert.ok(location, `${file}: 202 without Location`);
        assert.equal(res.headers.get('retry-after'), '0');
        const first = await arm(emu, 'GET', location, undefined, { apiVersion: null });
        assert.equal(first.status, 202, first.text);
        const final = await arm(emu, 'GET', location, undefined, { apiVersion: null });
        const finalStatus = op.operationId === 'Jobs_Delete' ? 204 : 200;
        assert.equal(final.status, finalStatus, final.text);
        checkResponse(`${file} (final poll)`, op.operationId, finalStatus, final.body, final.text);
      }
    });
  }

  void it('a customer-disk job renders valid against the swagger in every status, in both api-versions it is read with', async () => {
    await ctl.dataBoxSetLro({ mode: 'sync' });
    const sub = 'sub-validate';
    const rg = 'rg-validate';
    const created = await arm(emu, 'PUT', dataBoxJobPath('cdvalid', sub, rg), customerDiskJob({ disks: ['DISKA1', 'DISKB2'] }), { apiVersion: '2025-02-01' });
    assert.equal(created.status, 200, created.text);
    const schema = validator.responseSchema('Jobs_Get', 200);
    assert.ok(schema);
    const check = async (label: string) => {
      for (const apiVersion of ['2025-02-01', '2022-12-01']) {
        const got = await arm(emu, 'GET', `${dataBoxJobPath('cdvalid', sub, rg)}?$expand=details`, undefined, { apiVersion });
        assert.equal(got.status, 200, got.text);
        assert.deepEqual(validator.validate(got.body, schema), [], `${label} ${apiVersion}: ${got.text.slice(0, 1500)}`);
        assert.ok(!got.text.includes(DB_KEY), 'the BitLocker key is never rendered');
      }
    };
    await check('AwaitingShipmentDetails');
    const shipped = await arm(emu, 'POST', `${dataBoxJobPath('cdvalid', sub, rg)}/markDevicesShipped`, { deliverToDcPackageDetails: { carrierName: 'FedEx', trackingId: '1234' } }, { apiVersion: '2025-02-01' });
    assert.equal(shipped.status, 204);
    for (const to of ['Delivered', 'AtAzureDC', 'DataCopy', 'PreparingToShipFromAzureDC', 'ShippedToCustomer', 'CompletedWithWarnings'] as const) {
      await ctl.dataBoxAdvance(sub, rg, 'cdvalid', { to });
      await check(to);
    }
    const creds = await arm(emu, 'POST', `${dataBoxJobPath('cdvalid', sub, rg)}/listCredentials`, undefined, { apiVersion: '2025-02-01' });
    assert.deepEqual(validator.validate(creds.body, validator.responseSchema('Jobs_ListCredentials', 200) ?? {}), []);
    const rc = await arm(emu, 'POST', `/subscriptions/${sub}/providers/Microsoft.DataBox/locations/westus/regionConfiguration`, { datacenterAddressRequest: { storageLocation: 'southeastasia', skuName: 'DataBoxCustomerDisk' } }, { apiVersion: '2025-02-01' });
    assert.deepEqual(validator.validate(rc.body, validator.responseSchema('Service_RegionConfiguration', 200) ?? {}), []);
    const errors = await arm(emu, 'PUT', dataBoxJobPath('cdvalid', sub, rg), {}, { apiVersion: '2025-02-01' });
    assert.deepEqual(validator.validate(errors.body, validator.definition('ApiError')), [], 'errors are ApiError');
  });
});
