/**
 * Emulator behaviour: ARM transport rules (auth, api-version, errors, headers), request validation,
 * job life cycle and the control API, paging, expiry with the virtual clock, locations, persistence.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { EmulatorControl, EmulatorControlError } from '../emulator/control-client';
import {
  API,
  DELIVERY,
  KEY,
  KEY2,
  RG,
  SUB,
  arm,
  containsKey,
  control,
  drive,
  importJob,
  jobPath,
  type ErrorEnvelope,
} from './fixtures/emulator/helpers';

type Job = {
  name: string;
  location: string;
  id: string;
  properties: {
    state: string;
    cancelRequested: boolean;
    percentComplete?: number;
    shippingInformation: Record<string, string>;
    deliveryPackage?: Record<string, unknown>;
    returnPackage?: { carrierName: string; trackingNumber: string; driveCount: number; shipDate: string };
    driveList: Array<{ driveId: string; state: string; copyStatus?: string; percentComplete?: number; bytesSucceeded?: number; errorLogUri?: string; verboseLogUri?: string }>;
  };
  systemData: Record<string, string>;
};

const err = (b: unknown) => (b as ErrorEnvelope).error;

let emu: RunningEmulator;
let ctl: EmulatorControl;
const logLines: string[] = [];

before(async () => {
  emu = await startEmulator({ httpsPort: null, logger: (l) => logLines.push(l) });
  ctl = new EmulatorControl(emu.httpUrl);
});
after(async () => {
  await emu.close();
});
beforeEach(async () => {
  await ctl.reset();
});

async function createJob(name: string, body: Record<string, unknown> = importJob()): Promise<Job> {
  const r = await arm(emu, 'PUT', jobPath(name), body);
  assert.equal(r.status, 201, r.text);
  return r.body as Job;
}

async function ship(name: string): Promise<Job> {
  const r = await arm(emu, 'PATCH', jobPath(name), { properties: { state: 'Shipping', deliveryPackage: DELIVERY } });
  assert.equal(r.status, 200, r.text);
  return r.body as Job;
}

void describe('ARM transport', () => {
  void it('requires a bearer token: 401 with WWW-Authenticate and the ARM envelope', async () => {
    const none = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations', undefined, { auth: null });
    assert.equal(none.status, 401);
    assert.equal(err(none.body).code, 'AuthenticationFailed');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer authorization_uri=/);
    const basic = await arm(emu, 'GET', jobPath('x1'), undefined, { auth: 'Basic abc' });
    assert.equal(basic.status, 401);
    assert.equal(err(basic.body).code, 'InvalidAuthenticationToken');
    assert.ok(basic.headers.get('www-authenticate'));
    const empty = await arm(emu, 'GET', jobPath('x1'), undefined, { auth: 'Bearer ' });
    assert.equal(empty.status, 401);
  });

  void it('checks api-version: missing / unsupported → 400 with ARM codes; the three versions are accepted', async () => {
    const missing = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations', undefined, { apiVersion: null });
    assert.equal(missing.status, 400);
    assert.equal(err(missing.body).code, 'MissingApiVersionParameter');
    const bad = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations', undefined, { apiVersion: '2019-05-01' });
    assert.equal(bad.status, 400);
    assert.equal(err(bad.body).code, 'InvalidApiVersionParameter');
    assert.match(err(bad.body).message, /'2019-05-01' is invalid.*2021-01-01,2020-08-01,2016-11-01/);
    for (const v of ['2021-01-01', '2020-08-01', '2016-11-01']) {
      const ok = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations', undefined, { apiVersion: v });
      assert.equal(ok.status, 200, v);
    }
  });

  void it('sends ARM headers and JSON content type; malformed JSON → 400 InvalidRequestContent', async () => {
    const r = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations');
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.match(r.headers.get('x-ms-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.match(r.headers.get('x-ms-correlation-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const bad = await arm(emu, 'PUT', jobPath('badjson'), undefined, { rawBody: '{"location": "westus",' });
    assert.equal(bad.status, 400);
    assert.equal(err(bad.body).code, 'InvalidRequestContent');
    const empty = await arm(emu, 'PUT', jobPath('nobody'), undefined, { rawBody: '' });
    assert.equal(empty.status, 400);
    assert.equal(err(empty.body).code, 'InvalidRequestContent');
  });

  void it('matches path segments case-insensitively and 404s unknown jobs/routes with ARM codes', async () => {
    await createJob('casejob');
    const r = await arm(emu, 'GET', `/SUBSCRIPTIONS/${SUB.toUpperCase()}/resourcegroups/${RG.toUpperCase()}/PROVIDERS/microsoft.importexport/JOBS/CaseJob`);
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body as Job).name, 'casejob');
    const missing = await arm(emu, 'GET', jobPath('nosuchjob'));
    assert.equal(missing.status, 404);
    assert.equal(err(missing.body).code, 'ResourceNotFound');
    const badRg = await arm(emu, 'GET', jobPath('x', SUB, 'bad/rg.'.replace('/', '%2F')));
    assert.equal(badRg.status, 404);
    assert.equal(err(badRg.body).code, 'ResourceGroupNotFound');
    const route = await arm(emu, 'GET', `/subscriptions/${SUB}/providers/Microsoft.ImportExport/widgets`);
    assert.equal(route.status, 404);
    assert.equal(err(route.body).code, 'InvalidResourceType');
    const method = await arm(emu, 'POST', jobPath('casejob'), {});
    assert.equal(method.status, 405);
  });

  void it('logs one line per request without bodies, keys or tokens', async () => {
    logLines.length = 0;
    await createJob('logjob');
    await arm(emu, 'POST', `${jobPath('logjob')}/listBitLockerKeys`, undefined, { auth: 'Bearer secret-token-value' });
    assert.equal(logLines.length, 2);
    assert.match(logLines[0] ?? '', /^PUT \/subscriptions\/.+\/jobs\/logjob 201 \d+(\.\d+)?ms$/);
    const all = logLines.join('\n');
    assert.ok(!all.includes(KEY) && !all.includes(KEY2) && !all.includes('secret-token-value') && !all.includes('Redmond'));
  });
});

void describe('locations and operations', () => {
  void it('lists locations; Get accepts display and short names; open iff alternateLocations has itself', async () => {
    const list = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations');
    const value = (list.body as { value: Array<{ id: string; name: string; properties: { alternateLocations: string[]; supportedCarriers: string[] } }> }).value;
    assert.ok(value.length >= 6);
    for (const n of ['West US', 'East US', 'West Europe', 'North Europe', 'Southeast Asia', 'Australia East']) assert.ok(value.some((l) => l.name === n), n);
    assert.ok(value.some((l) => !l.properties.alternateLocations.includes(l.id)), 'some site is closed in the catalogue');
    const byShort = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations/westeurope');
    const byDisplay = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations/West%20Europe');
    assert.deepEqual(byShort.body, byDisplay.body);
    assert.equal((byShort.body as { name: string }).name, 'West Europe');
    const unknown = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations/moon');
    assert.equal(unknown.status, 404);
  });

  void it('close/open through the control API changes alternateLocations and where new jobs ship', async () => {
    const closed = await ctl.closeLocation('West US', ['westus2']);
    assert.deepEqual(closed.properties.alternateLocations, ['/providers/Microsoft.ImportExport/locations/westus2']);
    const got = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations/westus');
    assert.deepEqual((got.body as { properties: { alternateLocations: string[] } }).properties.alternateLocations, [
      '/providers/Microsoft.ImportExport/locations/westus2',
    ]);
    const job = await createJob('closedsite');
    assert.equal(job.location, 'West US');
    assert.equal(job.properties.shippingInformation.city, 'Quincy');
    await ctl.openLocation('westus');
    const reopened = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/locations/westus');
    assert.deepEqual((reopened.body as { properties: { alternateLocations: string[] } }).properties.alternateLocations, [
      '/providers/Microsoft.ImportExport/locations/westus',
    ]);
    await assert.rejects(ctl.closeLocation('westus', ['atlantis']), (e: unknown) => e instanceof EmulatorControlError && e.status === 400 && /alternates\[0\]/.test(e.message));
  });

  void it('lists the six operations', async () => {
    const r = await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations');
    assert.equal((r.body as { value: unknown[] }).value.length, 6);
  });
});

void describe('Jobs_Create validation (each rejection names the field)', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['bad key', importJob({ drives: [drive(0), drive(1, { bitLockerKey: '1234' })] }), /^properties\.driveList\[1\]\.bitLockerKey: must be 8 groups of 6 digits/],
    ['missing key', importJob({ drives: [drive(0, { bitLockerKey: undefined })] }), /^properties\.driveList\[0\]\.bitLockerKey: is required/],
    ['missing driveId', importJob({ drives: [drive(0, { driveId: undefined })] }), /^properties\.driveList\[0\]\.driveId: is required/],
    ['missing manifestFile', importJob({ drives: [drive(0, { manifestFile: undefined })] }), /^properties\.driveList\[0\]\.manifestFile: is required/],
    ['bad hash', importJob({ drives: [drive(0, { manifestHash: 'XYZ' })] }), /^properties\.driveList\[0\]\.manifestHash: must be a hex MD5/],
    ['duplicate drive', importJob({ drives: [drive(0), drive(0)] }), /^properties\.driveList\[1\]\.driveId: duplicate/],
    ['no drives', importJob({ drives: [] }), /^properties\.driveList: must have at least 1 drive/],
    ['11 drives', importJob({ drives: Array.from({ length: 11 }, (_, i) => drive(i)) }), /^properties\.driveList: must have at most 10 drives/],
    ['export on import', importJob({ properties: { export: { blobListBlobPath: '/x' } } }), /^properties\.export: must not be set for an import job/],
    ['returnAddress.email missing', importJob({ properties: { returnAddress: { recipientName: 'a', streetAddress1: 'b', city: 'c', postalCode: 'd', countryOrRegion: 'e', phone: 'f' } } }), /^properties\.returnAddress\.email: is required/],
    ['returnAddress.city wrong type', importJob({ properties: { returnAddress: { recipientName: 'a', streetAddress1: 'b', city: 5, postalCode: 'd', countryOrRegion: 'e', phone: 'f', email: 'a@b.c' } } }), /^properties\.returnAddress\.city: must be a string/],
    ['returnShipping account missing', importJob({ properties: { returnShipping: { carrierName: 'FedEx' } } }), /^properties\.returnShipping\.carrierAccountNumber: is required/],
    ['deliveryPackage tracking missing', importJob({ properties: { deliveryPackage: { carrierName: 'FedEx' } } }), /^properties\.deliveryPackage\.trackingNumber: is required/],
    ['unsupported carrier', importJob({ properties: { deliveryPackage: { carrierName: 'DHL', trackingNumber: '1' } } }), /^properties\.deliveryPackage\.carrierName: carrier 'DHL' is not supported at West US/],
    ['unknown location', importJob({ location: 'Atlantis' }), /^location: 'Atlantis' is not an Import\/Export location/],
    ['bad jobType', importJob({ properties: { jobType: 'Copy' } }), /^properties\.jobType: must be 'Import' or 'Export'/],
    ['bad storage account', importJob({ properties: { storageAccountId: 'acct1' } }), /^properties\.storageAccountId: must be a storage account resource id/],
    ['bad logLevel', importJob({ properties: { logLevel: 'Debug' } }), /^properties\.logLevel: must be 'Error' or 'Verbose'/],
    ['backupDriveManifest type', importJob({ properties: { backupDriveManifest: 'yes' } }), /^properties\.backupDriveManifest: must be a boolean/],
    ['no properties', { location: 'westus' }, /^properties: is required/],
  ];
  for (const [label, body, re] of cases) {
    void it(`rejects: ${label}`, async () => {
      const r = await arm(emu, 'PUT', jobPath('valjob'), body);
      assert.equal(r.status, 400, r.text);
      assert.equal(err(r.body).code, 'InvalidParameter');
      assert.match(err(r.body).message, re);
      assert.ok(err(r.body).target);
    });
  }

  void it('rejects bad job names with InvalidResourceName', async () => {
    for (const name of ['ab', '1job', 'job.name', 'x'.repeat(65)]) {
      const r = await arm(emu, 'PUT', jobPath(name), importJob());
      assert.equal(r.status, 400, name);
      assert.equal(err(r.body).code, 'InvalidResourceName');
      assert.match(err(r.body).message, /^jobName: /);
    }
  });

  void it('accepts an export job without drives', async () => {
    const r = await arm(emu, 'PUT', jobPath('exportjob'), {
      location: 'West US',
      properties: {
        storageAccountId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/acct1`,
        jobType: 'Export',
        returnAddress: importJob().properties,
        export: { blobList: { blobPathPrefix: ['/'] } },
      },
    });
    // returnAddress above is deliberately wrong-shaped: the emulator names the missing fields
    assert.equal(r.status, 400);
    assert.match(err(r.body).message, /^properties\.returnAddress\.recipientName: is required/);
  });
});

void describe('job life cycle', () => {
  void it('creates (201) with service-filled fields, replaces in Creating (200), never returns bitLockerKey', async () => {
    const job = await createJob('lifejob');
    assert.equal(job.id, `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ImportExport/jobs/lifejob`);
    assert.equal(job.location, 'West US');
    assert.equal(job.properties.state, 'Creating');
    assert.equal(job.properties.cancelRequested, false);
    assert.equal(job.properties.shippingInformation.city, 'Santa Clara');
    assert.deepEqual(job.properties.driveList.map((d) => d.state), ['Specified', 'Specified']);
    assert.equal(containsKey(job, 'bitLockerKey'), false);
    assert.equal(job.systemData.createdByType, 'User');
    const replaced = await arm(emu, 'PUT', jobPath('lifejob'), importJob({ drives: [drive(5)] }));
    assert.equal(replaced.status, 200);
    assert.equal((replaced.body as Job).properties.driveList.length, 1);
    assert.equal((replaced.body as Job).systemData.createdAt, job.systemData.createdAt);
    const keys = await arm(emu, 'POST', `${jobPath('lifejob')}/listBitLockerKeys`);
    assert.deepEqual(keys.body, { value: [{ driveId: 'DRIVE5X', bitLockerKey: KEY2 }] });
    const got = await arm(emu, 'GET', jobPath('lifejob'));
    assert.equal(containsKey(got.body, 'bitLockerKey'), false);
  });

  void it('PATCH merges; state only Shipping, only from Creating, needing returnAddress and deliveryPackage', async () => {
    await createJob('shipjob', importJob({ properties: { returnAddress: undefined } }));
    const bad = await arm(emu, 'PATCH', jobPath('shipjob'), { properties: { state: 'Received' } });
    assert.equal(bad.status, 400);
    assert.match(err(bad.body).message, /^properties\.state: can only be set to 'Shipping'/);
    const noPkg = await arm(emu, 'PATCH', jobPath('shipjob'), { properties: { state: 'Shipping' } });
    assert.equal(noPkg.status, 400);
    assert.match(err(noPkg.body).message, /properties\.returnAddress: is required to set state to 'Shipping'.*properties\.deliveryPackage: is required/);
    const tags = await arm(emu, 'PATCH', jobPath('shipjob'), { tags: { team: 'ops' }, properties: { state: '', logLevel: 'Error' } });
    assert.equal(tags.status, 200);
    assert.equal((tags.body as Job).properties.state, 'Creating');
    const addr = await arm(emu, 'PATCH', jobPath('shipjob'), { properties: { returnAddress: importJob().properties } });
    assert.equal(addr.status, 400); // wrong shape is still validated
    const okAddr = await arm(emu, 'PATCH', jobPath('shipjob'), {
      properties: { returnAddress: (importJob().properties as Record<string, unknown>).returnAddress },
    });
    assert.equal(okAddr.status, 200);
    const shipped = await ship('shipjob');
    assert.equal(shipped.properties.state, 'Shipping');
    assert.deepEqual(shipped.properties.deliveryPackage, DELIVERY);
    assert.deepEqual((shipped as unknown as { tags: unknown }).tags, { team: 'ops' });
    const again = await arm(emu, 'PATCH', jobPath('shipjob'), { properties: { state: 'Shipping' } });
    assert.equal(again.status, 409);
    assert.match(err(again.body).message, /^properties\.state: /);
    const put = await arm(emu, 'PUT', jobPath('shipjob'), importJob());
    assert.equal(put.status, 409);
    const drives = await arm(emu, 'PATCH', jobPath('shipjob'), { properties: { driveList: [drive(3)] } });
    assert.equal(drives.status, 409);
    assert.match(err(drives.body).message, /^properties\.driveList: /);
  });

  void it('cancelRequested only true and only within the cancel window; delete only in Creating/Completed', async () => {
    await createJob('canceljob');
    const f = await arm(emu, 'PATCH', jobPath('canceljob'), { properties: { cancelRequested: false } });
    assert.equal(f.status, 400);
    assert.match(err(f.body).message, /^properties\.cancelRequested: can only be set to true/);
    const c = await arm(emu, 'PATCH', jobPath('canceljob'), { properties: { cancelRequested: true } });
    assert.equal(c.status, 200);
    assert.equal((c.body as Job).properties.cancelRequested, true);
    assert.equal((c.body as Job).properties.state, 'Creating');
    await createJob('shipped1');
    await ship('shipped1');
    const late = await arm(emu, 'PATCH', jobPath('shipped1'), { properties: { cancelRequested: true } });
    assert.equal(late.status, 409);
    assert.match(err(late.body).message, /^properties\.cancelRequested: .*'Shipping'/);
    const del = await arm(emu, 'DELETE', jobPath('shipped1'));
    assert.equal(del.status, 409);
    const delOk = await arm(emu, 'DELETE', jobPath('canceljob'));
    assert.equal(delOk.status, 200);
    assert.equal(delOk.text, '');
    const del404 = await arm(emu, 'DELETE', jobPath('canceljob'));
    assert.equal(del404.status, 404);
  });

  void it('a configurable cancel window allows cancelling while Shipping', async () => {
    const e2 = await startEmulator({ httpsPort: null, cancelWindow: ['Creating', 'Shipping', 'Transferring'] });
    try {
      const put = await arm(e2, 'PUT', jobPath('cwjob'), importJob());
      assert.equal(put.status, 201);
      await arm(e2, 'PATCH', jobPath('cwjob'), { properties: { state: 'Shipping', deliveryPackage: DELIVERY } });
      const c = await arm(e2, 'PATCH', jobPath('cwjob'), { properties: { cancelRequested: true } });
      assert.equal(c.status, 200, c.text);
    } finally {
      await e2.close();
    }
  });

  void it('advance moves job and drives forward through every stage; backwards → 409', async () => {
    await createJob('advjob');
    await assert.rejects(ctl.advance(SUB, RG, 'advjob', { to: 'Received' }), (e: unknown) => e instanceof EmulatorControlError && e.status === 409);
    await ship('advjob');
    const rec = await ctl.advance(SUB, RG, 'advjob', { to: 'Received', neverReceived: ['DRIVE1X'] });
    assert.equal(rec.properties.state, 'Received');
    assert.deepEqual(rec.properties.driveList?.map((d) => d.state), ['Received', 'NeverReceived']);
    const tr = await ctl.advance(SUB, RG, 'advjob', { to: 'Transferring', percentComplete: 40 });
    assert.equal(tr.properties.percentComplete, 40);
    const d0 = tr.properties.driveList?.[0];
    assert.equal(d0?.state, 'Transferring');
    assert.equal(d0?.copyStatus, 'InProgress');
    assert.equal(d0?.percentComplete, 40);
    assert.ok((d0?.bytesSucceeded ?? 0) > 0);
    assert.match(d0?.errorLogUri ?? '', /^https:\/\/acct1\.blob\.core\.windows\.net\/waimportexport\/waies\/advjob_DRIVE0X_\d{8}-\d{6}-\d{3}_error\.xml$/);
    assert.match(d0?.verboseLogUri ?? '', /_verbose\.xml$/);
    const more = await ctl.advance(SUB, RG, 'advjob', { to: 'Transferring', percentComplete: 70 });
    assert.equal(more.properties.percentComplete, 70);
    const done = await ctl.advance(SUB, RG, 'advjob', { to: 'Completed', driveStates: { DRIVE0X: 'CompletedMoreInfo' } });
    assert.equal(done.properties.state, 'Completed');
    assert.equal(done.properties.percentComplete, 100);
    assert.deepEqual(done.properties.driveList?.map((d) => d.state), ['CompletedMoreInfo', 'NeverReceived']);
    assert.equal(done.properties.returnPackage?.carrierName, 'FedEx');
    assert.match(done.properties.returnPackage?.trackingNumber ?? '', /^\d{12}$/);
    await assert.rejects(ctl.advance(SUB, RG, 'advjob', { to: 'Transferring' }), (e: unknown) => e instanceof EmulatorControlError && e.status === 409 && /backwards/.test(e.message));
    await assert.rejects(ctl.advance(SUB, RG, 'advjob', { to: 'Closed' }), (e: unknown) => e instanceof EmulatorControlError && e.status === 409);
    const got = await arm(emu, 'GET', jobPath('advjob'));
    assert.equal((got.body as Job).properties.state, 'Completed');
  });

  void it('PATCH driveList in Creating keeps stored keys of known drives; re-advancing a terminal job keeps its return package', async () => {
    await createJob('drvpatch');
    const r = await arm(emu, 'PATCH', jobPath('drvpatch'), { properties: { driveList: [{ driveId: 'DRIVE1X', manifestFile: '\\m.xml', manifestHash: 'AB'.repeat(16) }, drive(7)] } });
    assert.equal(r.status, 200, r.text);
    const keys = await arm(emu, 'POST', `${jobPath('drvpatch')}/listBitLockerKeys`);
    assert.deepEqual(keys.body, { value: [{ driveId: 'DRIVE1X', bitLockerKey: KEY2 }, { driveId: 'DRIVE7X', bitLockerKey: KEY2 }] });
    const unknown = await arm(emu, 'PATCH', jobPath('drvpatch'), { properties: { driveList: [{ driveId: 'NEWDRIVE', manifestFile: 'm', manifestHash: 'AB'.repeat(16) }] } });
    assert.equal(unknown.status, 400);
    assert.match(err(unknown.body).message, /^properties\.driveList\[0\]\.bitLockerKey: is required/);
    await ship('drvpatch');
    const done = await ctl.advance(SUB, RG, 'drvpatch', { to: 'Completed' });
    const again = await ctl.advance(SUB, RG, 'drvpatch', { to: 'Completed', driveStates: { DRIVE7X: 'CompletedMoreInfo' } });
    assert.deepEqual(again.properties.returnPackage, done.properties.returnPackage);
    assert.deepEqual(again.properties.driveList?.map((d) => d.state), ['ShippedBack', 'CompletedMoreInfo']);
  });

  void it('a jump Shipping → Closed fills in everything in between', async () => {
    await createJob('jumpjob');
    await ship('jumpjob');
    const closed = await ctl.advance(SUB, RG, 'jumpjob', { to: 'Closed' });
    assert.equal(closed.properties.state, 'Closed');
    assert.deepEqual(closed.properties.driveList?.map((d) => d.state), ['ShippedBack', 'ShippedBack']);
    assert.equal(closed.properties.driveList?.[0]?.copyStatus, 'Completed');
    assert.ok(closed.properties.driveList?.[0]?.errorLogUri);
    assert.equal(closed.properties.returnPackage?.driveCount, 2);
    const del = await arm(emu, 'DELETE', jobPath('jumpjob'));
    assert.equal(del.status, 409); // Closed is not deletable
  });
});

void describe('lists and paging', () => {
  void it('pages with $top and nextLink, filters with $filter, rejects $top > 100', async () => {
    for (let i = 0; i < 5; i++) await createJob(`page${i}`);
    await arm(emu, 'PUT', jobPath('otherrg', SUB, 'rg-other'), importJob());
    await ship('page2');
    const names: string[] = [];
    let next: string | undefined = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ImportExport/jobs?$top=2`;
    let pages = 0;
    while (next) {
      const r = await arm(emu, 'GET', next, undefined, { apiVersion: next.includes('api-version') ? null : API });
      assert.equal(r.status, 200, r.text);
      const b = r.body as { value: Job[]; nextLink?: string };
      assert.ok(b.value.length <= 2);
      names.push(...b.value.map((j) => j.name));
      if (b.nextLink) assert.match(b.nextLink, /^http:\/\/127\.0\.0\.1:\d+\/subscriptions\/.+\$skiptoken=/);
      next = b.nextLink;
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(names, ['page0', 'page1', 'page2', 'page3', 'page4']);
    const sub = await arm(emu, 'GET', `/subscriptions/${SUB}/providers/Microsoft.ImportExport/jobs`);
    assert.equal((sub.body as { value: Job[] }).value.length, 6);
    assert.equal((sub.body as { nextLink?: string }).nextLink, undefined);
    const filtered = await arm(emu, 'GET', `/subscriptions/${SUB}/providers/Microsoft.ImportExport/jobs?$filter=${encodeURIComponent("properties/state eq 'Shipping'")}`);
    assert.deepEqual((filtered.body as { value: Job[] }).value.map((j) => j.name), ['page2']);
    const badFilter = await arm(emu, 'GET', `/subscriptions/${SUB}/providers/Microsoft.ImportExport/jobs?$filter=${encodeURIComponent('state gt 1')}`);
    assert.equal(badFilter.status, 400);
    assert.match(err(badFilter.body).message, /^\$filter: /);
    const big = await arm(emu, 'GET', `/subscriptions/${SUB}/providers/Microsoft.ImportExport/jobs?$top=101`);
    assert.equal(big.status, 400);
    assert.match(err(big.body).message, /^\$top: .*cannot exceed 100/);
    const other = await arm(emu, 'GET', `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.ImportExport/jobs`);
    assert.deepEqual((other.body as { value: Job[] }).value, []);
  });
});

void describe('virtual clock and expiry', () => {
  void it('deletes Creating jobs after 14 days (PATCH resets the timer) and Completed jobs after 90 days', async () => {
    await createJob('stale');
    await createJob('touched');
    await createJob('shipped');
    await ship('shipped');
    await ctl.advanceClock(10 * 86400);
    await arm(emu, 'PATCH', jobPath('touched'), { tags: { keep: 'me' } });
    await ctl.advanceClock(5 * 86400);
    assert.equal((await arm(emu, 'GET', jobPath('stale'))).status, 404);
    assert.equal((await arm(emu, 'GET', jobPath('touched'))).status, 200);
    assert.equal((await arm(emu, 'GET', jobPath('shipped'))).status, 200);
    const done = await ctl.advance(SUB, RG, 'shipped', { to: 'Completed' });
    assert.equal(done.properties.state, 'Completed');
    const t0 = Date.parse(await ctl.clock());
    await ctl.advanceClock(89 * 86400);
    assert.ok(Date.parse(await ctl.clock()) - t0 >= 89 * 86400_000);
    assert.equal((await arm(emu, 'GET', jobPath('shipped'))).status, 200);
    await ctl.advanceClock(2 * 86400);
    assert.equal((await arm(emu, 'GET', jobPath('shipped'))).status, 404);
  });

  void it('systemData and ship dates use the virtual clock', async () => {
    await ctl.advanceClock(365 * 86400);
    const job = await createJob('future');
    assert.ok(Date.parse(job.systemData.createdAt ?? '') > Date.now() + 300 * 86400_000);
  });
});

void describe('request log and reset', () => {
  void it('logs Azure calls (not control calls) with operation ids and statuses', async () => {
    await createJob('logged');
    await arm(emu, 'GET', jobPath('logged'));
    await arm(emu, 'GET', jobPath('nope'));
    const reqs = await ctl.requests();
    assert.deepEqual(
      reqs.map((r) => [r.method, r.operation, r.status]),
      [
        ['PUT', 'Jobs_Create', 201],
        ['GET', 'Jobs_Get', 200],
        ['GET', 'Jobs_Get', 404],
      ],
    );
    assert.ok(reqs.every((r, i) => r.seq > (reqs[i - 1]?.seq ?? 0) && r.path.startsWith('/subscriptions/')));
    await ctl.clearRequests();
    assert.deepEqual(await ctl.requests(), []);
    await ctl.reset();
    assert.equal((await arm(emu, 'GET', jobPath('logged'))).status, 404);
  });

  void it('control API errors use the same envelope and name the field', async () => {
    const r = await control(emu, 'POST', `/jobs/${SUB}/${RG}/nojob/advance`, { to: 'Received' });
    assert.equal(r.status, 404);
    const bad = await control(emu, 'POST', '/faults', { operation: 'Jobs_Explode', kind: 'status', status: 500 });
    assert.equal(bad.status, 400);
    assert.match(err(bad.body).message, /^operation: must be/);
    const noStatus = await control(emu, 'POST', '/faults', { operation: 'Jobs_Get', kind: 'status' });
    assert.match(err(noStatus.body).message, /^status: is required/);
    const adv = await control(emu, 'POST', `/jobs/${SUB}/${RG}/x/advance`, { to: 'Sideways' });
    assert.equal(adv.status, 400);
    assert.match(err(adv.body).message, /^to: /);
  });
});

void describe('persistence', () => {
  void it('state (jobs, keys, locations, clock) survives a restart; the file is 0600 and written atomically', async () => {
    const e1 = await startEmulator({ httpsPort: null });
    const dataDir = e1.dataDir;
    const c1 = new EmulatorControl(e1.httpUrl);
    assert.equal((await arm(e1, 'PUT', jobPath('persist'), importJob())).status, 201);
    await arm(e1, 'PATCH', jobPath('persist'), { properties: { state: 'Shipping', deliveryPackage: DELIVERY } });
    await c1.closeLocation('eastus', ['centralus']);
    await c1.advanceClock(3600);
    await e1.close();
    const file = path.join(dataDir, 'state.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8').includes(KEY), 'the state file is the emulator database and holds the keys');

    const e2 = await startEmulator({ httpsPort: null, dataDir });
    try {
      const got = await arm(e2, 'GET', jobPath('persist'));
      assert.equal(got.status, 200);
      assert.equal((got.body as Job).properties.state, 'Shipping');
      const keys = await arm(e2, 'POST', `${jobPath('persist')}/listBitLockerKeys`);
      assert.equal((keys.body as { value: unknown[] }).value.length, 2);
      const loc = await arm(e2, 'GET', '/providers/Microsoft.ImportExport/locations/eastus');
      assert.deepEqual((loc.body as { properties: { alternateLocations: string[] } }).properties.alternateLocations, [
        '/providers/Microsoft.ImportExport/locations/centralus',
      ]);
      const now = Date.parse(await new EmulatorControl(e2.httpUrl).clock());
      assert.ok(now - Date.now() > 3500_000);
    } finally {
      await e2.close();
    }
  });
});

void describe('configuration', () => {
  void it('loads the location catalogue from a file; closed sites ship to their open alternate', async () => {
    const e = await startEmulator({ httpsPort: null, locationsFile: path.join(__dirname, 'fixtures', 'emulator', 'locations-small.json') });
    try {
      const list = await arm(e, 'GET', '/providers/Microsoft.ImportExport/locations');
      assert.deepEqual((list.body as { value: Array<{ name: string }> }).value.map((l) => l.name), ['Test North', 'Test South']);
      const south = await arm(e, 'GET', '/providers/Microsoft.ImportExport/locations/testsouth');
      assert.deepEqual((south.body as { properties: { alternateLocations: string[] } }).properties.alternateLocations, [
        '/providers/Microsoft.ImportExport/locations/testnorth',
      ]);
      const job = await arm(e, 'PUT', jobPath('southjob'), importJob({ location: 'Test South' }));
      assert.equal(job.status, 201, job.text);
      assert.equal((job.body as Job).location, 'Test South');
      assert.equal((job.body as Job).properties.shippingInformation.city, 'Northtown');
      // carriers are those of the site the drives go to
      const bad = await arm(e, 'PATCH', jobPath('southjob'), { properties: { deliveryPackage: { carrierName: 'FedEx', trackingNumber: '1' } } });
      assert.equal(bad.status, 400);
      assert.match(err(bad.body).message, /^properties\.deliveryPackage\.carrierName: carrier 'FedEx' is not supported at Test North/);
    } finally {
      await e.close();
    }
  });

  void it('rejects an unknown cancel-window state and a broken locations file', async () => {
    await assert.rejects(startEmulator({ httpsPort: null, cancelWindow: ['Shipping', 'Lost'] }), /cancelWindow: unknown job state 'Lost'/);
    await assert.rejects(startEmulator({ httpsPort: null, locationsFile: path.join(__dirname, 'fixtures', 'emulator', 'helpers.ts') }), /./);
  });

  void it('close() returns promptly while a delayed response is pending', async () => {
    const e = await startEmulator({ httpsPort: null });
    await new EmulatorControl(e.httpUrl).addFault({ operation: '*', kind: 'delay', delayMs: 10_000 });
    const pending = arm(e, 'GET', '/providers/Microsoft.ImportExport/locations').catch((x: unknown) => x);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await e.close();
    assert.ok(Date.now() - t0 < 2000);
    const outcome = await pending;
    assert.ok(outcome instanceof Error || (outcome as { status: number }).status === 200);
  });
});
