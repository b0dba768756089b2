import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type HttpMethods,
  type Pipeline,
  type PipelinePolicy,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import type { z } from 'zod';
import { type AzureConfig, createCredential } from './config';
import {
  AzureError,
  AzureNotFoundError,
  AzureRequestError,
  AzureResponseFormatError,
  JobSpecConflictError,
  errorFromHttpResponse,
  errorFromTransportFailure,
} from './errors';
import { REQUEST_ID_TAG, diffBitLockerKeys, diffJobSpec } from './job-spec';
import {
  type DriveBitLockerKey,
  GetBitLockerKeysResponseSchema,
  type JobResponse,
  JobResponseSchema,
  ListJobsResponseSchema,
  ListOperationsResponseSchema,
  type Location,
  LocationSchema,
  LocationsResponseSchema,
  type Operation,
  type PutJobParameters,
  type UpdateJobParameters,
  formatIssuePath,
} from './schemas';
import { scrubSecrets } from './redact';

export const USER_AGENT_PREFIX = 'azure-import-orchestrator/0.1.0';
export const DEFAULT_TIMEOUT_MS = 30_000;
const PROVIDER = 'Microsoft.ImportExport';

export interface ImportExportClientOptions {
  /** Overrides the credential built from `config.credential`. */
  credential?: TokenCredential;
  /** Pipeline-level retries. Default 0: Temporal activities own retries. */
  maxRetries?: number;
  /** Per-request timeout (whole request incl. body), default 30 s. 0 disables. */
  timeoutMs?: number;
  /** Custom HttpClient (tests). Default: core-rest-pipeline's Node client. */
  httpClient?: HttpClient;
}

/** Per-call options. */
export interface RequestOptions {
  /** Cancels the call (e.g. a Temporal activity's cancellation signal). */
  abortSignal?: AbortSignal;
}

export interface ListJobsOptions extends RequestOptions {
  /** `$top` (≤ 100): page size hint. */
  top?: number;
  /** `$filter` (OData; semantics undocumented by the RP). */
  filter?: string;
  /** Safety bound on followed `nextLink`s (default 1000). */
  maxPages?: number;
}

export interface CreateJobOptions extends RequestOptions {
  /**
   * Stable id of the logical create request (e.g. workflow id + job name). Stored in the
   * `importOrchestratorRequestId` tag; a retry finds the job it created by this tag.
   */
  clientRequestId?: string;
  /** `x-ms-client-tenant-id` header. */
  clientTenantId?: string;
  /**
   * Compare BitLocker keys (via listBitLockerKeys) when an existing job is found.
   * `auto` (default): only when no clientRequestId is given.
   */
  verifyBitLockerKeys?: 'auto' | 'always' | 'never';
}

export interface CreateJobResult {
  job: JobResponse;
  /** True when this call's PUT created the job; false when an identical job already existed. */
  created: boolean;
}

interface SendSpec<S extends z.ZodType | undefined> {
  operation: string;
  method: HttpMethods;
  /** Absolute URL (from #url, or a checked nextLink). */
  url: string;
  body?: unknown;
  schema: S;
  headers?: Record<string, string>;
  abortSignal?: AbortSignal | undefined;
}

interface SendResult<T> {
  status: number;
  body: T;
  requestId: string | undefined;
}

/** Invalid arguments are caller bugs: non-retryable. */
const invalidArgument = (message: string): AzureRequestError =>
  new AzureRequestError(message, { code: 'InvalidArgument', retryable: false });

const seg = (s: string, what: string): string => {
  if (typeof s !== 'string' || s.trim().length === 0) throw invalidArgument(`${what} must be a non-empty string`);
  return encodeURIComponent(s);
};

/**
 * Client for Microsoft.ImportExport (ARM), built on @azure/core-rest-pipeline: bearer-token
 * policy, user agent, x-ms-client-request-id, sanitized logging; pipeline retries off by default.
 * Every response is validated with the zod schemas of ./schemas; every failure is a typed
 * AzureError (./errors).
 */
export class ImportExportClient {
  readonly endpoint: string;
  readonly subscriptionId: string;
  readonly apiVersion: string;
  readonly pipeline: Pipeline;
  readonly #httpClient: HttpClient;
  readonly #timeoutMs: number;
  readonly #allowInsecure: boolean;

