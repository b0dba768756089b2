/**
 * Every official 2021-01-01 example request (the spec's x-ms-examples, 13 files) is sent to the emulator
 * and the real response is validated against the swagger's response schema for that operation/status.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { SPEC_DIR, SwaggerValidator, loadSwagger, operations } from './fixtures/emulator/swagger-validator';
import { arm, containsKey, keyPaths } from './fixtures/emulator/helpers';

interface Example {
  parameters: Record<string, unknown> & { body?: unknown };
  responses: Record<string, { body?: unknown }>;
}

const swagger = loadSwagger('2021-01-01');
const validator = new SwaggerValidator(swagger);
const EXAMPLES_DIR = path.join(SPEC_DIR, '2021-01-01', 'examples');

/** (file, operation) pairs from the spec's own x-ms-examples. */
const exampleOps = operations(swagger).flatMap((op) =>
  Object.values(op.operation['x-ms-examples'] ?? {}).map((ref) => ({ file: path.basename(ref.$ref), op })),
);

/** The order a client would use them in (create before read/update/delete). */
const ORDER = [
  'ListOperations.json',
  'ListLocations.json',
  'GetLocation.json',
  'CreateJob.json',
  'CreateExportJob.json',
  'GetJob.json',
  'GetExportJob.json',
  'UpdateJob.json',
  'UpdateExportJob.json',
  'ListBitLockerKeys.json',
  'ListJobsInResourceGroup.json',
  'ListJobsInSubscription.json',
  'DeleteJob.json',
];

function loadExample(file: string): Example {
  return JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Example;
}

function buildPath(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (typeof v !== 'string') throw new Error(`example lacks path parameter ${name}`);
    return encodeURIComponent(v);
  });
}

void describe('official examples against the emulator, responses validated by the swagger', () => {
  let emu: RunningEmulator;
  before(async () => {
    emu = await startEmulator({ httpsPort: null });
  });
  after(async () => {
    await emu.close();
  });

  void it('the spec lists exactly the 13 example files, all covered here', () => {
    assert.equal(exampleOps.length, 13);
    assert.deepEqual([...exampleOps.map((e) => e.file)].sort(), [...ORDER].sort());
  });

  void it('the validator accepts every example response and rejects unknown / missing-required properties', () => {
    for (const { file, op } of exampleOps) {
      const ex = loadExample(file);
      for (const [status, r] of Object.entries(ex.responses)) {
        const schema = validator.responseSchema(op.operationId, Number(status));
        if (schema === null) continue;
        assert.deepEqual(validator.validate(r.body, schema), [], `${file} ${status}`);
      }
    }
    const job = structuredClone(loadExample('GetJob.json').responses['200']?.body) as Record<string, Record<string, unknown>>;
    const schema = validator.responseSchema('Jobs_Get', 200);
    assert.ok(schema);
    const unknown = structuredClone(job);
    (unknown.properties as Record<string, unknown>).bogus = 1;
    assert.match(validator.validate(unknown, schema).join('\n'), /unknown property 'bogus'/);
    const missing = structuredClone(job);
    delete (missing.properties?.returnAddress as Record<string, unknown>).email;
    assert.match(validator.validate(missing, schema).join('\n'), /missing required property 'email'/);
    const badEnum = structuredClone(job);
    ((badEnum.properties?.driveList as Array<Record<string, unknown>>)[0] as Record<string, unknown>).state = 'Lost';
    assert.match(validator.validate(badEnum, schema).join('\n'), /not one of/);
    const badType = structuredClone(job);
    (badType.properties as Record<string, unknown>).percentComplete = '5';
    assert.match(validator.validate(badType, schema).join('\n'), /expected integer/);
  });

  void it('every example request is accepted and its response validates against the swagger', async () => {
    const byFile = new Map(exampleOps.map((e) => [e.file, e.op]));
    const seen: string[] = [];
    for (const file of ORDER) {
      const op = byFile.get(file);
      assert.ok(op, file);
      const ex = loadExample(file);
      const p = buildPath(op.pathTemplate, ex.parameters);
      const apiVersion = String(ex.parameters['api-version']);
      const send = () => arm(emu, op.method, p, ex.parameters.body, { apiVersion });
      const res = await send();
      const declared = Object.keys(ex.responses).map(Number);
      assert.ok(declared.includes(res.status), `${file}: status ${res.status} not in example's ${declared.join(',')}: ${res.text}`);
      const schema = validator.responseSchema(op.operationId, res.status);
      if (schema === null) assert.equal(res.text, '', `${file}: expected an empty body`);
      else assert.deepEqual(validator.validate(res.body, schema), [], `${file}: ${res.text}`);
      if (op.operationId.startsWith('Jobs_')) assert.equal(containsKey(res.body, 'bitLockerKey'), false, `${file}: bitLockerKey leaked`);

      // Structure: every property the example response shows (for a single resource) is present in ours.
      const exBody = ex.responses[String(res.status)]?.body;
      if (exBody !== undefined && ['Jobs_Create', 'Jobs_Update', 'Locations_Get', 'Operations_List', 'Locations_List', 'BitLockerKeys_List'].includes(op.operationId)) {
        const ours = keyPaths(res.body);
        const missing = [...keyPaths(exBody)].filter((k) => !ours.has(k));
        assert.deepEqual(missing, [], `${file}: properties of the example missing in the emulator's response`);
      }

      if (file === 'CreateJob.json' || file === 'CreateExportJob.json') {
        assert.equal(res.status, 201);
        // Replacing a job still in Creating answers 200 (the example's other status).
        const again = await send();
        assert.equal(again.status, 200, again.text);
        assert.deepEqual(validator.validate(again.body, validator.responseSchema('Jobs_Create', 200) ?? {}), []);
      }
      if (file === 'ListBitLockerKeys.json') {
        assert.deepEqual(res.body, { value: [{ driveId: '9CA995BB', bitLockerKey: '238810-662376-448998-450120-652806-203390-606320-483076' }] });
      }
      if (file === 'ListJobsInResourceGroup.json' || file === 'ListJobsInSubscription.json') {
        const names = (res.body as { value: Array<{ name: string }> }).value.map((j) => j.name).sort();
        assert.deepEqual(names, ['myExportJob', 'myJob']);
      }
      seen.push(file);
    }
    assert.equal(seen.length, 13);
    // The job the Delete example removed is gone.
    const gone = await arm(emu, 'GET', '/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/resourceGroups/myResourceGroup/providers/Microsoft.ImportExport/jobs/myJob');
    assert.equal(gone.status, 404);
  });

  void it('responses under api-version 2020-08-01 validate against the 2020-08-01 swagger', async () => {
    const sw20 = new SwaggerValidator(loadSwagger('2020-08-01'));
    const create = loadExample('CreateJob.json');
    const p = '/subscriptions/s20/resourceGroups/rg20/providers/Microsoft.ImportExport/jobs/job2020';
    const res = await arm(emu, 'PUT', p, create.parameters.body, { apiVersion: '2020-08-01' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(sw20.validate(res.body, sw20.responseSchema('Jobs_Create', 201) ?? {}), []);
    const list = await arm(emu, 'GET', '/subscriptions/s20/providers/Microsoft.ImportExport/jobs', undefined, { apiVersion: '2016-11-01' });
    assert.equal(list.status, 200);
    assert.deepEqual(sw20.validate(list.body, sw20.responseSchema('Jobs_ListBySubscription', 200) ?? {}), []);
  });
});
