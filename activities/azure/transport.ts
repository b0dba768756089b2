/**
 * What both Azure SDK clients (`@azure/arm-storageimportexport`, `@azure/arm-databox`) share: the credential, the
 * emulator's CA beside the system roots, retries off (Temporal activities own retries), a per-request timeout,
 * sanitised logging, bearer tokens sent only to the configured endpoint, and one helper that runs an SDK call,
 * validates the raw response body with zod and turns every failure into an AzurePortError.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { TokenCredential } from '@azure/core-auth';
import { createClientPipeline, type FullOperationResponse, type OperationOptions } from '@azure/core-client';
import { bearerTokenAuthenticationPolicyName, type Pipeline, type PipelinePolicy } from '@azure/core-rest-pipeline';
import type { z } from 'zod';
import { type AzureConfig, createCredential } from './config';
import { AzurePortError, responseFormatError, toAzurePortError } from './port';

export const USER_AGENT_PREFIX = 'azure-import-orchestrator/0.1.0';
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ArmClientOptions {
  /** Overrides the credential built from `config.credential`. */
  credential?: TokenCredential;
  /** Pipeline-level retries. Default 0: Temporal activities own retries. */
  maxRetries?: number;
  /** Per-request timeout (whole request incl. body), default 30 s. 0 disables. */
  timeoutMs?: number;
}

/** What the generated clients' constructors take (`new StorageImportExport(credential, sub, options)`). */
export interface ArmClientSettings {
  credential: TokenCredential;
  options: { endpoint: string; pipeline: Pipeline; allowInsecureConnection: boolean; apiVersion?: string };
}

const LOGGED_HEADERS = [
  'x-ms-request-id',
  'x-ms-correlation-request-id',
  'x-ms-client-request-id',
  'retry-after',
  'retry-after-ms',
  'x-ms-retry-after-ms',
  'location',
  'x-ms-ratelimit-remaining-subscription-reads',
  'x-ms-ratelimit-remaining-subscription-writes',
  'x-ms-ratelimit-remaining-subscription-deletes',
];

/** Pipeline and credential for a generated ARM client pointed at `config.endpoint`. */
export function armClientSettings(config: AzureConfig, options: ArmClientOptions = {}): ArmClientSettings {
  const endpoint = config.endpoint.replace(/\/+$/, '');
  const isHttp = endpoint.toLowerCase().startsWith('http://');
  if (isHttp && !config.allowInsecureHttp) {
    throw new TypeError(`Endpoint ${endpoint} is http://; set AZURE_ALLOW_INSECURE_HTTP=true (emulator only)`);
  }
  const credential = options.credential ?? createCredential(config);
  const origin = new URL(endpoint).origin;
  const scopes = [`${origin}/.default`];
  const pipeline = createClientPipeline({
    credentialOptions: { credential, credentialScopes: scopes },
    retryOptions: { maxRetries: options.maxRetries ?? 0 },
    userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
    // The extra CA is trusted in addition to (not instead of) the system roots.
    ...(config.caFile === undefined ? {} : { tlsOptions: { ca: [...rootCertificates, readFileSync(config.caFile, 'utf8')] } }),
    // The sanitiser redacts every other header (Authorization included) and query parameter; bodies are never logged.
    loggingOptions: { additionalAllowedHeaderNames: LOGGED_HEADERS, additionalAllowedQueryParameters: ['api-version', '$top', '$skiptoken', '$expand'] },
  });
  pipeline.addPolicy(sameOriginPolicy(origin), { phase: 'Sign' });
  pipeline.addPolicy(timeoutPolicy(options.timeoutMs ?? DEFAULT_TIMEOUT_MS), { afterPhase: 'Retry' });
  if (isHttp) {
    // core-rest-pipeline's bearer policy refuses plain http by design; the emulator over http needs the header anyway.
    pipeline.removePolicy({ name: bearerTokenAuthenticationPolicyName });
    pipeline.addPolicy(insecureBearerTokenPolicy(credential, scopes), { phase: 'Sign' });
  }
  return { credential, options: { endpoint, pipeline, allowInsecureConnection: isHttp } };
}

/** Paging links and long-running-operation URLs come from the server: the token must never follow them elsewhere. */
function sameOriginPolicy(origin: string): PipelinePolicy {
  return {
    name: 'sameOriginPolicy',
    sendRequest(request, next) {
      const target = new URL(request.url).origin;
      if (target !== origin) {
        throw new AzurePortError('AzureResponseFormatError', `refusing to send a request to another host (${target}); the endpoint is ${origin}`, {
          code: 'ForeignHost',
        });
      }
      return next(request);
    },
  };
}

/** Its own timer, so that a timeout (retryable) can be told apart from the caller's cancellation. */
function timeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'requestTimeoutPolicy',
    async sendRequest(request, next) {
      if (timeoutMs <= 0) return next(request);
      const timer = new AbortController();
      const handle = setTimeout(() => timer.abort(), timeoutMs);
      const callerSignal = request.abortSignal;
      const forwardAbort = (): void => timer.abort();
      callerSignal?.addEventListener('abort', forwardAbort);
      if (callerSignal?.aborted === true) timer.abort();
      request.abortSignal = timer.signal;
      try {
        return await next(request);
      } catch (err) {
        if (timer.signal.aborted && callerSignal?.aborted !== true) {
          throw new AzurePortError('AzureNetworkError', `request timed out after ${timeoutMs} ms`, { code: 'Timeout', timedOut: true, cause: err });
        }
        throw err;
      } finally {
        clearTimeout(handle);
        callerSignal?.removeEventListener('abort', forwardAbort);
        request.abortSignal = callerSignal;
      }
    },
  };
}

