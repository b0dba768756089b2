/**
 * The port's one error decision, `classify()`, and `toApplicationFailure()` built on it: every HTTP status family,
 * every Retry-After form, transport and credential failures, input and configuration errors, a missing secret,
 * and the workflow's non-retryable list derived from the same table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RestError, createHttpHeaders, createPipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { AZURE_ERROR_TYPES, NON_RETRYABLE_ERROR_TYPES } from '../common/azure-job';
import { loadAzureConfig } from '../activities/azure/config';
import { AzurePortError, classify, parseRetryAfterMs, toApplicationFailure, toAzurePortError } from '../activities/azure/port';
import { InMemorySecretStore } from '../security/secret-store';

const KEY = '238810-662376-448998-450120-652806-203390-606320-483076';

/** A RestError as the Azure SDK throws it for an HTTP answer. */
function httpError(status: number, headers: Record<string, string> = {}, body: unknown = { error: { code: `C${status}`, message: `m${status}` } }): RestError {
  const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
  const response: PipelineResponse = {
    status,
    request,
    headers: createHttpHeaders({ 'content-type': 'application/json', ...headers }),
    bodyAsText: typeof body === 'string' ? body : JSON.stringify(body),
  };
  return new RestError(`m${status}`, { statusCode: status, request, response, code: `C${status}` });
}

void describe('classify: HTTP status families', () => {
  const cases: Array<[number, string, boolean]> = [
    [400, 'AzureValidationError', false],
    [422, 'AzureValidationError', false],
    [401, 'AzureAuthError', false],
    [403, 'AzureAuthError', false],
    [404, 'AzureNotFoundError', false],
    [405, 'AzureRequestError', false],
    [408, 'AzureServerError', true],
    [409, 'AzureConflictError', false],
    [413, 'AzureRequestError', false],
    [429, 'AzureThrottledError', true],
    [500, 'AzureServerError', true],
    [502, 'AzureServerError', true],
    [503, 'AzureServerError', true],
    [504, 'AzureServerError', true],
  ];
  for (const [status, type, retryable] of cases) {
    void it(`${status} → ${type} (${retryable ? 'retryable' : 'non-retryable'})`, () => {
      const err = httpError(status);
      assert.deepEqual(classify(err), { retryable, type });
      const portError = toAzurePortError(err, { operation: 'Jobs_Get' });
      assert.equal(portError.type, type);
      assert.equal(portError.statusCode, status);
      assert.equal(portError.code, `C${status}`);
      const failure = toApplicationFailure(portError);
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, !retryable);
      assert.equal(classify(failure).retryable, retryable, 'an ApplicationFailure keeps its decision');
    });
  }

  void it('400 names the field from target and details; the request id reaches the message and details', () => {
    const err = httpError(
      400,
      { 'x-ms-request-id': 'rid-7' },
      {
        error: {
          code: 'InvalidParameter',
          message: 'properties.details.contactDetails.phone: is required',
          target: 'properties.details.contactDetails.phone',
          details: [{ code: 'InvalidParameter', target: 'properties.details.importDiskDetailsCollection.D1.manifestHash', message: 'must be 32 hex digits' }],
        },
      },
    );
    const portError = toAzurePortError(err, { operation: 'Jobs_Create' });
    assert.match(portError.message, /^Jobs_Create failed with HTTP 400 \(InvalidParameter\): properties\.details\.contactDetails\.phone: is required/);
    assert.match(portError.message, /must be 32 hex digits/);
    assert.match(portError.message, /requestId: rid-7/);
    assert.deepEqual(portError.problems.map((p) => p.field), ['properties.details.contactDetails.phone', 'properties.details.importDiskDetailsCollection.D1.manifestHash']);
    const details = toApplicationFailure(portError).details?.[0] as { problems: unknown[]; requestId: string; operation: string };
    assert.equal(details.requestId, 'rid-7');
    assert.equal(details.operation, 'Jobs_Create');
    assert.equal(details.problems.length, 2);
  });

  void it('a body that is not the ARM envelope still gives a message', () => {
    const portError = toAzurePortError(httpError(502, {}, '<html>Bad Gateway</html>'), { operation: 'Jobs_Get' });
    assert.equal(portError.type, 'AzureServerError');
    assert.match(portError.message, /HTTP 502: <html>Bad Gateway<\/html>/);
  });
});

