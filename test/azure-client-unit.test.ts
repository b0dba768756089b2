/**
 * Unit tests of the Azure Import/Export client against a tiny local HTTP server (no emulator):
 * config, redaction, Retry-After parsing, error classification, response validation, nextLink,
 * idempotent create logic.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureLogger, getLogLevel, setLogLevel } from '@azure/logger';
import { ApplicationFailure } from '@temporalio/common';
import { ImportExportClient } from '../activities/azure/client';
import { loadAzureConfig, type AzureConfig } from '../activities/azure/config';
import { AzurePortError, classify, parseRetryAfterMs, toApplicationFailure } from '../activities/azure/port';
import { redactSecrets } from '../security/redact';
import type { PutJobParameters } from '../activities/azure/schemas';

/** Asserts `err` is the port's error of `type` (retryability comes from the one table). */
function assertPortError(err: unknown, type: string): asserts err is AzurePortError {
  assert.ok(err instanceof AzurePortError, `expected AzurePortError ${type}, got ${String(err)}`);
  assert.equal(err.type, type, String(err));
  assert.equal(classify(err).type, type);
}

const KEY = '238810-662376-448998-450120-652806-203390-606320-483076';
const ACCOUNT_KEY = `${'A'.repeat(40)}${'b'.repeat(46)}==`;

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end();
const seen: Array<{ method: string; url: string; auth: string | undefined; body: string }> = [];
let server: http.Server;
let baseUrl = '';

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function cfg(env: Record<string, string> = {}): AzureConfig {
  return loadAzureConfig({
    AZURE_ENDPOINT: baseUrl,
    AZURE_SUBSCRIPTION_ID: 'sub-1',
    AZURE_CREDENTIAL: 'static-token',
    AZURE_ALLOW_INSECURE_HTTP: 'true',
    ...env,
  });
}

const jobBody = (name: string, extra: Record<string, unknown> = {}) => ({
  id: `/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.ImportExport/jobs/${name}`,
  name,
  type: 'Microsoft.ImportExport/jobs',
  location: 'West US',
  properties: { state: 'Creating', jobType: 'Import', futureField: { x: 1 }, driveList: [{ driveId: 'D1', state: 'BrandNewState' }] },
  ...extra,
});

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

void describe('config', () => {
  void it('applies defaults and names missing env vars', () => {
    const c = loadAzureConfig({ AZURE_SUBSCRIPTION_ID: 's' });
    assert.equal(c.endpoint, 'https://management.azure.com');
    assert.equal(c.credential, 'default');
    assert.equal(c.apiVersion, '2021-01-01');
    assert.equal(c.staticToken, 'emulator-token');
    assert.equal(c.allowInsecureHttp, false);
    assert.throws(() => loadAzureConfig({}), /AZURE_SUBSCRIPTION_ID/);
    assert.throws(() => loadAzureConfig({ AZURE_SUBSCRIPTION_ID: 's', AZURE_CREDENTIAL: 'nope' }), /AZURE_CREDENTIAL/);
    assert.throws(() => loadAzureConfig({ AZURE_SUBSCRIPTION_ID: 's', AZURE_ENDPOINT: 'http://x' }), /AZURE_ENDPOINT.*AZURE_ALLOW_INSECURE_HTTP/);
    assert.throws(() => loadAzureConfig({ AZURE_SUBSCRIPTION_ID: 's', AZURE_ALLOW_INSECURE_HTTP: 'maybe' }), /AZURE_ALLOW_INSECURE_HTTP/);
    assert.throws(() => loadAzureConfig({ AZURE_SUBSCRIPTION_ID: 's', AZURE_CA_FILE: '/nonexistent.pem' }), /AZURE_CA_FILE/);
    assert.throws(() => loadAzureConfig({ AZURE_SUBSCRIPTION_ID: 's', AZURE_API_VERSION: 'latest' }), /AZURE_API_VERSION/);
  });
});

void describe('redaction', () => {
  void it('error messages lose keys, tokens, account keys, SAS signatures and the literal secrets of the request', () => {
    const badKey = '12345-bad-key-value';
    const text = `key ${KEY} "bitLockerKey":"${badKey}" Authorization: Bearer eyJhbGciOiJIUzI1.eyJzdWIiOiIx.sig1\nacct ${ACCOUNT_KEY} url https://a.blob.core.windows.net/c?sv=2020&sig=abc%2Bdef&se=1 AccountKey=xyz;`;
    const err = new AzurePortError('AzureValidationError', text, { secrets: [badKey], problems: [{ field: 'properties.driveList[0].bitLockerKey', message: `${badKey} is invalid` }] });
    const out = err.message;
    for (const secret of [KEY, badKey, 'eyJhbGciOiJIUzI1', ACCOUNT_KEY, 'abc%2Bdef', 'xyz']) {
      assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
    }
    assert.ok(!JSON.stringify(err.problems).includes(badKey));
    assert.match(out, /sv=2020/);
    assert.equal(redactSecrets(out), out);
    assert.ok(!toApplicationFailure(err).message.includes(badKey));
  });
});

