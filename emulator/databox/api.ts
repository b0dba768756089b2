import { randomUUID } from 'node:crypto';
import { ArmError } from '../errors';
import type { Caller, Reply } from '../http';
import { parseSkipToken, skipToken } from '../importexport-api';
import { jobRoute, listKeysRoute, type AzureApi, type AzureRequest, type AzureRoute, type JobAddress } from '../router';
import type { Store } from '../store';
import type { DataBoxJobs } from './jobs';
import { DATABOX_API_VERSIONS, type DataBoxJob, type LroOperation, type LroOperationName } from './model';
import { renderJob } from './render';
import operations from './operations.json';
import type { DataBoxService } from './service';

const SUB = '/subscriptions/:subscriptionId/providers/Microsoft.DataBox';
const RG = '/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/providers/Microsoft.DataBox';
const JOB = `${RG}/jobs/:jobName`;
const PAGE_SIZE = 50;
/** Finished operations are kept (repeat polls answer the same) up to this many. */
const MAX_OPERATIONS = 10_000;

/** Microsoft.DataBox (swagger 2025-02-01, also answering 2022-12-01 and 2025-07-01). */
export function dataBoxApi(jobs: DataBoxJobs, service: DataBoxService, store: Store): AzureApi {
  const expand = (r: AzureRequest) => (r.query.get('$expand') ?? '').split(',').some((x) => x.trim().toLowerCase() === 'details');
  const render = (r: AzureRequest, job: DataBoxJob, details = expand(r)) => renderJob(job, { details, apiVersion: r.apiVersion });

  /** Answers a long-running operation as the settings say: 200 now, or 202 + Location + Retry-After, or a bare 202. */
  const longRunning = (r: AzureRequest, operation: LroOperationName, job: DataBoxJob, done: Reply): Reply => {
    const setting = store.databox.settings.lro[operation];
    if (setting.mode === 'sync') return done;
    if (setting.mode === 'async-no-location') return { status: 202 };
    const op: LroOperation = {
      id: randomUUID(),
      operation,
      subscriptionId: job.subscriptionId,
      resourceGroup: job.resourceGroup,
      jobName: job.name,
      pollsLeft: setting.polls,
      retryAfterSeconds: setting.retryAfterSeconds,
    };
    const ops = store.databox.operations;
    ops.set(op.id, op);
    if (ops.size > MAX_OPERATIONS) ops.delete(ops.keys().next().value ?? '');
    store.save();
    return { status: 202, headers: pollHeaders(r, op, job.location) };
  };
  const pollHeaders = (r: AzureRequest, op: LroOperation, location: string): Record<string, string> => ({
    Location: `${r.origin}/subscriptions/${op.subscriptionId}/providers/Microsoft.DataBox/locations/${location}/operationResults/${op.id}?api-version=${r.apiVersion}`,
    'Retry-After': String(op.retryAfterSeconds),
  });

  const list = (r: AzureRequest, byResourceGroup: boolean): Reply => {
    const all = jobs.list(r.params.subscriptionId ?? '', byResourceGroup ? (r.params.resourceGroup ?? '') : undefined);
    const skip = parseSkipToken(r.query.get('$skipToken') ?? r.query.get('$skiptoken'), '$skipToken');
    const body: { value: unknown[]; nextLink?: string } = { value: all.slice(skip, skip + PAGE_SIZE).map((j) => render(r, j)) };
    if (skip + PAGE_SIZE < all.length) body.nextLink = `${r.origin}${r.pathname}?api-version=${r.apiVersion}&$skipToken=${skipToken(skip + PAGE_SIZE)}`;
    return { status: 200, body };
  };

  const location = (r: AzureRequest) => r.params.location ?? '';
  /** Jobs_Create and Jobs_Update: a required JSON body, answered with the job and its details, long-running as the settings say. */
  const jobWrite = (operation: 'Jobs_Create' | 'Jobs_Update', method: string, write: (j: JobAddress, body: unknown, caller: Caller) => DataBoxJob): AzureRoute =>
    jobRoute(operation, method, JOB, async (j, r) => {
      const job = write(j, await r.json(true), r.caller);
      return longRunning(r, operation, job, { status: 200, body: render(r, job, true) });
    });
  /** POST actions on a job that take a required JSON body and answer 204. */
  const jobAction = (operation: string, action: string, run: (j: JobAddress, body: unknown) => void): AzureRoute =>
    jobRoute(operation, 'POST', `${JOB}/${action}`, async (j, r) => {
      run(j, await r.json(true));
      return { status: 204 };
    });
  /** The service's POST actions on a location (a required JSON body, answered 200 with what the service computes). */
  const locationAction = (operation: string, scope: string, action: string, compute: (location: string, body: unknown) => unknown): AzureRoute => ({
    operation,
    method: 'POST',
    path: `${scope}/locations/:location/${action}`,
    handler: async (r) => ({ status: 200, body: compute(location(r), await r.json(true)) }),
  });
  return {
    name: 'databox',
    namespace: 'Microsoft.DataBox',
    apiVersions: DATABOX_API_VERSIONS,
    // ApiError's details are {code, message} only; the field stays named in each message and in error.target.
    errorBody: (e) => {
      const { error } = e.body();
      return { error: { ...error, ...(error.details ? { details: error.details.map((d) => ({ code: d.code, message: d.message })) } : {}) } };
    },
    routes: [
      { operation: 'Operations_List', method: 'GET', path: '/providers/Microsoft.DataBox/operations', handler: () => ({ status: 200, body: { value: operations } }) },
      { operation: 'Jobs_List', method: 'GET', path: `${SUB}/jobs`, handler: (r) => list(r, false) },
      { operation: 'Jobs_ListByResourceGroup', method: 'GET', path: `${RG}/jobs`, handler: (r) => list(r, true) },
      jobRoute('Jobs_Get', 'GET', JOB, (j, r) => ({ status: 200, body: render(r, jobs.mustFind(j.sub, j.rg, j.name)) })),
      jobWrite('Jobs_Create', 'PUT', (j, body, caller) => jobs.create(j.sub, j.rg, j.name, body, caller)),
      jobWrite('Jobs_Update', 'PATCH', (j, body, caller) => jobs.update(j.sub, j.rg, j.name, body, caller)),
      jobRoute('Jobs_Delete', 'DELETE', JOB, (j, r) => {
        const job = jobs.find(j.sub, j.rg, j.name);
        if (!jobs.delete(j.sub, j.rg, j.name) || !job) return { status: 204 };
        return longRunning(r, 'Jobs_Delete', job, { status: 200 });
      }),
      {
        operation: 'OperationResults_Get',
        method: 'GET',
        path: `${SUB}/locations/:location/operationResults/:operationId`,
        handler: (r) => {
          const op = store.databox.operations.get(r.params.operationId ?? '');
          if (!op || op.subscriptionId.toLowerCase() !== (r.params.subscriptionId ?? '').toLowerCase()) {
            throw new ArmError(404, 'ResourceNotFound', `The operation '${r.params.operationId ?? ''}' was not found.`);
          }
          if (op.pollsLeft > 0) {
            op.pollsLeft -= 1;
            store.save();
            return { status: 202, headers: pollHeaders(r, op, location(r)) };
          }
          if (op.operation === 'Jobs_Delete') return { status: 204 };
          const job = jobs.mustFind(op.subscriptionId, op.resourceGroup, op.jobName);
          return { status: 200, body: render(r, job, true) };
        },
      },
      jobAction('Jobs_MarkDevicesShipped', 'markDevicesShipped', (j, body) => jobs.markDevicesShipped(j.sub, j.rg, j.name, body)),
      jobAction('Jobs_Cancel', 'cancel', (j, body) => jobs.cancel(j.sub, j.rg, j.name, body)),
      listKeysRoute('Jobs_ListCredentials', `${JOB}/listCredentials`, (j) => jobs.listCredentials(j.sub, j.rg, j.name)),
      jobAction('Mitigate', 'mitigate', (j, body) => jobs.mitigate(j.sub, j.rg, j.name, body)),
      jobRoute('Jobs_BookShipmentPickUp', 'POST', `${JOB}/bookShipmentPickUp`, async (j, r) => {
        const body = jobs.bookShipmentPickUp(j.sub, j.rg, j.name, await r.json(true));
        return { status: 200, body };
      }),
      locationAction('Service_ListAvailableSkusByResourceGroup', RG, 'availableSkus', (l, body) => service.availableSkus(l, body)),
      locationAction('Service_RegionConfiguration', SUB, 'regionConfiguration', (l, body) => service.regionConfiguration(l, body)),
      locationAction('Service_RegionConfigurationByResourceGroup', RG, 'regionConfiguration', (l, body) => service.regionConfiguration(l, body)),
      locationAction('Service_ValidateInputs', SUB, 'validateInputs', (l, body) => service.validateInputs(l, body)),
      locationAction('Service_ValidateInputsByResourceGroup', RG, 'validateInputs', (l, body) => service.validateInputs(l, body)),
      locationAction('Service_ValidateAddress', SUB, 'validateAddress', (l, body) => service.validateAddress(l, body)),
    ],
  };
}