void describe('classify: Retry-After', () => {
  void it('reads retry-after-ms, x-ms-retry-after-ms, Retry-After seconds and HTTP-date, in that order', () => {
    assert.equal(parseRetryAfterMs({ 'retry-after-ms': '250' }), 250);
    assert.equal(parseRetryAfterMs({ 'x-ms-retry-after-ms': '1500', 'retry-after': '9' }), 1500);
    assert.equal(parseRetryAfterMs({ 'Retry-After': '7' }), 7000);
    assert.equal(parseRetryAfterMs({ 'Retry-After': '0.5' }), 500);
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs({ 'retry-after': 'Mon, 01 Jan 2024 00:00:05 GMT' }, now), 5000);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'Sun, 31 Dec 2023 23:59:00 GMT' }, now), 0, 'a date in the past means now');
    assert.equal(parseRetryAfterMs({ 'retry-after': 'soon' }), undefined);
    assert.equal(parseRetryAfterMs({ 'retry-after-ms': 'x', 'retry-after': '2' }), 2000, 'an unparsable ms header falls through');
    assert.equal(parseRetryAfterMs({}), undefined);
  });

  for (const [headers, ms] of [
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after-ms': '1200' }, 1200],
    [{ 'x-ms-retry-after-ms': '800' }, 800],
  ] as const) {
    void it(`429 with ${Object.keys(headers)[0]} → retryAfterMs ${ms} and nextRetryDelay`, () => {
      const err = httpError(429, headers);
      assert.deepEqual(classify(err), { retryable: true, type: 'AzureThrottledError', retryAfterMs: ms });
      assert.equal(toApplicationFailure(err).nextRetryDelay, ms);
    });
  }

  void it('503 with Retry-After is retried after it; a non-retryable error never carries a delay', () => {
    assert.equal(classify(httpError(503, { 'retry-after': '4' })).retryAfterMs, 4000);
    const failure = toApplicationFailure(httpError(409, { 'retry-after': '4' }));
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.nextRetryDelay, undefined);
  });
});

void describe('classify: transport and credential failures', () => {
  const sendError = (message: string, code: string): RestError => {
    const err = new RestError(message, { code: 'REQUEST_SEND_ERROR', request: createPipelineRequest({ url: 'https://x' }) });
    (err as { cause?: unknown }).cause = Object.assign(new Error(message), { code });
    return err;
  };

  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE']) {
    void it(`${code} → retryable AzureNetworkError`, () => {
      const err = sendError(`connect ${code}`, code);
      assert.deepEqual(classify(err), { retryable: true, type: 'AzureNetworkError' });
      assert.equal(toAzurePortError(err).code, code);
    });
  }

  void it('a bare socket hang-up without a code is still a network error', () => {
    assert.deepEqual(classify(new RestError('socket hang up', { code: 'REQUEST_SEND_ERROR' })), { retryable: true, type: 'AzureNetworkError' });
  });

  void it('certificate problems are non-retryable TLS errors that say how to fix them', () => {
    const err = sendError('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.deepEqual(classify(err), { retryable: false, type: 'AzureTlsError' });
    assert.match(toApplicationFailure(err).message, /AZURE_CA_FILE/);
  });

  void it('the client-side timeout is a retryable network error', () => {
    const err = new AzurePortError('AzureNetworkError', 'request timed out after 300 ms', { code: 'Timeout', timedOut: true });
    assert.deepEqual(classify(err), { retryable: true, type: 'AzureNetworkError' });
    const named = toAzurePortError(err, { operation: 'Jobs_Get' });
    assert.equal(named.operation, 'Jobs_Get');
    assert.match(named.message, /^Jobs_Get: request timed out/);
    assert.equal(named.timedOut, true);
  });

  void it('no credential → non-retryable auth error; a token endpoint 5xx → retryable', () => {
    const unavailable = Object.assign(new Error('no credential'), { name: 'CredentialUnavailableError' });
    assert.deepEqual(classify(unavailable), { retryable: false, type: 'AzureAuthError' });
    const refused = Object.assign(new Error('invalid_client'), { name: 'AuthenticationError', statusCode: 401 });
    assert.deepEqual(classify(refused), { retryable: false, type: 'AzureAuthError' });
    const flaky = Object.assign(new Error('token service down'), { name: 'AuthenticationError', statusCode: 503 });
    assert.deepEqual(classify(flaky), { retryable: true, type: 'AzureNetworkError' });
  });

  void it('a request the SDK refuses before sending is non-retryable', () => {
    const err = new Error('"jobName" with value "x" should satisfy the constraint "MinLength": 3.');
    assert.deepEqual(classify(toAzurePortError(err, { operation: 'Jobs_Get' })), { retryable: false, type: 'AzureRequestError' });
  });
});