void describe('toApplicationFailure for non-Azure errors', () => {
  void it('config errors are non-retryable, unknown errors retryable, messages scrubbed', async () => {
    let cfgErr: unknown;
    try {
      loadAzureConfig({});
    } catch (e) {
      cfgErr = e;
    }
    assert.equal(toApplicationFailure(cfgErr).nonRetryable, true);
    assert.equal(toApplicationFailure(cfgErr).type, 'AzureConfigError');
    const unknown = toApplicationFailure(new Error(`boom ${KEY}`));
    assert.equal(unknown.nonRetryable, false);
    assert.ok(!unknown.message.includes(KEY));
    const argErr = await new ImportExportClient(cfg()).getJob('', 'j').catch((e: unknown) => e);
    assert.equal(toApplicationFailure(argErr).nonRetryable, true);
  });
});

void describe('Retry-After parsing', () => {
  void it('handles seconds, HTTP-date and ms headers', () => {
    assert.equal(parseRetryAfterMs({ 'Retry-After': '7' }), 7000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs({ 'retry-after': 'Mon, 01 Jan 2024 00:00:05 GMT' }, now), 5000);
    assert.equal(parseRetryAfterMs({ 'x-ms-retry-after-ms': '1500', 'retry-after': '9' }), 1500);
    assert.equal(parseRetryAfterMs({ 'retry-after-ms': '250' }), 250);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'soon' }), undefined);
    assert.equal(parseRetryAfterMs({}), undefined);
  });
});