/**
 * Bearer header over plain http (emulator only, AZURE_ALLOW_INSECURE_HTTP=true). It carries the standard bearer
 * policy's name because the generated clients add their own bearer policy unless the pipeline has one by that name.
 */
function insecureBearerTokenPolicy(credential: TokenCredential, scopes: string[]): PipelinePolicy {
  let cached: { token: string; expiresOnTimestamp: number } | null = null;
  return {
    name: bearerTokenAuthenticationPolicyName,
    async sendRequest(request, next) {
      if (cached === null || cached.expiresOnTimestamp - 60_000 < Date.now()) {
        cached = await credential.getToken(scopes, { abortSignal: request.abortSignal });
      }
      if (cached !== null) request.headers.set('Authorization', `Bearer ${cached.token}`);
      return next(request);
    },
  };
}

export interface SdkCall {
  /** Swagger operationId, for messages and metrics. */
  operation: string;
  apiVersion: string;
  abortSignal?: AbortSignal | undefined;
  /** Literal secrets the request carries, kept out of any error message. */
  secrets?: readonly string[];
}

export interface RawResult<T> {
  status: number;
  body: T;
}

/** The raw JSON of a response, whatever the SDK's mappers made of it. */
function rawJson(response: FullOperationResponse, call: SdkCall): unknown {
  const text = response.bodyAsText ?? '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AzurePortError(
      'AzureResponseFormatError',
      `${call.operation}: HTTP ${response.status} response is not JSON (${text.length} bytes, content-type ${response.headers.get('content-type') ?? 'none'})`,
      { operation: call.operation, statusCode: response.status },
    );
  }
}

/**
 * Runs one SDK operation. The SDK is the transport (URLs, serialisation, auth, paging, long-running polling); the
 * raw body of the last response is validated with `schema`, the API's one model here, so that the service's
 * tolerated extras and unknown enum values are handled by our rules rather than the SDK's mappers.
 */
export async function sdkCall<S extends z.ZodType>(
  call: SdkCall,
  schema: S,
  invoke: (options: OperationOptions) => Promise<unknown>,
): Promise<RawResult<z.infer<S>>> {
  let last: FullOperationResponse | undefined;
  try {
    await invoke({
      ...(call.abortSignal === undefined ? {} : { abortSignal: call.abortSignal }),
      onResponse: (raw) => {
        last = raw;
      },
    });
  } catch (err) {
    throw rethrow(err, call);
  }
  if (last === undefined) throw new AzurePortError('AzureResponseFormatError', `${call.operation}: no response`, { operation: call.operation });
  const parsed = schema.safeParse(rawJson(last, call));
  if (!parsed.success) throw responseFormatError(call.operation, call.apiVersion, parsed.error, last.status);
  return { status: last.status, body: parsed.data as z.infer<S> };
}

/** Runs an SDK operation whose answer has no body to read (204s, or one that is read back with a GET). */
export async function sdkSend(call: SdkCall, invoke: (options: OperationOptions) => Promise<unknown>): Promise<number | undefined> {
  let status: number | undefined;
  try {
    await invoke({
      ...(call.abortSignal === undefined ? {} : { abortSignal: call.abortSignal }),
      onResponse: (raw) => {
        status = raw.status;
      },
    });
  } catch (err) {
    throw rethrow(err, call);
  }
  return status;
}

/** Each page of a pageable SDK operation, validated like `sdkCall`. */
export async function* sdkPages<S extends z.ZodType>(
  call: SdkCall,
  schema: S,
  iterate: (options: OperationOptions) => AsyncIterable<unknown>,
): AsyncGenerator<z.infer<S>> {
  const pending: FullOperationResponse[] = [];
  try {
    const pages = iterate({
      ...(call.abortSignal === undefined ? {} : { abortSignal: call.abortSignal }),
      onResponse: (raw) => {
        pending.push(raw);
      },
    });
    // The SDK's mapped pages are not used: each page's raw body is validated instead.
    for await (const _mappedPage of pages) {
      for (const response of pending.splice(0)) {
        const parsed = schema.safeParse(rawJson(response, call));
        if (!parsed.success) throw responseFormatError(call.operation, call.apiVersion, parsed.error, response.status);
        yield parsed.data as z.infer<S>;
      }
    }
  } catch (err) {
    throw rethrow(err, call);
  }
}

function rethrow(err: unknown, call: SdkCall): unknown {
  // The caller's own cancellation propagates untouched.
  if (call.abortSignal?.aborted === true && !(err instanceof AzurePortError && err.timedOut)) return err;
  return toAzurePortError(err, { operation: call.operation, ...(call.secrets === undefined ? {} : { secrets: call.secrets }) });
}