void describe('classify: input, configuration and secrets', () => {
  void it('a missing secret reference is non-retryable with a clear message', async () => {
    const store = new InMemorySecretStore();
    const err = await store.get({ kind: 'secret-ref', store: 'local', name: 'bitlocker-job1-D1' }).catch((e: unknown) => e);
    assert.equal((err as Error).name, 'SecretNotFoundError');
    assert.deepEqual(classify(err), { retryable: false, type: 'SecretNotFound' });
    const failure = toApplicationFailure(err);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.type, 'SecretNotFound');
    assert.match(failure.message, /BitLocker key reference cannot be resolved/);
    assert.match(failure.message, /bitlocker-job1-D1/);
  });

  void it("another job's secret is non-retryable", async () => {
    const store = new InMemorySecretStore();
    const ref = await store.put('bitlocker-job1-D1', '111111-222222-333333-444444-555555-666666-110011-220022', { jobName: 'job1' });
    const err = await store.get(ref, { jobName: 'job2' }).catch((e: unknown) => e);
    assert.equal((err as Error).name, 'SecretBindingError');
    assert.deepEqual(classify(err), { retryable: false, type: 'SecretBinding' });
    assert.equal(toApplicationFailure(err).nonRetryable, true);
  });

  void it('bad configuration and bad activity input are non-retryable; input problems name the field', () => {
    const configError = (() => {
      try {
        loadAzureConfig({});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.deepEqual(classify(configError), { retryable: false, type: 'AzureConfigError' });
    const zodError = z.object({ jobName: z.string() }).safeParse({}).error;
    assert.deepEqual(classify(zodError), { retryable: false, type: 'InvalidAzureRequest' });
    assert.match(toApplicationFailure(zodError).message, /jobName: is required/);
  });

  void it('unknown errors are retryable under their own name; messages are scrubbed', () => {
    assert.deepEqual(classify(new TypeError('boom')), { retryable: true, type: 'TypeError' });
    const failure = toApplicationFailure(new Error(`failed with key ${KEY}`));
    assert.equal(failure.nonRetryable, false);
    assert.ok(!failure.message.includes(KEY));
  });

  void it('an ApplicationFailure keeps its type and decision, with secrets scrubbed', () => {
    const original = ApplicationFailure.create({ message: `bad ${KEY}`, type: 'InvalidShipment', nonRetryable: true, details: [{ field: 'x', message: 'y' }] });
    const out = toApplicationFailure(original);
    assert.equal(out.type, 'InvalidShipment');
    assert.equal(out.nonRetryable, true);
    assert.ok(!out.message.includes(KEY));
    assert.deepEqual(out.details, [{ field: 'x', message: 'y' }]);
    const delayed = ApplicationFailure.create({ message: 'later', type: 'AzureThrottledError', nextRetryDelay: '2s' });
    assert.deepEqual(classify(delayed), { retryable: true, type: 'AzureThrottledError', retryAfterMs: 2000 });
  });

  void it('secrets in Azure error bodies and in the request never reach messages, problems or details', () => {
    const accountNumber = 'ACCT-98765432';
    const err = httpError(400, {}, { error: { code: 'Bad', message: `bitLockerKey ${KEY} and account ${accountNumber} rejected`, target: `key ${KEY}` } });
    const portError = toAzurePortError(err, { operation: 'Jobs_Create', secrets: [accountNumber] });
    const text = JSON.stringify({ m: portError.message, p: portError.problems, d: toApplicationFailure(portError).details });
    assert.ok(!text.includes(KEY));
    assert.ok(!text.includes(accountNumber));
  });
});

void describe('the non-retryable list', () => {
  void it('is exactly the table entries classify() treats as non-retryable', () => {
    const expected = Object.entries(AZURE_ERROR_TYPES)
      .filter(([, v]) => !v.retryable)
      .map(([k]) => k)
      .sort();
    assert.deepEqual([...NON_RETRYABLE_ERROR_TYPES].sort(), expected);
    for (const type of NON_RETRYABLE_ERROR_TYPES) {
      assert.equal(classify(new AzurePortError(type, 'x')).retryable, false, type);
    }
    for (const type of ['AzureThrottledError', 'AzureServerError', 'AzureNetworkError'] as const) {
      assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes(type));
      assert.equal(classify(new AzurePortError(type, 'x')).retryable, true);
    }
    for (const type of ['AzureValidationError', 'AzureConflictError', 'AzureAuthError', 'AzureNotFoundError', 'JobSpecConflict', 'AzureResponseFormatError', 'SecretNotFound', 'CancelNotAllowed']) {
      assert.ok((NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(type), type);
    }
  });
});