void describe('error classification over HTTP', () => {
  const client = () => new ImportExportClient(cfg(), { timeoutMs: 500 });

  void it('sends bearer token, api-version, client request id and user agent', async () => {
    handler = (req, _b, res) => {
      assert.equal(req.headers['x-ms-client-request-id']?.length, 36);
      assert.match(req.headers['user-agent'] ?? '', /azure-import-orchestrator/);
      json(res, 200, { value: [{ id: '/providers/Microsoft.ImportExport/locations/westus', name: 'West US', properties: { supportedCarriers: ['FedEx'] }, extra: 1 }] });
    };
    const locs = await client().listLocations();
    assert.equal(locs[0]?.name, 'West US');
    const last = seen.at(-1);
    assert.equal(last?.auth, 'Bearer emulator-token');
    assert.match(last?.url ?? '', /\/providers\/Microsoft\.ImportExport\/locations\?api-version=2021-01-01$/);
  });

  void it('400 → AzureValidationError (non-retryable, message has field)', async () => {
    handler = (_r, _b, res) =>
      json(res, 400, { error: { code: 'InvalidParameter', message: 'properties.driveList[0].manifestHash is invalid', target: 'properties.driveList[0].manifestHash' } }, { 'x-ms-request-id': 'rid-1' });
    const err = await client().getJob('rg', 'j').catch((e: unknown) => e);
    assertPortError(err, 'AzureValidationError');
    assert.equal(err.retryable, false);
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'InvalidParameter');
    assert.equal(err.requestId, 'rid-1');
    assert.match(err.message, /manifestHash/);
    const af = toApplicationFailure(err);
    assert.ok(af instanceof ApplicationFailure);
    assert.equal(af.nonRetryable, true);
    assert.equal(af.type, 'AzureValidationError');
    assert.equal(err.clientRequestId?.length, 36);
    assert.deepEqual(af.details?.[0], {
      statusCode: 400,
      code: 'InvalidParameter',
      requestId: 'rid-1',
      clientRequestId: err.clientRequestId,
      operation: 'Jobs_Get',
      problems: [{ field: 'properties.driveList[0].manifestHash', message: 'properties.driveList[0].manifestHash is invalid' }],
    });
  });

  void it('maps 401/403/404/409/429/503', async () => {
    const cases: Array<[number, string, boolean]> = [
      [401, 'AzureAuthError', false],
      [403, 'AzureAuthError', false],
      [404, 'AzureNotFoundError', false],
      [409, 'AzureConflictError', false],
      [429, 'AzureThrottledError', true],
      [503, 'AzureServerError', true],
    ];
    for (const [status, type, retryable] of cases) {
      handler = (_r, _b, res) => json(res, status, { error: { code: `C${status}`, message: `m${status}` } }, { 'retry-after': '3' });
      const err = await client().getJob('rg', 'j').catch((e: unknown) => e);
      assertPortError(err, type);
      assert.equal(err.retryable, retryable);
      assert.equal(classify(err).retryable, retryable);
      const af = toApplicationFailure(err);
      assert.equal(af.nonRetryable, !retryable);
      if (retryable) {
        assert.equal(err.retryAfterMs, 3000);
        assert.equal(classify(err).retryAfterMs, 3000);
        assert.equal(af.nextRetryDelay, 3000);
      }
    }
  });

  void it('scrubs secrets echoed in error bodies', async () => {
    handler = (_r, _b, res) => json(res, 400, { error: { code: 'Bad', message: `bitLockerKey ${KEY} rejected; sig=SECRETSIG` } });
    const err = await client().getJob('rg', 'j').catch((e: unknown) => e);
    assertPortError(err, 'AzureValidationError');
    assert.ok(!err.message.includes(KEY));
    assert.ok(!err.message.includes('SECRETSIG'));
    assert.ok(!toApplicationFailure(err).message.includes(KEY));
  });

  void it('dropped connection → retryable AzureNetworkError', async () => {
    handler = (req) => req.socket.destroy();
    const err = await client().getJob('rg', 'j').catch((e: unknown) => e);
    assertPortError(err, 'AzureNetworkError');
    assert.equal(err.retryable, true);
    assert.equal(toApplicationFailure(err).nonRetryable, false);
  });

  void it('slow response → timeout AzureNetworkError', async () => {
    handler = (_r, _b, res) => setTimeout(() => json(res, 200, jobBody('j')), 1500).unref();
    const t0 = Date.now();
    const err = await client().getJob('rg', 'j').catch((e: unknown) => e);
    assertPortError(err, 'AzureNetworkError');
    assert.equal(err.timedOut, true);
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - t0 < 1400);
  });

  void it('caller abort propagates as AbortError', async () => {
    handler = (_r, _b, res) => setTimeout(() => json(res, 200, jobBody('j')), 1000).unref();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await new ImportExportClient(cfg(), { timeoutMs: 5000 }).getJob('rg', 'j', { abortSignal: ac.signal }).catch((e: unknown) => e);
    assert.equal((err as Error).name, 'AbortError');
  });

  void it('tolerates unknown enum values and extra properties; rejects wrong types with a path', async () => {
    handler = (_r, _b, res) => json(res, 200, jobBody('j'));
    const job = await client().getJob('rg', 'j');
    assert.equal(job.properties.driveList?.[0]?.state, 'BrandNewState');
    handler = (_r, _b, res) => json(res, 200, jobBody('j', { properties: { driveList: [{ driveId: 'D1', bitLockerKey: KEY }] } }));
    const leaky = await client().getJob('rg', 'j');
    assert.ok(!JSON.stringify(leaky).includes(KEY), 'keys stripped from job responses');
    handler = (_r, _b, res) => json(res, 200, jobBody('j', { properties: { state: 5 } }));
    const err = await client().getJob('rg', 'j').catch((e: unknown) => e);
    assertPortError(err, 'AzureResponseFormatError');
    assert.equal(err.field, 'properties.state');
    assert.equal(err.retryable, false);
    assert.equal(toApplicationFailure(err).type, 'AzureResponseFormatError');
    handler = (_r, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>');
    };
    const err2 = await client().getJob('rg', 'j').catch((e: unknown) => e);
    assertPortError(err2, 'AzureResponseFormatError');
  });

  void it('follows nextLink on the same host only', async () => {
    handler = (req, _b, res) => {
      if ((req.url ?? '').includes('skiptoken=2')) return json(res, 200, { value: [jobBody('b')] });
      json(res, 200, { value: [jobBody('a')], nextLink: `${baseUrl}/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.ImportExport/jobs?api-version=2021-01-01&$skiptoken=2` });
    };
    const jobs = await client().listJobsByResourceGroup('rg', { top: 1, filter: "state eq 'Creating'" });
    assert.deepEqual(jobs.map((j) => j.name), ['a', 'b']);
    assert.match(seen.at(-2)?.url ?? '', /\$top=1&\$filter=state%20eq%20%27Creating%27/);
    handler = (_r, _b, res) => json(res, 200, { value: [jobBody('a')], nextLink: 'https://evil.example.com/steal' });
    const err = await client().listJobsBySubscription().catch((e: unknown) => e);
    assertPortError(err, 'AzureResponseFormatError');
    assert.match(err.message, /another host/);
  });
});