  constructor(config: AzureConfig, options: ImportExportClientOptions = {}) {
    this.endpoint = config.endpoint.replace(/\/+$/, '');
    this.subscriptionId = config.subscriptionId;
    this.apiVersion = config.apiVersion;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const isHttp = this.endpoint.toLowerCase().startsWith('http://');
    if (isHttp && !config.allowInsecureHttp) {
      throw new TypeError(`Endpoint ${this.endpoint} is http://; set AZURE_ALLOW_INSECURE_HTTP=true (emulator only)`);
    }
    this.#allowInsecure = isHttp;
    const credential = options.credential ?? createCredential(config);
    const scope = `${new URL(this.endpoint).origin}/.default`;

    // Trust the extra CA in addition to (not instead of) the system roots.
    const tlsOptions =
      config.caFile === undefined ? undefined : { ca: [...rootCertificates, readFileSync(config.caFile, 'utf8')] };

    this.pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: options.maxRetries ?? 0 },
      userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
      ...(tlsOptions === undefined ? {} : { tlsOptions }),
      loggingOptions: {
        // The sanitizer redacts everything else (Authorization included).
        additionalAllowedHeaderNames: [
          'x-ms-request-id',
          'x-ms-correlation-request-id',
          'x-ms-client-request-id',
          'retry-after',
          'retry-after-ms',
          'x-ms-retry-after-ms',
          'x-ms-ratelimit-remaining-subscription-reads',
          'x-ms-ratelimit-remaining-subscription-writes',
          'x-ms-ratelimit-remaining-subscription-deletes',
        ],
        additionalAllowedQueryParameters: ['api-version', '$top', '$skiptoken'],
      },
    });
    this.pipeline.addPolicy(
      isHttp ? insecureBearerTokenPolicy(credential, [scope]) : bearerTokenAuthenticationPolicy({ credential, scopes: [scope] }),
    );
    this.#httpClient = options.httpClient ?? createDefaultHttpClient();
  }

  // -------------------------------------------------------------------------------------------
  // Locations & operations

  async listLocations(opts: RequestOptions = {}): Promise<Location[]> {
    const res = await this.#send({
      operation: 'Locations_List',
      method: 'GET',
      url: this.#url(`/providers/${PROVIDER}/locations`),
      schema: LocationsResponseSchema,
      abortSignal: opts.abortSignal,
    });
    return res.body.value;
  }

  /** `name` may be a short name ("westus") or a display name ("West US"). */
  async getLocation(name: string, opts: RequestOptions = {}): Promise<Location> {
    const res = await this.#send({
      operation: 'Locations_Get',
      method: 'GET',
      url: this.#url(`/providers/${PROVIDER}/locations/${seg(name, 'locationName')}`),
      schema: LocationSchema,
      abortSignal: opts.abortSignal,
    });
    return res.body;
  }

  async listOperations(opts: RequestOptions = {}): Promise<Operation[]> {
    const res = await this.#send({
      operation: 'Operations_List',
      method: 'GET',
      url: this.#url(`/providers/${PROVIDER}/operations`),
      schema: ListOperationsResponseSchema,
      abortSignal: opts.abortSignal,
    });
    return res.body.value;
  }

  // -------------------------------------------------------------------------------------------
  // Jobs

  #jobPath(resourceGroup: string, jobName: string): string {
    return `/subscriptions/${seg(this.subscriptionId, 'subscriptionId')}/resourceGroups/${seg(resourceGroup, 'resourceGroupName')}/providers/${PROVIDER}/jobs/${seg(jobName, 'jobName')}`;
  }

  async getJob(resourceGroup: string, jobName: string, opts: RequestOptions = {}): Promise<JobResponse> {
    const res = await this.#send({
      operation: 'Jobs_Get',
      method: 'GET',
      url: this.#url(this.#jobPath(resourceGroup, jobName)),
      schema: JobResponseSchema,
      abortSignal: opts.abortSignal,
    });
    return res.body;
  }

  /** Like getJob, but `undefined` on 404. */
  async tryGetJob(resourceGroup: string, jobName: string, opts: RequestOptions = {}): Promise<JobResponse | undefined> {
    try {
      return await this.getJob(resourceGroup, jobName, opts);
    } catch (err) {
      if (err instanceof AzureNotFoundError) return undefined;
      throw err;
    }
  }

  /** All jobs of a resource group (follows nextLink). */
  async listJobsByResourceGroup(resourceGroup: string, opts: ListJobsOptions = {}): Promise<JobResponse[]> {
    return collect(this.iterateJobsByResourceGroup(resourceGroup, opts));
  }

  /** All jobs of the subscription (follows nextLink). */
  async listJobsBySubscription(opts: ListJobsOptions = {}): Promise<JobResponse[]> {
    return collect(this.iterateJobsBySubscription(opts));
  }

  iterateJobsByResourceGroup(resourceGroup: string, opts: ListJobsOptions = {}): AsyncIterableIterator<JobResponse> {
    const path = `/subscriptions/${seg(this.subscriptionId, 'subscriptionId')}/resourceGroups/${seg(resourceGroup, 'resourceGroupName')}/providers/${PROVIDER}/jobs`;
    return this.#iterateJobs('Jobs_ListByResourceGroup', path, opts);
  }

  iterateJobsBySubscription(opts: ListJobsOptions = {}): AsyncIterableIterator<JobResponse> {
    const path = `/subscriptions/${seg(this.subscriptionId, 'subscriptionId')}/providers/${PROVIDER}/jobs`;
    return this.#iterateJobs('Jobs_ListBySubscription', path, opts);
  }

  async *#iterateJobs(operation: string, path: string, opts: ListJobsOptions): AsyncIterableIterator<JobResponse> {
    if (opts.top !== undefined && (!Number.isInteger(opts.top) || opts.top < 1 || opts.top > 100)) {
      throw invalidArgument('top must be an integer between 1 and 100');
    }
    const query: Record<string, string> = {};
    if (opts.top !== undefined) query.$top = String(opts.top);
    if (opts.filter !== undefined) query.$filter = opts.filter;
    let next: string | undefined = this.#url(path, query);
    const maxPages = opts.maxPages ?? 1000;
    for (let page = 0; next !== undefined; page++) {
      if (page >= maxPages) {
        throw new AzureResponseFormatError(`${operation}: more than ${maxPages} pages; giving up`, 'nextLink', { operation });
      }
      const res: SendResult<z.infer<typeof ListJobsResponseSchema>> = await this.#send({
        operation,
        method: 'GET',
        url: next,
        schema: ListJobsResponseSchema,
        abortSignal: opts.abortSignal,
      });
      yield* res.body.value;
      const link = res.body.nextLink;
      next = link === undefined || link === null || link === '' ? undefined : this.#checkNextLink(operation, link);
    }
  }

  /** nextLink must stay on our endpoint (the bearer token must never go elsewhere). */
  #checkNextLink(operation: string, link: string): string {
    let url: URL;
    try {
      url = new URL(link, this.endpoint);
    } catch {
      throw new AzureResponseFormatError(`${operation}: invalid nextLink`, 'nextLink', { operation });
    }
    if (url.origin !== new URL(this.endpoint).origin) {
      throw new AzureResponseFormatError(
        `${operation}: nextLink points to another host (${url.origin}); refusing to follow it`,
        'nextLink',
        { operation },
      );
    }
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', this.apiVersion);
    return url.toString();
  }

  /**
   * Idempotent create. GET first: if the job exists and matches the requested spec (including the
   * `importOrchestratorRequestId` tag from `opts.clientRequestId`) → `{ created: false }` without
   * PUT; if it differs → JobSpecConflictError (non-retryable); if 404 → PUT.
   */
  async createJob(
    resourceGroup: string,
    jobName: string,
    body: PutJobParameters,
    opts: CreateJobOptions = {},
  ): Promise<CreateJobResult> {
    const requestBody: PutJobParameters =
      opts.clientRequestId === undefined
        ? body
        : { ...body, tags: { ...(body.tags ?? {}), [REQUEST_ID_TAG]: opts.clientRequestId } };

    const existing = await this.tryGetJob(resourceGroup, jobName, opts);
    if (existing !== undefined) {
      await this.#assertSameJob(resourceGroup, jobName, requestBody, existing, opts);
      return { job: existing, created: false };
    }

    const res = await this.createOrReplaceJobUnchecked(resourceGroup, jobName, requestBody, opts);
    // 201 = created. 200 = replaced a job that appeared between our GET and PUT (a concurrent
    // creator); report created=false so callers do not assume they made it.
    return { job: res.job, created: res.status === 201 };
  }

  /**
   * Raw Put Job (Jobs_Create) WITHOUT the idempotency check: replaces a job in `Creating`, and a
   * retry after a lost response may overwrite. Prefer `createJob`. `status` is 201 (created) or 200.
   */
  async createOrReplaceJobUnchecked(
    resourceGroup: string,
    jobName: string,
    body: PutJobParameters,
    opts: RequestOptions & { clientTenantId?: string } = {},
  ): Promise<{ job: JobResponse; status: number }> {
    const res = await this.#send({
      operation: 'Jobs_Create',
      method: 'PUT',
      url: this.#url(this.#jobPath(resourceGroup, jobName)),
      body,
      schema: JobResponseSchema,
      headers: opts.clientTenantId === undefined ? {} : { 'x-ms-client-tenant-id': opts.clientTenantId },
      abortSignal: opts.abortSignal,
    });
    return { job: res.body, status: res.status };
  }

  async #assertSameJob(
    resourceGroup: string,
    jobName: string,
    requested: PutJobParameters,
    existing: JobResponse,
    opts: CreateJobOptions,
  ): Promise<void> {
    const differences = diffJobSpec(requested, existing);
    const verify = opts.verifyBitLockerKeys ?? 'auto';
    const wantKeys =
      differences.length === 0 &&
      (verify === 'always' || (verify === 'auto' && opts.clientRequestId === undefined)) &&
      (requested.properties?.driveList ?? []).some((d) => d.bitLockerKey !== undefined);
    if (wantKeys) {
      const keys = await this.listBitLockerKeys(resourceGroup, jobName, opts);
      differences.push(...diffBitLockerKeys(requested, keys));
    }
    if (differences.length > 0) {
      const fields = differences
        .map((d) => (d.requested === undefined ? d.field : `${d.field} (requested ${d.requested}, existing ${d.existing ?? '(none)'})`))
        .join('; ');
      throw new JobSpecConflictError(
        `Jobs_Create: a job named '${jobName}' already exists in resource group '${resourceGroup}' ` +
          `(state ${existing.properties.state ?? 'unknown'}) with a different spec: ${fields}`,
        differences,
        { operation: 'Jobs_Create' },
      );
    }
  }

  async updateJob(
    resourceGroup: string,
    jobName: string,
    patch: UpdateJobParameters,
    opts: RequestOptions = {},
  ): Promise<JobResponse> {
    const res = await this.#send({
      operation: 'Jobs_Update',
      method: 'PATCH',
      url: this.#url(this.#jobPath(resourceGroup, jobName)),
      body: patch,
      schema: JobResponseSchema,
      abortSignal: opts.abortSignal,
    });
    return res.body;
  }

  /** Deletes a job. A 404 is an AzureNotFoundError; pass `ignoreNotFound` to treat it as done. */
  async deleteJob(
    resourceGroup: string,
    jobName: string,
    opts: RequestOptions & { ignoreNotFound?: boolean } = {},
  ): Promise<void> {
    try {
      await this.#send({
        operation: 'Jobs_Delete',
        method: 'DELETE',
        url: this.#url(this.#jobPath(resourceGroup, jobName)),
        schema: undefined,
        abortSignal: opts.abortSignal,
      });
    } catch (err) {
      if (opts.ignoreNotFound === true && err instanceof AzureNotFoundError) return;
      throw err;
    }
  }

  /** BitLocker keys of the job's drives. The result holds secrets: never log or return it to a workflow. */
  async listBitLockerKeys(resourceGroup: string, jobName: string, opts: RequestOptions = {}): Promise<DriveBitLockerKey[]> {
    const res = await this.#send({
      operation: 'BitLockerKeys_List',
      method: 'POST',
      url: this.#url(`${this.#jobPath(resourceGroup, jobName)}/listBitLockerKeys`),
      schema: GetBitLockerKeysResponseSchema,
      headers: { 'Content-Length': '0' },
      abortSignal: opts.abortSignal,
    });
    return res.body.value;
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  #url(path: string, query: Record<string, string> = {}): string {
    // Built by hand so that `$top` / `$filter` keep a literal `$` (as the Azure SDK sends them).
    const qs = Object.entries({ 'api-version': this.apiVersion, ...query })
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    return `${this.endpoint}${path}?${qs}`;
  }

  async #send<S extends z.ZodType | undefined>(
    spec: SendSpec<S>,
  ): Promise<SendResult<S extends z.ZodType ? z.infer<S> : undefined>> {
    type Out = S extends z.ZodType ? z.infer<S> : undefined;
    const clientRequestId = randomUUID();
    const headers = createHttpHeaders({ Accept: 'application/json', ...(spec.headers ?? {}) });
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers.set('Content-Type', 'application/json');
    }

    // Own timeout so that it can be told apart from a caller's cancellation.
    const timeoutController = new AbortController();
    let timedOut = false;
    const timer =
      this.#timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            timeoutController.abort();
          }, this.#timeoutMs)
        : undefined;
    const signal =
      spec.abortSignal === undefined ? timeoutController.signal : AbortSignal.any([spec.abortSignal, timeoutController.signal]);

    const request = createPipelineRequest({
      url: spec.url,
      method: spec.method,
      headers,
      requestId: clientRequestId,
      abortSignal: signal,
      allowInsecureConnection: this.#allowInsecure,
      ...(body === undefined ? {} : { body }),
    });

    let response: PipelineResponse;
    try {
      response = await this.pipeline.sendRequest(this.#httpClient, request);
    } catch (err) {
      if (!timedOut && spec.abortSignal?.aborted === true) {
        throw err; // caller cancellation: propagate the AbortError untouched
      }
      const restResponse = getRestErrorResponse(err);
      if (restResponse !== undefined && !timedOut) {
        throw errorFromHttpResponse({
          statusCode: restResponse.status,
          headers: restResponse.headers,
          ...(restResponse.bodyAsText == null ? {} : { bodyText: restResponse.bodyAsText }),
          operation: spec.operation,
          clientRequestId,
        });
      }
      throw errorFromTransportFailure(err, {
        operation: spec.operation,
        clientRequestId,
        timedOut,
        timeoutMs: this.#timeoutMs,
      });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }

    const status = response.status;
    const requestId =
      response.headers.get('x-ms-request-id') ?? response.headers.get('x-ms-correlation-request-id') ?? undefined;
    if (status < 200 || status >= 300) {
      throw errorFromHttpResponse({
        statusCode: status,
        headers: response.headers,
        ...(response.bodyAsText == null ? {} : { bodyText: response.bodyAsText }),
        operation: spec.operation,
        clientRequestId,
      });
    }
    if (spec.schema === undefined) {
      return { status, body: undefined as Out, requestId };
    }
    const text = response.bodyAsText ?? '';
    const fmtOpts = {
      statusCode: status,
      operation: spec.operation,
      clientRequestId,
      ...(requestId === undefined ? {} : { requestId }),
    };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AzureResponseFormatError(
        `${spec.operation}: HTTP ${status} response is not JSON (${text.length} bytes, content-type ${response.headers.get('content-type') ?? 'none'})`,
        '(root)',
        fmtOpts,
      );
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = formatIssuePath(issue?.path ?? []);
      const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
      throw new AzureResponseFormatError(
        `${spec.operation}: response does not match the ${this.apiVersion} schema at ${path}: ${scrubSecrets(issue?.message ?? 'invalid')}${more}`,
        path,
        fmtOpts,
      );
    }
    return { status, body: parsed.data as Out, requestId };
  }
}

function getRestErrorResponse(err: unknown): PipelineResponse | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const r = (err as { response?: unknown }).response;
  if (typeof r === 'object' && r !== null && typeof (r as { status?: unknown }).status === 'number') {
    return r as PipelineResponse;
  }
  return undefined;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * Bearer header over plain http (emulator only, AZURE_ALLOW_INSECURE_HTTP=true):
 * core-rest-pipeline's bearerTokenAuthenticationPolicy refuses non-https URLs by design.
 */
function insecureBearerTokenPolicy(credential: TokenCredential, scopes: string[]): PipelinePolicy {
  let cached: { token: string; expiresOnTimestamp: number } | null = null;
  return {
    name: 'insecureBearerTokenPolicy',
    async sendRequest(request, next) {
      if (cached === null || cached.expiresOnTimestamp - 60_000 < Date.now()) {
        cached = await credential.getToken(scopes, { abortSignal: request.abortSignal });
      }
      if (cached !== null) request.headers.set('Authorization', `Bearer ${cached.token}`);
      return next(request);
    },
  };
}

export { AzureError };
