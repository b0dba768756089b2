/**
 * Fault injection: 429 + Retry-After, 500/503, dropped connections, delays, count vs rate, and
 * afterProcessing (the operation runs, the response is lost).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { EmulatorControl } from '../emulator/control-client';
import { arm, importJob, jobPath, type ErrorEnvelope } from './fixtures/emulator/helpers';

let emu: RunningEmulator;
let ctl: EmulatorControl;

before(async () => {
  emu = await startEmulator({ httpsPort: null });
  ctl = new EmulatorControl(emu.httpUrl);
});
after(async () => {
  await emu.close();
});
beforeEach(async () => {
  await ctl.reset();
});

const LOCS = '/providers/Microsoft.ImportExport/locations';

void describe('fault injection', () => {
  void it('429 with Retry-After for the next N calls of one operation, in the ARM envelope', async () => {
    const id = await ctl.addFault({ operation: 'Locations_List', kind: 'status', status: 429, retryAfterSeconds: 7, count: 2 });
    assert.match(id, /^[0-9a-f-]{36}$/);
    const r1 = await arm(emu, 'GET', LOCS);
    assert.equal(r1.status, 429);
    assert.equal(r1.headers.get('retry-after'), '7');
    assert.equal((r1.body as ErrorEnvelope).error.code, 'TooManyRequests');
    assert.ok(r1.headers.get('x-ms-request-id'));
    // other operations are not affected
    assert.equal((await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations')).status, 200);
    assert.equal((await arm(emu, 'GET', LOCS)).status, 429);
    assert.equal((await arm(emu, 'GET', LOCS)).status, 200);
    assert.deepEqual(await ctl.faults(), []); // spent
    const log = await ctl.requests();
    assert.deepEqual(
      log.map((r) => [r.operation, r.status, r.faulted]),
      [
        ['Locations_List', 429, 'status:429'],
        ['Operations_List', 200, undefined],
        ['Locations_List', 429, 'status:429'],
        ['Locations_List', 200, undefined],
      ],
    );
  });

  void it('503 / 500 on every call ("*") until cleared; faults are listed', async () => {
    await ctl.addFault({ operation: '*', kind: 'status', status: 503 });
    await ctl.addFault({ operation: 'Jobs_Get', kind: 'status', status: 500 });
    for (let i = 0; i < 3; i++) {
      const r = await arm(emu, 'GET', LOCS);
      assert.equal(r.status, 503);
      assert.equal((r.body as ErrorEnvelope).error.code, 'ServiceUnavailable');
    }
    assert.equal((await arm(emu, 'GET', jobPath('whatever'))).status, 503); // first matching fault wins
    const listed = await ctl.faults();
    assert.equal(listed.length, 2);
    assert.equal(listed[0]?.fired, 4);
    await ctl.clearFaults();
    assert.equal((await arm(emu, 'GET', LOCS)).status, 200);
  });

  void it('faults apply before auth: a throttled call is throttled even without a token', async () => {
    await ctl.addFault({ operation: 'Locations_List', kind: 'status', status: 429, count: 1 });
    assert.equal((await arm(emu, 'GET', LOCS, undefined, { auth: null })).status, 429);
    assert.equal((await arm(emu, 'GET', LOCS, undefined, { auth: null })).status, 401);
  });

  void it('drop destroys the socket without a response', async () => {
    await ctl.addFault({ operation: 'Jobs_Create', kind: 'drop', count: 1 });
    await assert.rejects(arm(emu, 'PUT', jobPath('dropjob'), importJob()), (e: unknown) => e instanceof TypeError);
    // dropped before processing: nothing was created
    assert.equal((await arm(emu, 'GET', jobPath('dropjob'))).status, 404);
    const log = await ctl.requests();
    assert.deepEqual(log[0] && [log[0].operation, log[0].status, log[0].faulted], ['Jobs_Create', 0, 'drop']);
  });

  void it('delay holds the response', async () => {
    await ctl.addFault({ operation: 'Locations_Get', kind: 'delay', delayMs: 300, count: 1 });
    const t0 = Date.now();
    const r = await arm(emu, 'GET', `${LOCS}/westus`);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 280, `took ${Date.now() - t0}ms`);
    const t1 = Date.now();
    await arm(emu, 'GET', `${LOCS}/westus`);
    assert.ok(Date.now() - t1 < 250);
  });

  void it('rate: a probability per call until cleared (rate 0 never, rate 1 always)', async () => {
    await ctl.addFault({ operation: 'Operations_List', kind: 'status', status: 500, rate: 0 });
    for (let i = 0; i < 5; i++) assert.equal((await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations')).status, 200);
    await ctl.clearFaults();
    await ctl.addFault({ operation: 'Operations_List', kind: 'status', status: 500, rate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations')).status);
    const faulted = statuses.filter((s) => s === 500).length;
    assert.ok(faulted > 5 && faulted < 55, `faulted ${faulted}/60`);
    assert.equal((await ctl.faults()).length, 1, 'a rate fault stays until cleared');
  });

  void it('afterProcessing: the PUT executes (job created) but the client gets a 500 / a dropped connection', async () => {
    await ctl.addFault({ operation: 'Jobs_Create', kind: 'status', status: 500, afterProcessing: true, count: 1 });
    const r = await arm(emu, 'PUT', jobPath('lostresp'), importJob());
    assert.equal(r.status, 500);
    const got = await arm(emu, 'GET', jobPath('lostresp'));
    assert.equal(got.status, 200, 'the job was created although the response was lost');
    const retry = await arm(emu, 'PUT', jobPath('lostresp'), importJob());
    assert.equal(retry.status, 200, 'a retried PUT replaces the job in Creating');

    await ctl.addFault({ operation: 'Jobs_Update', kind: 'drop', afterProcessing: true, count: 1 });
    await assert.rejects(
      arm(emu, 'PATCH', jobPath('lostresp'), { properties: { state: 'Shipping', deliveryPackage: { carrierName: 'FedEx', trackingNumber: '1' } } }),
      (e: unknown) => e instanceof TypeError,
    );
    const after1 = await arm(emu, 'GET', jobPath('lostresp'));
    assert.equal((after1.body as { properties: { state: string } }).properties.state, 'Shipping');
    const log = await ctl.requests();
    const puts = log.filter((x) => x.method === 'PUT');
    assert.deepEqual(puts.map((p) => [p.status, p.faulted]), [
      [500, 'status:500:after'],
      [200, undefined],
    ]);
    const patches = log.filter((x) => x.method === 'PATCH');
    assert.deepEqual(patches.map((p) => [p.status, p.faulted]), [[0, 'drop:after']]);
  });
});
