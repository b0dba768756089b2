/**
 * Microsoft.DataBox on the emulator: transport rules, validation naming the field, long-running operations, the
 * customer-disk status machine, expiry on the virtual clock, regions and sku availability, faults and persistence.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { EmulatorControl, EmulatorControlError, type DataBoxEmulatorJob } from '../emulator/control-client';
import { arm, control, type ArmResponse, type ErrorEnvelope } from './fixtures/emulator/helpers';
import { DB_API, DB_KEY, DB_KEY2, customerDiskJob, dataBoxJobPath } from './fixtures/emulator/databox';

const SUB = '33333333-4444-5555-6666-777777777777';
const RG = 'rg-databox';
const DAY = 86_400;

type Body = Record<string, unknown>;
interface JobBody {
  name: string;
  properties: { status: string; isCancellable: boolean; isDeletable: boolean; isShippingAddressEditable: boolean; cancellationReason?: string; details?: DataBoxEmulatorJob['properties']['details'] };
}

void describe('Microsoft.DataBox emulation', () => {
  let emu: RunningEmulator;
  let ctl: EmulatorControl;
  const path = (name: string) => dataBoxJobPath(name, SUB, RG);
  const call = (method: string, p: string, body?: unknown, opts: { apiVersion?: string | null; auth?: string | null } = {}) => arm(emu, method, p, body, { apiVersion: DB_API, ...opts });
  const job = (over: Parameters<typeof customerDiskJob>[0] = {}) => customerDiskJob({ sub: SUB, ...over });
  const create = async (name: string, body: Body = job()) => {
    const res = await call('PUT', path(name), body);
    assert.ok(res.status === 200 || res.status === 202, res.text);
    return res;
  };
  const get = async (name: string): Promise<JobBody> => {
    const res = await call('GET', `${path(name)}?$expand=details`);
    assert.equal(res.status, 200, res.text);
    return res.body as JobBody;
  };
  const ship = (name: string, trackingId = '787895108176', carrierName = 'FedEx') => call('POST', `${path(name)}/markDevicesShipped`, { deliverToDcPackageDetails: { carrierName, trackingId } });
  const errorOf = (res: ArmResponse) => (res.body as ErrorEnvelope).error;
  const withField = (res: ArmResponse, status: number, field: string) => {
    assert.equal(res.status, status, res.text);
    const e = errorOf(res);
    assert.equal(e.target, field, res.text);
    assert.ok(e.message.startsWith(`${field}: `), `message names ${field}: ${e.message}`);
  };

  before(async () => {
    emu = await startEmulator({ httpsPort: null });
    ctl = new EmulatorControl(emu.httpUrl);
  });
  beforeEach(async () => {
    await ctl.reset();
    await ctl.dataBoxSetLro({ mode: 'sync' });
  });
  after(async () => {
    await emu.close();
  });

  void describe('transport', () => {
    void it('needs a bearer token and a Data Box api-version', async () => {
      assert.equal(errorOf(await call('GET', path('j1'), undefined, { auth: null })).code, 'AuthenticationFailed');
      assert.equal(errorOf(await call('GET', path('j1'), undefined, { auth: 'Basic abc' })).code, 'InvalidAuthenticationToken');
      const missing = await call('GET', path('j1'), undefined, { apiVersion: null });
      assert.equal(missing.status, 400);
      assert.equal(errorOf(missing).code, 'MissingApiVersionParameter');
      const ie = await call('GET', path('j1'), undefined, { apiVersion: '2021-01-01' });
      assert.equal(errorOf(ie).code, 'InvalidApiVersionParameter');
      assert.match(errorOf(ie).message, /2025-02-01,2022-12-01,2025-07-01/);
      for (const v of ['2022-12-01', '2025-02-01', '2025-07-01']) assert.equal((await call('GET', path('nope'), undefined, { apiVersion: v })).status, 404);
      // and the Data Box version is refused on the Import/Export API
      const other = await call('GET', `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ImportExport/jobs/j1`);
      assert.equal(errorOf(other).code, 'InvalidApiVersionParameter');
    });

    void it('unknown paths, wrong methods and resource groups answer as ARM does', async () => {
      const unknown = await call('GET', `/subscriptions/${SUB}/providers/Microsoft.DataBox/widgets`);
      assert.equal(unknown.status, 404);
      assert.match(errorOf(unknown).message, /namespace 'Microsoft.DataBox'/);
      assert.equal((await call('POST', path('j1'))).status, 405);
      assert.equal((await call('PUT', `${path('j1')}/cancel`)).status, 405);
      assert.equal(errorOf(await call('GET', dataBoxJobPath('j1', SUB, 'bad.'))).code, 'ResourceGroupNotFound');
      const mixedCase = await call('GET', `/SUBSCRIPTIONS/${SUB}/resourcegroups/${RG}/PROVIDERS/microsoft.databox/JOBS`);
      assert.equal(mixedCase.status, 200, 'path segments match case-insensitively');
      const ops = await call('GET', '/providers/Microsoft.DataBox/operations');
      assert.ok((ops.body as { value: Array<{ name: string }> }).value.some((o) => o.name === 'Microsoft.DataBox/jobs/markDevicesShipped/action'));
    });
  });

  void describe('Jobs_Create validation (each rejection names the field)', () => {
    const details = (b: Body) => ((b.properties as Body).details as Body);
    const cases: Array<[string, (b: Body) => void, string]> = [
      ['contact details missing', (b) => delete details(b).contactDetails, 'properties.details.contactDetails'],
      ['no email', (b) => ((details(b).contactDetails as Body).emailList = []), 'properties.details.contactDetails.emailList'],
      ['bad email', (b) => ((details(b).contactDetails as Body).emailList = ['nope']), 'properties.details.contactDetails.emailList[0]'],
      ['contact name empty', (b) => ((details(b).contactDetails as Body).contactName = ' '), 'properties.details.contactDetails.contactName'],
      ['return carrier missing', (b) => delete details(b).returnToCustomerPackageDetails, 'properties.details.returnToCustomerPackageDetails'],
      ['return carrier not served', (b) => ((details(b).returnToCustomerPackageDetails as Body).carrierName = 'PigeonPost'), 'properties.details.returnToCustomerPackageDetails.carrierName'],
      ['carrier account missing', (b) => delete (details(b).returnToCustomerPackageDetails as Body).carrierAccountNumber, 'properties.details.returnToCustomerPackageDetails.carrierAccountNumber'],
      ['no disks', (b) => (details(b).importDiskDetailsCollection = {}), 'properties.details.importDiskDetailsCollection'],
      ['serial with a space', (b) => (details(b).importDiskDetailsCollection = { 'AB CD': { manifestFile: 'm', manifestHash: '109B21108597EF36D5785F08303F3638', bitLockerKey: DB_KEY } }), 'properties.details.importDiskDetailsCollection.AB CD'],
      [
        'duplicate serial ignoring case',
        (b) => (details(b).importDiskDetailsCollection = Object.fromEntries(['DISK1', 'disk1'].map((s) => [s, { manifestFile: 'm', manifestHash: '109B21108597EF36D5785F08303F3638', bitLockerKey: DB_KEY }]))),
        'properties.details.importDiskDetailsCollection.disk1',
      ],
      ['BitLocker key not 8x6 digits', (b) => (((details(b).importDiskDetailsCollection as Body)['9CA995BB'] as Body).bitLockerKey = '1234-5678'), 'properties.details.importDiskDetailsCollection.9CA995BB.bitLockerKey'],
      [
        'BitLocker group not a multiple of 11',
        (b) => (((details(b).importDiskDetailsCollection as Body)['9CA995BB'] as Body).bitLockerKey = '111111-222222-333333-444444-555555-666666-777777-888888'),
        'properties.details.importDiskDetailsCollection.9CA995BB.bitLockerKey',
      ],
      ['manifest hash not MD5 hex', (b) => (((details(b).importDiskDetailsCollection as Body)['9CA995BB'] as Body).manifestHash = 'ABC'), 'properties.details.importDiskDetailsCollection.9CA995BB.manifestHash'],
      ['manifest file missing', (b) => delete ((details(b).importDiskDetailsCollection as Body)['9CA995BB'] as Body).manifestFile, 'properties.details.importDiskDetailsCollection.9CA995BB.manifestFile'],
      ['return address missing', (b) => delete details(b).shippingAddress, 'properties.details.shippingAddress'],
      ['return address without country', (b) => delete (details(b).shippingAddress as Body).country, 'properties.details.shippingAddress.country'],
      ['storage account id malformed', (b) => (((details(b).dataImportDetails as Body[])[0] as Body).accountDetails = { dataAccountType: 'StorageAccount', storageAccountId: 'acct1' }), 'properties.details.dataImportDetails[0].accountDetails.storageAccountId'],
      ['no storage account', (b) => delete details(b).dataImportDetails, 'properties.details.dataImportDetails'],
      [
        'upper-case storage account name',
        (b) => (((details(b).dataImportDetails as Body[])[0] as Body).accountDetails = { dataAccountType: 'StorageAccount', storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/MyAccount` }),
        'properties.details.dataImportDetails[0].accountDetails.storageAccountId',
      ],
      ['bidi override in the return address', (b) => ((details(b).shippingAddress as Body).streetAddress1 = '1 Main St \u202e'), 'properties.details.shippingAddress.streetAddress1'],
      ['control character in the contact name', (b) => ((details(b).contactDetails as Body).contactName = 'Ops\u0007'), 'properties.details.contactDetails.contactName'],
      ['export with customer disks', (b) => ((b.properties as Body).transferType = 'ExportFromAzure'), 'properties.transferType'],
      ['details type differs from sku', (b) => (details(b).jobDetailsType = 'DataBoxDisk'), 'properties.details.jobDetailsType'],
      ['unknown sku', (b) => ((b.sku as Body).name = 'DataBoxUltra'), 'sku.name'],
      ['unknown region', (b) => (b.location = 'marsnorth'), 'location'],
      ['location missing', (b) => delete b.location, 'location'],
      ['transfer type missing', (b) => delete (b.properties as Body).transferType, 'properties.transferType'],
    ];
    for (const [label, mutate, field] of cases) {
      void it(`${label} → 400 naming ${field}`, async () => {
        const body = job();
        mutate(body);
        const res = await call('PUT', path('cdjob1'), body);
        withField(res, 400, field);
        assert.equal(errorOf(res).code, 'InvalidParameter');
        assert.ok(!res.text.includes(DB_KEY) && !res.text.includes('111111-222222'), 'no key in the error');
        assert.equal((await call('GET', path('cdjob1'))).status, 404, 'nothing stored');
      });
    }

    void it('a __proto__ key is refused by name, not dropped', async () => {
      const raw = JSON.stringify(job()).replace('"9CA995BB":', '"__proto__":{"manifestFile":"m","manifestHash":"109B21108597EF36D5785F08303F3638","bitLockerKey":"000011-000022-000033-000044-000055-000066-000077-000088"},"9CA995BB":');
      const res = await arm(emu, 'PUT', path('proto1'), undefined, { apiVersion: DB_API, rawBody: raw });
      withField(res, 400, 'properties.details.importDiskDetailsCollection.__proto__');
    });

    void it('every problem is listed; job names follow the swagger rule', async () => {
      const body = job();
      delete (((body.properties as Body).details as Body).contactDetails as Body).phone;
      delete ((((body.properties as Body).details as Body).importDiskDetailsCollection as Body)['9CA995BB'] as Body).manifestFile;
      const res = await call('PUT', path('cdjob1'), body);
      const e = (res.body as { error: { details: Array<{ message: string }> } }).error;
      assert.equal(e.details.length, 2, res.text);
      for (const name of ['ab', 'x'.repeat(25), 'bad!name']) {
        const r = await call('PUT', path(encodeURIComponent(name)), job());
        withField(r, 400, 'jobName');
        assert.equal(errorOf(r).code, 'InvalidResourceName');
      }
      await create('a.b-c_d');
      await create('x'.repeat(24));
    });

    void it('a second PUT of the same name is a conflict; a valid job gets the region datacenter', async () => {
      await create('cdjob1');
      assert.equal((await call('PUT', path('cdjob1'), job())).status, 409);
      const j = await get('cdjob1');
      assert.equal(j.properties.status, 'AwaitingShipmentDetails');
      assert.deepEqual([j.properties.isCancellable, j.properties.isDeletable, j.properties.isShippingAddressEditable], [true, false, true]);
      const a = j.properties.details?.datacenterAddress;
      assert.equal(a?.datacenterAddressType, 'DatacenterAddressLocation');
      assert.deepEqual(a?.supportedCarriersForReturnShipment, ['FedEx', 'UPS', 'DHL']);
      const plain = await call('GET', path('cdjob1'));
      assert.equal((plain.body as JobBody).properties.details, undefined, 'details only with $expand=details');
    });
  });

  void describe('long-running operations', () => {
    void it('202 + Location + Retry-After, polled N times, then the job; repeat polls answer the same', async () => {
      await ctl.dataBoxSetLro({ mode: 'async', polls: 3, retryAfterSeconds: 7, operations: ['Jobs_Create'] });
      const res = await call('PUT', path('lro1'), job());
      assert.equal(res.status, 202);
      assert.equal(res.text, '');
      assert.equal(res.headers.get('retry-after'), '7');
      const location = res.headers.get('location') ?? '';
      assert.match(location, new RegExp(`^${emu.httpUrl}/subscriptions/${SUB}/providers/Microsoft.DataBox/locations/westus/operationResults/[0-9a-f-]+\\?api-version=${DB_API}$`));
      for (let i = 0; i < 3; i++) {
        const poll = await arm(emu, 'GET', location, undefined, { apiVersion: null });
        assert.equal(poll.status, 202);
        assert.equal(poll.headers.get('location'), location);
      }
      const final = await arm(emu, 'GET', location, undefined, { apiVersion: null });
      assert.equal(final.status, 200);
      assert.equal((final.body as JobBody).name, 'lro1');
      assert.ok((final.body as JobBody).properties.details, 'the final body is the job with details');
      assert.equal((await arm(emu, 'GET', location, undefined, { apiVersion: null })).status, 200);
      assert.equal((await arm(emu, 'GET', location, undefined, { apiVersion: null, auth: null })).status, 401);
      assert.equal((await arm(emu, 'GET', location.replace(/operationResults\/[^?]+/, 'operationResults/nope'), undefined, { apiVersion: null })).status, 404);
    });

    void it('create at once (200), or a bare 202; update and delete are long-running too', async () => {
      assert.equal((await call('PUT', path('sync1'), job())).status, 200);
      await ctl.dataBoxSetLro({ mode: 'async-no-location', operations: ['Jobs_Create'] });
      const bare = await call('PUT', path('bare1'), job());
      assert.equal(bare.status, 202);
      assert.equal(bare.headers.get('location'), null);
      assert.equal((await get('bare1')).properties.status, 'AwaitingShipmentDetails', 'the job is readable at once');
      await ctl.dataBoxSetLro({ mode: 'async', polls: 0, retryAfterSeconds: 1 });
      const patch = await call('PATCH', path('sync1'), { tags: { a: 'b' }, properties: { details: { contactDetails: { contactName: 'New', phone: '1', emailList: ['n@contoso.com'] } } } });
      assert.equal(patch.status, 202);
      const patched = await arm(emu, 'GET', patch.headers.get('location') ?? '', undefined, { apiVersion: null });
      assert.equal(patched.status, 200);
      assert.deepEqual((patched.body as { tags: unknown }).tags, { a: 'b' });
      assert.equal((await call('POST', `${path('sync1')}/cancel`, { reason: 'done testing' })).status, 204);
      const del = await call('DELETE', path('sync1'));
      assert.equal(del.status, 202);
      assert.equal((await arm(emu, 'GET', del.headers.get('location') ?? '', undefined, { apiVersion: null })).status, 204);
      assert.equal((await call('GET', path('sync1'))).status, 404);
      assert.equal((await call('DELETE', path('sync1'))).status, 204, 'deleting what is gone is done');
      await ctl.dataBoxSetLro({ mode: 'sync' });
      assert.equal((await call('POST', `${path('bare1')}/cancel`, { reason: 'x' })).status, 204);
      assert.equal((await call('DELETE', path('bare1'))).status, 200);
      const settings = await ctl.dataBoxSettings();
      assert.deepEqual(settings.lro.Jobs_Create, { mode: 'sync', polls: 0, retryAfterSeconds: 1 });
      await assert.rejects(ctl.dataBoxSetLro({ polls: -1 }), (e: unknown) => e instanceof EmulatorControlError && e.status === 400 && /lro\.polls/.test(e.message));
    });
  });

  void describe('customer-disk status machine', () => {
    void it('ship → Delivered → AtAzureDC → DataCopy → … → Completed with per-disk progress, logs and return package', async () => {
      await create('flow1', job({ disks: ['DISKA1', 'DISKB2'] }));
      await assert.rejects(ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'AtAzureDC' }), (e: unknown) => e instanceof EmulatorControlError && e.status === 409 && /markDevicesShipped/.test(e.message));
      assert.equal((await ship('flow1')).status, 204);
      assert.equal((await ship('flow1')).status, 204, 'the same shipment again is a no-op');
      assert.equal((await ship('flow1', '111111111111')).status, 409, 'a different shipment is refused');
      let j = await get('flow1');
      assert.equal(j.properties.status, 'ShippedToAzureDC');
      assert.equal(j.properties.isCancellable, false);
      assert.deepEqual(j.properties.details?.deliverToDcPackageDetails, { carrierName: 'FedEx', trackingId: '787895108176' });
      assert.deepEqual(j.properties.details?.copyProgress, []);
      const delivered = await ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'Delivered' });
      assert.equal(delivered.properties.status, 'Delivered');
      await ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'AtAzureDC' });
      j = await get('flow1');
      assert.deepEqual(j.properties.details?.copyProgress.map((p) => [p.serialNumber, p.copyStatus]), [['DISKA1', 'NotStarted'], ['DISKB2', 'NotStarted']]);
      assert.deepEqual(j.properties.details?.copyLogDetails, []);
      await ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'DataCopy', percentComplete: 25 });
      await ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'DataCopy', percentComplete: 60, disks: { DISKB2: { filesErroredOut: 1 } } });
      j = await get('flow1');
      const progress = j.properties.details?.copyProgress ?? [];
      assert.deepEqual(progress.map((p) => [p.serialNumber, p.copyStatus, p.bytesProcessed, p.totalBytesToProcess, p.filesErroredOut]), [
        ['DISKA1', 'InProgress', 600_000_000_000, 1_000_000_000_000, 0],
        ['DISKB2', 'InProgress', 600_000_000_000, 1_000_000_000_000, 1],
      ]);
      const logs = j.properties.details?.copyLogDetails ?? [];
      assert.deepEqual(logs.map((l) => l.serialNumber), ['DISKA1', 'DISKB2']);
      assert.match(logs[0]?.errorLogLink ?? '', /^https:\/\/acct1\.blob\.core\.windows\.net\/databoxcopylog\/flow1_DISKA1_CopyLog_[0-9a-f-]+\.xml$/);
      assert.match(logs[0]?.verboseLogLink ?? '', /_VerboseLog_/);
      const stage = (name: string) => j.properties.details?.jobStages.find((s) => s.stageName === name)?.stageStatus;
      assert.deepEqual([stage('AtAzureDC'), stage('DataCopy'), stage('ShippedToCustomer')], ['Succeeded', 'InProgress', 'None']);
      assert.equal(j.properties.isShippingAddressEditable, true);
      await ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'PreparingToShipFromAzureDC' });
      const late = await call('PATCH', path('flow1'), { properties: { details: { shippingAddress: { streetAddress1: '2 Elm St', country: 'US' } } } });
      withField(late, 409, 'properties.details.shippingAddress');
      assert.equal((await call('PATCH', path('flow1'), { properties: { details: { contactDetails: { contactName: 'Late', phone: '1', emailList: ['l@contoso.com'] } } } })).status, 200);
      assert.equal((await call('DELETE', path('flow1'))).status, 409, 'not deletable while running');
      const done = await ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'Completed' });
      assert.equal(done.properties.status, 'Completed');
      assert.deepEqual(done.properties.details.copyProgress.map((p) => [p.copyStatus, p.bytesProcessed]), [['Completed', 1_000_000_000_000], ['Completed', 1_000_000_000_000]]);
      assert.equal(done.properties.details.returnPackage.carrierName, 'FedEx');
      assert.match(done.properties.details.returnPackage.trackingId, /^\d{12}$/);
      assert.deepEqual(done.properties.details.jobStages.map((s) => `${s.stageName}:${s.stageStatus}`).slice(-3), ['PreparingToShipFromAzureDC:Succeeded', 'ShippedToCustomer:Succeeded', 'Completed:Succeeded']);
      assert.deepEqual([done.properties.isCancellable, done.properties.isDeletable], [false, true]);
      await assert.rejects(ctl.dataBoxAdvance(SUB, RG, 'flow1', { to: 'CompletedWithErrors' }), (e: unknown) => e instanceof EmulatorControlError && e.status === 409);
      assert.equal((await ship('flow1')).status, 204, 'the same shipment after completion is still a no-op');
      assert.equal((await call('DELETE', path('flow1'))).status, 200);
    });

    void it('CompletedWithErrors / CompletedWithWarnings / Failed carry per-disk results', async () => {
      for (const [name, to, first] of [
        ['err1', 'CompletedWithErrors', 'CompletedWithErrors'],
        ['warn1', 'CompletedWithWarnings', 'Completed'],
        ['fail1', 'Failed_IssueDetectedAtAzureDC', 'Failed'],
      ] as const) {
        await create(name, job({ disks: ['D1', 'D2'], verbose: false }));
        assert.equal((await ship(name)).status, 204);
        const r = await ctl.dataBoxAdvance(SUB, RG, name, { to, disks: { D2: { copyStatus: 'DriveCorrupted', error: { code: 'DriveCorrupted', message: 'The disk is damaged.' } } } });
        assert.equal(r.properties.status, to);
        assert.deepEqual(r.properties.details.copyProgress.map((p) => p.copyStatus), [first, 'DriveCorrupted']);
        assert.equal(r.properties.details.copyProgress[1]?.error?.code, 'DriveCorrupted');
        assert.equal(r.properties.details.copyLogDetails[0]?.verboseLogLink, undefined, 'no verbose log unless Verbose was asked for');
        if (to === 'CompletedWithWarnings') assert.equal(r.properties.details.copyProgress[0]?.renamedContainerCount, 1);
        if (to === 'CompletedWithErrors') assert.equal(r.properties.details.copyProgress[0]?.filesErroredOut, 3);
        const last = r.properties.details.jobStages.at(-1);
        assert.equal(last?.stageName, to);
      }
    });

    void it('cancel honours isCancellable and keeps the reason; unknown disks are refused by the control API', async () => {
      await create('c1job');
      await create('c2job');
      assert.equal((await ship('c2job')).status, 204);
      withField(await call('POST', `${path('c1job')}/cancel`, {}), 400, 'reason');
      assert.equal((await call('POST', `${path('c1job')}/cancel`, { reason: 'wrong disks' })).status, 204);
      const c1 = await get('c1job');
      assert.deepEqual([c1.properties.status, c1.properties.cancellationReason, c1.properties.isDeletable, c1.properties.isCancellable], ['Cancelled', 'wrong disks', true, false]);
      assert.deepEqual(c1.properties.details?.jobStages.map((s) => s.stageName), ['Created', 'Cancelled']);
      assert.equal((await call('POST', `${path('c1job')}/cancel`, { reason: 'again' })).status, 409);
      const refused = await call('POST', `${path('c2job')}/cancel`, { reason: 'too late' });
      assert.equal(refused.status, 409);
      assert.match(errorOf(refused).message, /ShippedToAzureDC.*isCancellable is false/);
      assert.equal((await ship('c1job', '999')).status, 409, 'a cancelled job cannot be shipped');
      await assert.rejects(ctl.dataBoxAdvance(SUB, RG, 'c2job', { to: 'AtAzureDC', disks: { NOPE: { copyStatus: 'Completed' } } }), (e: unknown) => e instanceof EmulatorControlError && e.status === 400 && /disks\.NOPE/.test(e.message));
    });

    void it('listCredentials returns the disk keys and the carrier account; job reads never do', async () => {
      await create('k1job', job({ disks: ['D1', 'D2'] }));
      const creds = await call('POST', `${path('k1job')}/listCredentials`);
      assert.deepEqual(creds.body, {
        value: [{ jobName: 'k1job', jobSecrets: { jobSecretsType: 'DataBoxCustomerDisk', diskSecrets: [{ diskSerialNumber: 'D1', bitLockerKey: DB_KEY }, { diskSerialNumber: 'D2', bitLockerKey: DB_KEY2 }], carrierAccountNumber: '123456789', dcAccessSecurityCode: {} } }],
      });
      for (const p of [`${path('k1job')}?$expand=details`, `/subscriptions/${SUB}/providers/Microsoft.DataBox/jobs?$expand=details`]) {
        const r = await call('GET', p);
        assert.ok(!r.text.includes(DB_KEY) && !r.text.includes('123456789'), `${p} leaks a secret`);
      }
    });

    void it('lists page with nextLink and $skipToken', async () => {
      for (let i = 0; i < 53; i++) await create(`page${String(i).padStart(2, '0')}`);
      const first = await call('GET', `/subscriptions/${SUB}/providers/Microsoft.DataBox/jobs`);
      const b1 = first.body as { value: Array<{ name: string }>; nextLink: string };
      assert.equal(b1.value.length, 50);
      assert.match(b1.nextLink, /\$skipToken=/);
      const second = await arm(emu, 'GET', b1.nextLink, undefined, { apiVersion: null });
      assert.deepEqual((second.body as { value: Array<{ name: string }> }).value.map((j) => j.name), ['page50', 'page51', 'page52']);
      assert.equal((await call('GET', `/subscriptions/${SUB}/resourceGroups/other/providers/Microsoft.DataBox/jobs`)).text, '{"value":[]}');
      withField(await call('GET', `/subscriptions/${SUB}/providers/Microsoft.DataBox/jobs?$skipToken=zzz`), 400, '$skipToken');
    });
  });

  void describe('expiry on the virtual clock', () => {
    void it('14 days without shipping information: auto-cancel (default) or delete; shipped jobs stay; 90-day retention', async () => {
      await create('old1');
      await create('kept1');
      assert.equal((await ship('kept1')).status, 204);
      await ctl.advanceClock(13 * DAY);
      assert.equal((await get('old1')).properties.status, 'AwaitingShipmentDetails');
      await ctl.advanceClock(DAY);
      const old = await get('old1');
      assert.deepEqual([old.properties.status, old.properties.cancellationReason], ['Cancelled', 'Old job which is still in ordered state cancelled by the service']);
      assert.equal((await get('kept1')).properties.status, 'ShippedToAzureDC');
      await ctl.advanceClock(90 * DAY);
      assert.equal((await call('GET', path('old1'))).status, 404, 'deleted 90 days after it was cancelled');
      assert.equal((await get('kept1')).properties.status, 'ShippedToAzureDC');

      await ctl.dataBoxSetExpiry('delete');
      await create('old2');
      await ctl.advanceClock(14 * DAY);
      assert.equal((await call('GET', path('old2'))).status, 404);
    });
  });

  void describe('regions, datacenter addresses and sku availability', () => {
    const regionConfig = (storageLocation: string) =>
      call('POST', `/subscriptions/${SUB}/providers/Microsoft.DataBox/locations/${storageLocation}/regionConfiguration`, { datacenterAddressRequest: { storageLocation, skuName: 'DataBoxCustomerDisk' } });
    const skuEnabled = async (location: string) => {
      const r = await call('POST', `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DataBox/locations/${location}/availableSkus`, { transferType: 'ImportToAzure', country: 'US', location, skuNames: ['DataBoxCustomerDisk'] });
      return (r.body as { value: Array<{ enabled: boolean }> }).value[0]?.enabled;
    };
    const validateSku = async (location: string) => {
      const r = await call('POST', `/subscriptions/${SUB}/providers/Microsoft.DataBox/locations/${location}/validateInputs`, {
        validationCategory: 'JobCreationValidation',
        individualRequestDetails: [{ validationType: 'ValidateSkuAvailability', deviceType: 'DataBoxCustomerDisk', transferType: 'ImportToAzure', country: 'US', location }],
      });
      return (r.body as { properties: { status: string } }).properties.status;
    };

    void it('an address, an instruction only, another region datacenter, or unavailable', async () => {
      const west = (await regionConfig('westus')).body as { datacenterAddressResponse: Record<string, unknown> };
      assert.equal(west.datacenterAddressResponse.datacenterAddressType, 'DatacenterAddressLocation');
      assert.equal(west.datacenterAddressResponse.city, 'Santa Clara');
      const sea = (await regionConfig('southeastasia')).body as { datacenterAddressResponse: Record<string, unknown> };
      assert.equal(sea.datacenterAddressResponse.datacenterAddressType, 'DatacenterAddressInstruction');
      assert.match(String(sea.datacenterAddressResponse.communicationInstruction), /adbops@microsoft\.com/);
      assert.equal(sea.datacenterAddressResponse.street1, undefined);
      const central = (await regionConfig('centralus')).body as { datacenterAddressResponse: Record<string, unknown> };
      assert.equal(central.datacenterAddressResponse.dataCenterAzureLocation, 'eastus');
      const brazil = await regionConfig('brazilsouth');
      withField(brazil, 400, 'datacenterAddressRequest.skuName');
      assert.equal(errorOf(brazil).code, 'SkuNotAvailable');
      assert.equal(await skuEnabled('brazilsouth'), false);
      assert.equal(await validateSku('brazilsouth'), 'InputsRevisitRequired');
      withField(await call('PUT', path('br1'), job({ location: 'brazilsouth', carrier: 'DHL' })), 400, 'sku.name');
      await create('sea1', job({ location: 'southeastasia', carrier: 'DHL' }));
      assert.equal((await get('sea1')).properties.details?.datacenterAddress.datacenterAddressType, 'DatacenterAddressInstruction');
    });

    void it('the control API closes and reopens the sku per region and changes addresses', async () => {
      assert.equal(await skuEnabled('westus'), true);
      await ctl.dataBoxSetSkuAvailable('westus', false);
      assert.equal(await skuEnabled('westus'), false);
      assert.equal(await validateSku('westus'), 'InputsRevisitRequired');
      const refused = await call('PUT', path('w1job'), job());
      withField(refused, 400, 'sku.name');
      assert.equal(errorOf(refused).code, 'SkuNotAvailable');
      await ctl.dataBoxSetSkuAvailable('westus', true);
      assert.equal(await validateSku('westus'), 'AllValidToProceed');
      await create('w1job');
      const region = await ctl.dataBoxSetRegion('westus', { instruction: 'Call the dock first.' });
      assert.equal(region.datacenterAddress.datacenterAddressType, 'DatacenterAddressInstruction');
      await create('w2job');
      assert.equal((await get('w2job')).properties.details?.datacenterAddress.datacenterAddressType, 'DatacenterAddressInstruction');
      assert.equal((await get('w1job')).properties.details?.datacenterAddress.datacenterAddressType, 'DatacenterAddressLocation', 'an existing job keeps its address');
      const moved = await ctl.dataBoxSetJobDatacenterAddress(SUB, RG, 'w1job', {
        address: { contactPersonName: 'Dock 9', company: 'Microsoft', street1: '9 New Way', city: 'San Jose', state: 'CA', zip: '95002', country: 'US', phone: '1' },
      });
      assert.equal(moved.properties.details.datacenterAddress.datacenterAddressType === 'DatacenterAddressLocation' && moved.properties.details.datacenterAddress.street1, '9 New Way');
      await ctl.dataBoxSetRegion('westus', { supportedCarriers: ['DHL'] });
      withField(await call('PUT', path('w3job'), job()), 400, 'properties.details.returnToCustomerPackageDetails.carrierName');
      await ctl.dataBoxResetRegion('westus');
      await create('w3job');
      await assert.rejects(ctl.dataBoxSetSkuAvailable('atlantis', false), (e: unknown) => e instanceof EmulatorControlError && e.status === 404);
      const regions = await ctl.dataBoxRegions();
      assert.deepEqual(regions.filter((r) => !r.customerDiskAvailable).map((r) => r.name), ['brazilsouth', 'southafricanorth']);
    });
  });

  void describe('faults', () => {
    void it('429 with Retry-After and 5xx on Data Box calls only, drops, lost responses, slow answers', async () => {
      await ctl.addFault({ operation: 'Jobs_Create', api: 'databox', kind: 'status', status: 429, retryAfterSeconds: 3, count: 1 });
      const throttled = await call('PUT', path('f1job'), job());
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers.get('retry-after'), '3');
      assert.equal(errorOf(throttled).code, 'TooManyRequests');
      assert.equal((await call('GET', path('f1job'))).status, 404, 'a throttled create did nothing');
      await create('f1job');
      await ctl.addFault({ operation: 'Jobs_MarkDevicesShipped', kind: 'status', status: 503, count: 1 });
      assert.equal((await ship('f1job')).status, 503);
      await ctl.addFault({ operation: 'Jobs_MarkDevicesShipped', kind: 'drop', count: 1, afterProcessing: true });
      await assert.rejects(ship('f1job'));
      assert.equal((await get('f1job')).properties.status, 'ShippedToAzureDC', 'the lost response still shipped');
      assert.equal((await ship('f1job')).status, 204, 'the retry is idempotent');

      await ctl.addFault({ operation: 'Jobs_Create', api: 'databox', kind: 'status', status: 500, count: 1, afterProcessing: true });
      assert.equal((await call('PUT', path('f2job'), job())).status, 500);
      assert.equal((await call('PUT', path('f2job'), job())).status, 409, 'the job exists: the retry finds it');
      assert.equal((await get('f2job')).properties.status, 'AwaitingShipmentDetails');

      await ctl.dataBoxSetLro({ mode: 'async', polls: 1, retryAfterSeconds: 0 });
      await ctl.addFault({ operation: 'OperationResults_Get', kind: 'status', status: 503, retryAfterSeconds: 1, count: 1 });
      const lro = await call('PUT', path('f3job'), job());
      const location = lro.headers.get('location') ?? '';
      assert.equal((await arm(emu, 'GET', location, undefined, { apiVersion: null })).status, 503);
      assert.equal((await arm(emu, 'GET', location, undefined, { apiVersion: null })).status, 202);
      assert.equal((await arm(emu, 'GET', location, undefined, { apiVersion: null })).status, 200);

      await ctl.addFault({ operation: 'Jobs_Get', api: 'databox', kind: 'delay', delayMs: 300, count: 1 });
      const started = Date.now();
      assert.equal((await call('GET', path('f1job'))).status, 200);
      assert.ok(Date.now() - started >= 280);

      const log = await ctl.requests();
      assert.ok(log.some((r) => r.api === 'databox' && r.operation === 'Jobs_MarkDevicesShipped' && r.status === 0 && r.faulted === 'drop:after'));
      assert.ok(log.every((r) => r.api === 'databox'));
    });

    void it('a fault for one API leaves the other alone', async () => {
      await ctl.addFault({ operation: 'Operations_List', api: 'databox', kind: 'status', status: 500 });
      assert.equal((await call('GET', '/providers/Microsoft.DataBox/operations')).status, 500);
      assert.equal((await arm(emu, 'GET', '/providers/Microsoft.ImportExport/operations', undefined, { apiVersion: '2021-01-01' })).status, 200);
      await ctl.clearFaults();
      const unknownOp = await control(emu, 'POST', '/faults', { operation: 'Jobs_Teleport', kind: 'drop' });
      assert.equal(unknownOp.status, 400);
      assert.match(JSON.stringify(unknownOp.body), /operation: must be/);
    });
  });

  void describe('persistence', () => {
    void it('jobs, operations, region overrides and settings survive a restart', async () => {
      const dataDir = emu.dataDir;
      await ctl.dataBoxSetLro({ mode: 'async', polls: 1, retryAfterSeconds: 0 });
      await ctl.dataBoxSetSkuAvailable('eastus', false);
      const res = await call('PUT', path('p1job'), job());
      const location = new URL(res.headers.get('location') ?? '');
      await emu.close();
      emu = await startEmulator({ httpsPort: null, dataDir });
      ctl = new EmulatorControl(emu.httpUrl);
      const poll = `${emu.httpUrl}${location.pathname}${location.search}`;
      assert.equal((await arm(emu, 'GET', poll, undefined, { apiVersion: null })).status, 202);
      assert.equal((await arm(emu, 'GET', poll, undefined, { apiVersion: null })).status, 200);
      assert.equal((await get('p1job')).properties.status, 'AwaitingShipmentDetails');
      assert.equal((await ctl.dataBoxRegions()).find((r) => r.name === 'eastus')?.customerDiskAvailable, false);
      assert.equal((await ctl.dataBoxSettings()).lro.Jobs_Create.mode, 'async');
    });
  });
});
