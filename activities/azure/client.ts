/**
 * Microsoft.ImportExport (ARM) through Microsoft's generated client, `@azure/arm-storageimportexport`: the SDK
 * builds the URLs, serialises, authenticates and pages; every response body is validated with the wire schemas of
 * ./schemas (the one model of this API here); every failure is an AzurePortError (./port).
 */
import { StorageImportExport } from '@azure/arm-storageimportexport';
import type { AzureConfig } from './config';
import { REQUEST_ID_TAG, diffBitLockerKeys, diffJobSpec } from './job-spec';
import { AzurePortError, type CallOptions } from './port';
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
} from './schemas';
import { type ArmClientOptions, type SdkCall, armClientSettings, sdkCall, sdkPages, sdkSend } from './transport';

export type ImportExportClientOptions = ArmClientOptions;

export interface ListJobsOptions extends CallOptions {
  /** `$top` (≤ 100): page size hint. */
  top?: number;
  /** `$filter` (OData; semantics undocumented by the RP). */
  filter?: string;
}

export interface CreateJobOptions extends CallOptions {
  /**
   * Stable id of the logical create request (e.g. the workflow id). Stored in the `importOrchestratorRequestId`
   * tag; a retry finds the job it created by this tag.
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

/** Invalid arguments are caller bugs: non-retryable, and never sent. */
const nonEmpty = (value: string, what: string): string => {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new AzurePortError('AzureRequestError', `${what} must be a non-empty string`, { code: 'InvalidArgument', problems: [{ field: what, message: 'must be a non-empty string' }] });
  }
  return value;
};

/** The BitLocker keys a request body carries, to keep them out of error messages. */
const keysIn = (body: PutJobParameters): string[] => (body.properties?.driveList ?? []).flatMap((d) => (d.bitLockerKey === undefined ? [] : [d.bitLockerKey]));

async function collect<T>(pages: AsyncIterable<{ value: T[] }>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page.value);
  return out;
}

export class ImportExportClient {
  readonly endpoint: string;
  readonly subscriptionId: string;
  readonly apiVersion: string;
  readonly #sdk: StorageImportExport;

  constructor(config: AzureConfig, options: ImportExportClientOptions = {}) {
    const { credential, options: sdkOptions } = armClientSettings(config, options);
    this.endpoint = sdkOptions.endpoint;
    this.subscriptionId = config.subscriptionId;
    this.apiVersion = config.apiVersion;
    this.#sdk = new StorageImportExport(credential, config.subscriptionId, { ...sdkOptions, apiVersion: config.apiVersion });
  }

  #call(operation: string, opts: CallOptions, secrets?: readonly string[]): SdkCall {
    return { operation, apiVersion: this.apiVersion, abortSignal: opts.abortSignal, ...(secrets === undefined ? {} : { secrets }) };
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Locations & operations

