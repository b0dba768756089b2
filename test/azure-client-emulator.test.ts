/**
 * ImportExportClient against the real Import/Export emulator (emulator/server.ts), over HTTPS with
 * the emulator's self-signed CA (AZURE_CA_FILE) and the static-token credential; every failure
 * class is produced with the emulator's fault injection.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ImportExportClient } from '../activities/azure/client';
import { loadAzureConfig, type AzureConfig } from '../activities/azure/config';
import { AzurePortError, classify, toApplicationFailure } from '../activities/azure/port';
import type { PutJobParameters } from '../activities/azure/schemas';
import { startEmulator } from '../emulator/server';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = 'rg-client-tests';
const KEY1 = '238810-662376-448998-450120-652806-203390-606320-483076';
const KEY2 = '111111-222222-333333-444444-555555-666666-777777-888888';

let emu: Emulator;
let dataDir: string;
let config: AzureConfig;
let client: ImportExportClient;

async function control(method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${emu.httpUrl}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method} ${p} -> ${res.status}: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  operation?: string;
  status: number;
  faulted?: unknown;
}
async function requestLog(): Promise<LoggedRequest[]> {
  return ((await control('GET', '/_emulator/requests')) as { requests: LoggedRequest[] }).requests;
}
const fault = (spec: Record<string, unknown>) => control('POST', '/_emulator/faults', spec);

function jobSpec(over: { storageAccount?: string; hash?: string; key?: string; driveId?: string } = {}): PutJobParameters {
  return {
    location: 'westus',
    properties: {
      storageAccountId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/${over.storageAccount ?? 'acct1'}`,
      jobType: 'Import',
      returnAddress: {
        recipientName: 'Ops',
        streetAddress1: '1 Main St',
        city: 'Redmond',
        stateOrProvince: 'WA',
        postalCode: '98052',
        countryOrRegion: 'USA',
        phone: '4250000000',
        email: 'ops@example.com',
      },
      returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '123456789' },
      diagnosticsPath: 'waimportexport',
      logLevel: 'Verbose',
      backupDriveManifest: true,
      driveList: [
        {
          driveId: over.driveId ?? 'WD1234',
          bitLockerKey: over.key ?? KEY1,
          manifestFile: '\\DriveManifest.xml',
          manifestHash: over.hash ?? '109B21108597EF36D5785F08303F3638',
        },
      ],
    },
  };
}

let jobCounter = 0;
const newJobName = (p: string) => `${p}-${process.pid}-${++jobCounter}`;

async function expectError(p: Promise<unknown>, type: string): Promise<AzurePortError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof AzurePortError, `expected AzurePortError ${type}, got ${String(err)}`);
  assert.equal(err.type, type, String(err));
  assert.equal(classify(err).type, type);
  return err;
}

before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'azure-client-emu-'));
  emu = await startEmulator({ httpPort: 0, httpsPort: 0, dataDir });
  assert.ok(emu.httpsUrl !== undefined && emu.caCertPath !== undefined, 'emulator must serve HTTPS');
  config = loadAzureConfig({
    AZURE_ENDPOINT: emu.httpsUrl,
    AZURE_SUBSCRIPTION_ID: SUB,
    AZURE_CREDENTIAL: 'static-token',
    AZURE_CA_FILE: emu.caCertPath,
  });
  client = new ImportExportClient(config, { timeoutMs: 5_000 });
});

after(async () => {
  await emu?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await control('DELETE', '/_emulator/faults');
  await control('DELETE', '/_emulator/requests');
});

void describe('ImportExportClient against the emulator (HTTPS + AZURE_CA_FILE + static token)', () => {
  void it('lists locations and operations, gets a location by display or short name', async () => {
    const locs = await client.listLocations();
    assert.ok(locs.length > 0);
    const west = await client.getLocation('West US');
    assert.equal(west.name, 'West US');
    assert.ok(west.properties?.supportedCarriers?.includes('FedEx'));
    const west2 = await client.getLocation('westus');
    assert.equal(west2.id, west.id);
    const ops = await client.listOperations();
    assert.ok(ops.some((o) => o.name === 'Microsoft.ImportExport/jobs/write'));
  });

  void it('create / get / list (paged) / bitlocker keys / update / delete', async () => {
    const names = [newJobName('life'), newJobName('life'), newJobName('life')];
    for (const n of names) {
      const { job, created } = await client.createJob(RG, n, jobSpec(), { clientRequestId: `req-${n}` });
      assert.equal(created, true);
      assert.equal(job.name, n);
      assert.equal(job.properties.state, 'Creating');
      assert.ok(!JSON.stringify(job).includes(KEY1), 'job responses never carry BitLocker keys');
    }
    const got = await client.getJob(RG, names[0]!);
    assert.equal(got.tags?.importOrchestratorRequestId, `req-${names[0]}`);
    const listed = await client.listJobsByResourceGroup(RG, { top: 1 });
    for (const n of names) assert.ok(listed.some((j) => j.name === n), `${n} listed`);
    const pages = (await requestLog()).filter((r) => r.operation === 'Jobs_ListByResourceGroup');
    assert.ok(pages.length >= 3, `nextLink followed (${pages.length} pages)`);
    assert.ok((await client.listJobsBySubscription()).length >= 3);

    const keys = await client.listBitLockerKeys(RG, names[0]!);
    assert.deepEqual(keys, [{ driveId: 'WD1234', bitLockerKey: KEY1 }]);

    const updated = await client.updateJob(RG, names[0]!, { properties: { logLevel: 'Error' } });
    assert.equal(updated.properties.logLevel, 'Error');

    await client.deleteJob(RG, names[1]!);
    await expectError(client.getJob(RG, names[1]!), 'AzureNotFoundError');
    await client.deleteJob(RG, names[1]!, { ignoreNotFound: true });
  });

  void it('400 validation: non-retryable, message and target name the field', async () => {
    const err = await expectError(client.createJob(RG, newJobName('bad'), jobSpec({ hash: 'not-a-hash' })), 'AzureValidationError');
    assert.equal(err.statusCode, 400);
    assert.equal(err.retryable, false);
    assert.match(err.message, /properties\.driveList\[0\]\.manifestHash/);
    const af = toApplicationFailure(err);
    assert.equal(af.nonRetryable, true);
    assert.equal(af.type, 'AzureValidationError');
    assert.deepEqual(Object.keys(af.details?.[0] as object).slice(0, 2), ['statusCode', 'code']);
    // A bad key is rejected without echoing it anywhere.
    const badKey = '12345-bad-key-value';
    const err2 = await expectError(client.createJob(RG, newJobName('bad'), jobSpec({ key: badKey })), 'AzureValidationError');
    assert.match(err2.message, /bitLockerKey/);
    assert.ok(!err2.message.includes(badKey));
  });

  void it('404 → AzureNotFoundError, non-retryable', async () => {
    const err = await expectError(client.getJob(RG, 'does-not-exist'), 'AzureNotFoundError');
    assert.equal(err.statusCode, 404);
    assert.equal(err.retryable, false);
    assert.equal(toApplicationFailure(err).type, 'AzureNotFoundError');
    assert.equal(toApplicationFailure(err).nonRetryable, true);
  });

  void it('409: PUT on a job that is no longer Creating; DELETE while Shipping', async () => {
    const name = newJobName('conflict');
    await client.createJob(RG, name, jobSpec());
    await client.updateJob(RG, name, {
      properties: { state: 'Shipping', deliveryPackage: { carrierName: 'FedEx', trackingNumber: '999', driveCount: 1, shipDate: '2024-01-01' } },
    });
    const err = await expectError(client.createOrReplaceJobUnchecked(RG, name, jobSpec()), 'AzureConflictError');
    assert.equal(err.statusCode, 409);
    assert.equal(err.retryable, false);
    assert.equal(toApplicationFailure(err).nonRetryable, true);
    assert.equal(toApplicationFailure(err).type, 'AzureConflictError');
    await expectError(client.deleteJob(RG, name), 'AzureConflictError');
    // createJob on it with the same spec is fine (no PUT), a different spec is a JobSpecConflict.
    assert.equal((await client.createJob(RG, name, jobSpec())).created, false);
  });

  void it('401: empty token / wrong auth → AzureAuthError, non-retryable', async () => {
    const empty: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: '', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const c = new ImportExportClient(config, { credential: empty });
    const err = await expectError(c.listLocations(), 'AzureAuthError');
    assert.equal(err.statusCode, 401);
    assert.equal(err.retryable, false);
    assert.equal(toApplicationFailure(err).nonRetryable, true);
    assert.equal(toApplicationFailure(err).type, 'AzureAuthError');
  });

  void it('429 with Retry-After: retryAfterMs parsed, nextRetryDelay set, a retry loop waits for it', async () => {
    const name = newJobName('throttle');
    await client.createJob(RG, name, jobSpec());
    await fault({ operation: 'Jobs_Get', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    const err = await expectError(client.getJob(RG, name), 'AzureThrottledError');
    assert.equal(err.statusCode, 429);
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfterMs, 1000);
    const af = toApplicationFailure(err);
    assert.equal(af.nonRetryable, false);
    assert.equal(af.type, 'AzureThrottledError');
    assert.equal(af.nextRetryDelay, 1000);

    // A retry loop (as Temporal would do with nextRetryDelay) honouring retryAfterMs.
    await fault({ operation: 'Jobs_Get', kind: 'status', status: 429, retryAfterSeconds: 1, count: 1 });
    const t0 = Date.now();
    let attempts = 0;
    let waited = 0;
    for (;;) {
      attempts++;
      try {
        await client.getJob(RG, name);
        break;
      } catch (e) {
        const { retryable, retryAfterMs } = classify(e);
        if (!retryable || attempts > 5) throw e;
        const delay = retryAfterMs ?? 100;
        waited += delay;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    const elapsed = Date.now() - t0;
    console.log(`[429 retry loop] attempts=${attempts} waitedFor=${waited}ms elapsed=${elapsed}ms`);
    assert.equal(attempts, 2);
    assert.ok(elapsed >= 1000, `elapsed ${elapsed} >= Retry-After`);
  });

  void it('503 → retryable AzureServerError', async () => {
    await fault({ operation: 'Locations_Get', kind: 'status', status: 503, count: 1 });
    const err = await expectError(client.getLocation('westus'), 'AzureServerError');
    assert.equal(err.statusCode, 503);
    assert.equal(err.retryable, true);
    assert.equal(toApplicationFailure(err).nonRetryable, false);
    assert.equal((await client.getLocation('westus')).name, 'West US');
  });

  void it('dropped connection → retryable AzureNetworkError', async () => {
    await fault({ operation: 'Locations_Get', kind: 'drop', count: 1 });
    const err = await expectError(client.getLocation('westus'), 'AzureNetworkError');
    assert.equal(err.retryable, true);
    assert.equal(err.timedOut, false);
    assert.equal(toApplicationFailure(err).type, 'AzureNetworkError');
    assert.equal(toApplicationFailure(err).nonRetryable, false);
  });

  void it('slow response past timeoutMs → retryable timeout', async () => {
    await fault({ operation: 'Locations_Get', kind: 'delay', delayMs: 1500, count: 1 });
    const c = new ImportExportClient(config, { timeoutMs: 300 });
    const t0 = Date.now();
    const err = await expectError(c.getLocation('westus'), 'AzureNetworkError');
    assert.equal(err.timedOut, true);
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - t0 < 1400, 'gave up at the timeout');
    assert.equal(toApplicationFailure(err).nonRetryable, false);
  });

  void it('idempotent create: lost PUT response, retry → exactly one PUT, created:false', async () => {
    const name = newJobName('lost');
    const spec = jobSpec();
    await fault({ operation: 'Jobs_Create', kind: 'status', status: 500, afterProcessing: true, count: 1 });
    const err = await expectError(client.createJob(RG, name, spec, { clientRequestId: `wf-${name}` }), 'AzureServerError');
    assert.equal(err.retryable, true);

    const retry = await client.createJob(RG, name, spec, { clientRequestId: `wf-${name}` });
    assert.equal(retry.created, false);
    assert.equal(retry.job.name, name);
    assert.equal(retry.job.tags?.importOrchestratorRequestId, `wf-${name}`);

    const puts = (await requestLog()).filter((r) => r.operation === 'Jobs_Create');
    assert.equal(puts.length, 1, 'exactly one PUT');
    assert.equal(puts[0]?.status, 500);
    const jobs = (await client.listJobsByResourceGroup(RG)).filter((j) => j.name === name);
    assert.equal(jobs.length, 1);
  });

  void it('different spec under the same name → JobSpecConflict (non-retryable, no secrets)', async () => {
    const name = newJobName('spec');
    await client.createJob(RG, name, jobSpec(), { clientRequestId: 'A' });
    const err = await expectError(
      client.createJob(RG, name, jobSpec({ storageAccount: 'other', hash: 'AAAA21108597EF36D5785F08303F3638', key: KEY2 }), { clientRequestId: 'A' }),
      'JobSpecConflict',
    );
    assert.equal(err.type, 'JobSpecConflict');
    assert.equal(err.retryable, false);
    assert.match(err.message, /storageAccountId/);
    assert.match(err.message, /manifestHash/);
    const af = toApplicationFailure(err);
    assert.equal(af.nonRetryable, true);
    assert.equal(af.type, 'JobSpecConflict');
    const serialized = JSON.stringify({ m: af.message, d: af.details });
    assert.ok(!serialized.includes(KEY1) && !serialized.includes(KEY2));

    // Another request id → conflict too (someone else's job).
    await expectError(client.createJob(RG, name, jobSpec(), { clientRequestId: 'B' }), 'JobSpecConflict');
    // Same spec without a request id: keys are compared via listBitLockerKeys.
    const keyErr = await expectError(client.createJob(RG, name, { ...jobSpec({ key: KEY2 }), tags: { importOrchestratorRequestId: 'A' } }), 'JobSpecConflict');
    assert.match(keyErr.message, /bitLockerKey/);
    assert.ok(!keyErr.message.includes(KEY1) && !keyErr.message.includes(KEY2));
    assert.equal((await client.createJob(RG, name, { ...jobSpec(), tags: { importOrchestratorRequestId: 'A' } })).created, false);
  });

  void it('TLS: without AZURE_CA_FILE the self-signed certificate is rejected (non-retryable)', async () => {
    const c = new ImportExportClient({ ...config, caFile: undefined });
    const err = await expectError(c.listLocations(), 'AzureTlsError');
    assert.equal(err.retryable, false);
  });

  void it('plain http works only with AZURE_ALLOW_INSECURE_HTTP', async () => {
    assert.throws(() => loadAzureConfig({ AZURE_ENDPOINT: emu.httpUrl, AZURE_SUBSCRIPTION_ID: SUB }), /AZURE_ALLOW_INSECURE_HTTP/);
    const httpCfg = loadAzureConfig({
      AZURE_ENDPOINT: emu.httpUrl,
      AZURE_SUBSCRIPTION_ID: SUB,
      AZURE_CREDENTIAL: 'static-token',
      AZURE_ALLOW_INSECURE_HTTP: 'true',
    });
    const c = new ImportExportClient(httpCfg);
    assert.ok((await c.listLocations()).length > 0);
  });
});