void describe('pipeline logging', () => {
  void it('logs requests at verbose level without the token or BitLocker keys', async () => {
    const lines: string[] = [];
    const origLog = AzureLogger.log;
    const origLevel = getLogLevel();
    AzureLogger.log = (...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    };
    setLogLevel('verbose');
    try {
      handler = (_r, _b, res) => json(res, 201, jobBody('logged'));
      const c = new ImportExportClient(cfg({ AZURE_STATIC_TOKEN: 'SUPER-SECRET-TOKEN' }));
      await c.createOrReplaceJobUnchecked('rg', 'logged', { properties: { driveList: [{ driveId: 'D1', bitLockerKey: KEY }] } });
    } finally {
      setLogLevel(origLevel);
      AzureLogger.log = origLog;
    }
    const all = lines.join('\n');
    assert.equal(seen.at(-1)?.auth, 'Bearer SUPER-SECRET-TOKEN');
    assert.match(all, /Jobs|jobs\/logged|Request/i, 'something was logged');
    assert.ok(!all.includes('SUPER-SECRET-TOKEN'), 'token not logged');
    assert.ok(!all.includes(KEY), 'BitLocker key not logged');
  });
});

void describe('idempotent createJob (fake server)', () => {
  const spec: PutJobParameters = {
    location: 'westus',
    properties: {
      storageAccountId: '/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct',
      jobType: 'Import',
      returnAddress: { recipientName: 'A', streetAddress1: 'S', city: 'C', postalCode: 'P', countryOrRegion: 'US', phone: '1', email: 'a@b.c' },
      driveList: [{ driveId: 'D1', bitLockerKey: KEY, manifestFile: '\\DriveManifest.xml', manifestHash: '109B21108597EF36D5785F08303F3638' }],
    },
  };
  let stored: Record<string, unknown> | undefined;
  before(() => {
    handler = (req, body, res) => {
      if (req.method === 'GET') return stored ? json(res, 200, stored) : json(res, 404, { error: { code: 'ResourceNotFound', message: 'nope' } });
      if (req.method === 'PUT') {
        const b = JSON.parse(body) as { location: string; tags?: Record<string, string>; properties: { driveList: Array<Record<string, unknown>> } };
        stored = {
          ...jobBody('j'),
          location: 'West US',
          tags: b.tags,
          properties: { ...b.properties, state: 'Creating', driveList: b.properties.driveList.map(({ bitLockerKey: _k, ...d }) => ({ ...d, state: 'Specified' })) },
        };
        return json(res, 201, stored);
      }
      if (req.method === 'POST') return json(res, 200, { value: [{ driveId: 'D1', bitLockerKey: KEY }] });
      json(res, 405, {});
    };
  });

  void it('creates once, then returns created:false; a different spec conflicts without leaking keys', async () => {
    const c = new ImportExportClient(cfg());
    const first = await c.createJob('rg', 'j', spec, { clientRequestId: 'req-1' });
    assert.equal(first.created, true);
    assert.equal(first.job.tags?.importOrchestratorRequestId, 'req-1');
    assert.ok(!JSON.stringify(first.job).includes(KEY));
    const putCount = () => seen.filter((s) => s.method === 'PUT').length;
    const before = putCount();
    const second = await c.createJob('rg', 'j', spec, { clientRequestId: 'req-1' });
    assert.equal(second.created, false);
    assert.equal(putCount(), before);

    const other = await c.createJob('rg', 'j', spec, { clientRequestId: 'req-2' }).catch((e: unknown) => e);
    assertPortError(other, 'JobSpecConflict');
    assert.equal(other.type, 'JobSpecConflict');
    assert.match(other.message, /importOrchestratorRequestId/);

    const diffSpec: PutJobParameters = { ...spec, properties: { ...spec.properties, driveList: [{ driveId: 'D1', bitLockerKey: '111111-111111-111111-111111-111111-111111-111111-111111', manifestFile: '\\DriveManifest.xml', manifestHash: 'FFFF21108597EF36D5785F08303F3638' }] } };
    const conflict = await c.createJob('rg', 'j', diffSpec, { clientRequestId: 'req-1' }).catch((e: unknown) => e);
    assertPortError(conflict, 'JobSpecConflict');
    assert.match(conflict.message, /manifestHash/);
    const af = toApplicationFailure(conflict);
    assert.equal(af.nonRetryable, true);
    assert.equal(af.type, 'JobSpecConflict');

    // Without a request id, keys are compared through listBitLockerKeys; values never in messages.
    const keyOnly: PutJobParameters = { ...spec, tags: { importOrchestratorRequestId: 'req-1' }, properties: { ...spec.properties, driveList: [{ ...spec.properties!.driveList![0]!, bitLockerKey: '111111-111111-111111-111111-111111-111111-111111-111111' }] } };
    const keyConflict = await c.createJob('rg', 'j', keyOnly).catch((e: unknown) => e);
    assertPortError(keyConflict, 'JobSpecConflict');
    assert.match(keyConflict.message, /bitLockerKey/);
    assert.ok(!keyConflict.message.includes('111111'));
    assert.ok(!keyConflict.message.includes(KEY));
    assert.ok(!JSON.stringify(toApplicationFailure(keyConflict).details).includes('111111'));
  });
});