  async listLocations(opts: CallOptions = {}): Promise<Location[]> {
    return collect(sdkPages(this.#call('Locations_List', opts), LocationsResponseSchema, (o) => this.#sdk.locations.list(o).byPage()));
  }

  /** `name` may be a short name ("westus") or a display name ("West US"). */
  async getLocation(name: string, opts: CallOptions = {}): Promise<Location> {
    nonEmpty(name, 'locationName');
    return (await sdkCall(this.#call('Locations_Get', opts), LocationSchema, (o) => this.#sdk.locations.get(name, o))).body;
  }

  async listOperations(opts: CallOptions = {}): Promise<Operation[]> {
    return collect(sdkPages(this.#call('Operations_List', opts), ListOperationsResponseSchema, (o) => this.#sdk.operations.list(o).byPage()));
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Jobs

  async getJob(resourceGroup: string, jobName: string, opts: CallOptions = {}): Promise<JobResponse> {
    nonEmpty(resourceGroup, 'resourceGroupName');
    nonEmpty(jobName, 'jobName');
    return (await sdkCall(this.#call('Jobs_Get', opts), JobResponseSchema, (o) => this.#sdk.jobs.get(jobName, resourceGroup, o))).body;
  }

  /** Like getJob, but `undefined` on 404. */
  async tryGetJob(resourceGroup: string, jobName: string, opts: CallOptions = {}): Promise<JobResponse | undefined> {
    try {
      return await this.getJob(resourceGroup, jobName, opts);
    } catch (err) {
      if (err instanceof AzurePortError && err.type === 'AzureNotFoundError') return undefined;
      throw err;
    }
  }

  /** All jobs of a resource group (the SDK follows nextLink; the transport keeps it on our endpoint). */
  async listJobsByResourceGroup(resourceGroup: string, opts: ListJobsOptions = {}): Promise<JobResponse[]> {
    nonEmpty(resourceGroup, 'resourceGroupName');
    const query = listQuery(opts);
    return collect(
      sdkPages(this.#call('Jobs_ListByResourceGroup', opts), ListJobsResponseSchema, (o) => this.#sdk.jobs.listByResourceGroup(resourceGroup, { ...o, ...query }).byPage()),
    );
  }

  async listJobsBySubscription(opts: ListJobsOptions = {}): Promise<JobResponse[]> {
    const query = listQuery(opts);
    return collect(sdkPages(this.#call('Jobs_ListBySubscription', opts), ListJobsResponseSchema, (o) => this.#sdk.jobs.listBySubscription({ ...o, ...query }).byPage()));
  }

  /**
   * Idempotent create. GET first: a job that matches the requested spec (including the `importOrchestratorRequestId`
   * tag from `opts.clientRequestId`) returns `{ created: false }` without a PUT; one that differs is a
   * JobSpecConflict naming the differing fields; a 404 leads to the PUT. (Jobs_Create replaces a job still in
   * Creating, so a blind retried PUT could overwrite someone else's job.)
   */
  async createJob(resourceGroup: string, jobName: string, body: PutJobParameters, opts: CreateJobOptions = {}): Promise<CreateJobResult> {
    const requestBody: PutJobParameters =
      opts.clientRequestId === undefined ? body : { ...body, tags: { ...(body.tags ?? {}), [REQUEST_ID_TAG]: opts.clientRequestId } };
    const existing = await this.tryGetJob(resourceGroup, jobName, opts);
    if (existing !== undefined) {
      await this.#assertSameJob(resourceGroup, jobName, requestBody, existing, opts);
      return { job: existing, created: false };
    }
    const res = await this.createOrReplaceJobUnchecked(resourceGroup, jobName, requestBody, opts);
    // 201 = created; 200 = replaced a job that appeared between our GET and PUT (a concurrent creator).
    return { job: res.job, created: res.status === 201 };
  }

  /** Raw Jobs_Create WITHOUT the idempotency check (tests and tools). `status` is 201 (created) or 200 (replaced). */
  async createOrReplaceJobUnchecked(
    resourceGroup: string,
    jobName: string,
    body: PutJobParameters,
    opts: CallOptions & { clientTenantId?: string } = {},
  ): Promise<{ job: JobResponse; status: number }> {
    nonEmpty(resourceGroup, 'resourceGroupName');
    nonEmpty(jobName, 'jobName');
    const res = await sdkCall(this.#call('Jobs_Create', opts, keysIn(body)), JobResponseSchema, (o) =>
      this.#sdk.jobs.create(jobName, resourceGroup, body, { ...o, ...(opts.clientTenantId === undefined ? {} : { clientTenantId: opts.clientTenantId }) }),
    );
    return { job: res.body, status: res.status };
  }

  async #assertSameJob(resourceGroup: string, jobName: string, requested: PutJobParameters, existing: JobResponse, opts: CreateJobOptions): Promise<void> {
    const differences = diffJobSpec(requested, existing);
    const verify = opts.verifyBitLockerKeys ?? 'auto';
    const wantKeys =
      differences.length === 0 &&
      (verify === 'always' || (verify === 'auto' && opts.clientRequestId === undefined)) &&
      (requested.properties?.driveList ?? []).some((d) => d.bitLockerKey !== undefined);
    if (wantKeys) differences.push(...diffBitLockerKeys(requested, await this.listBitLockerKeys(resourceGroup, jobName, opts)));
    if (differences.length === 0) return;
    const fields = differences
      .map((d) => (d.requested === undefined ? d.field : `${d.field} (requested ${d.requested}, existing ${d.existing ?? '(none)'})`))
      .join('; ');
    throw new AzurePortError(
      'JobSpecConflict',
      `Jobs_Create: a job named '${jobName}' already exists in resource group '${resourceGroup}' ` +
        `(state ${existing.properties.state ?? 'unknown'}) with a different spec: ${fields}`,
      { operation: 'Jobs_Create', statusCode: 409, code: 'JobSpecConflict', differences, secrets: keysIn(requested) },
    );
  }

  async updateJob(resourceGroup: string, jobName: string, patch: UpdateJobParameters, opts: CallOptions = {}): Promise<JobResponse> {
    nonEmpty(resourceGroup, 'resourceGroupName');
    nonEmpty(jobName, 'jobName');
    // The SDK flattens UpdateJobParameters.properties into the top level; it nests them again on the wire.
    const flat = { ...(patch.tags === undefined ? {} : { tags: patch.tags }), ...(patch.properties ?? {}) };
    const secrets = (patch.properties?.driveList ?? []).flatMap((d) => (d.bitLockerKey === undefined ? [] : [d.bitLockerKey]));
    return (await sdkCall(this.#call('Jobs_Update', opts, secrets), JobResponseSchema, (o) => this.#sdk.jobs.update(jobName, resourceGroup, flat, o))).body;
  }

  /** Deletes a job. A 404 is an AzureNotFoundError; pass `ignoreNotFound` to treat it as done. */
  async deleteJob(resourceGroup: string, jobName: string, opts: CallOptions & { ignoreNotFound?: boolean } = {}): Promise<void> {
    nonEmpty(resourceGroup, 'resourceGroupName');
    nonEmpty(jobName, 'jobName');
    try {
      await sdkSend(this.#call('Jobs_Delete', opts), (o) => this.#sdk.jobs.delete(jobName, resourceGroup, o));
    } catch (err) {
      if (opts.ignoreNotFound === true && err instanceof AzurePortError && err.type === 'AzureNotFoundError') return;
      throw err;
    }
  }

  /** BitLocker keys of the job's drives. The result holds secrets: never log it or return it to a workflow. */
  async listBitLockerKeys(resourceGroup: string, jobName: string, opts: CallOptions = {}): Promise<DriveBitLockerKey[]> {
    nonEmpty(resourceGroup, 'resourceGroupName');
    nonEmpty(jobName, 'jobName');
    return collect(sdkPages(this.#call('BitLockerKeys_List', opts), GetBitLockerKeysResponseSchema, (o) => this.#sdk.bitLockerKeys.list(jobName, resourceGroup, o).byPage()));
  }
}

function listQuery(opts: ListJobsOptions): { top?: number; filter?: string } {
  if (opts.top !== undefined && (!Number.isInteger(opts.top) || opts.top < 1 || opts.top > 100)) {
    throw new AzurePortError('AzureRequestError', 'top must be an integer between 1 and 100', { code: 'InvalidArgument', problems: [{ field: 'top', message: 'an integer between 1 and 100' }] });
  }
  return { ...(opts.top === undefined ? {} : { top: opts.top }), ...(opts.filter === undefined ? {} : { filter: opts.filter }) };
}
