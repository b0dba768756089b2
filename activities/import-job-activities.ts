/**
 * The import-job workflow's Azure activities: thin, idempotent calls through the Azure port, routed by the
 * request's `api` (absent = the classic Import/Export API, as every request recorded before Data Box was).
 * Every failure leaves here as an ApplicationFailure classified by the port's `classify()`, and is counted by that
 * type; every job snapshot a call returns counts the Azure state it shows.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import {
  AzureJobRefSchema,
  CancelAzureJobRequestSchema,
  CreateAzureJobRequestSchema,
  GetSiteRequestSchema,
  ShippingUpdateRequestSchema,
  apiOf,
  type AzureApi,
  type AzureJobRef,
  type JobSnapshot,
} from '../common/azure-job';
import type { SecretStore } from '../common/secret-ref';
import { recordAzureError, recordJobState } from '../metrics/activity-metrics';
import { asActivityFailure, classify, type AzurePort, type AzurePorts } from './azure/port';

export interface ImportJobActivityDeps {
  /** One adapter per Azure API (see activities/azure/index.ts `createAzurePorts`). */
  azure: AzurePorts;
  secrets: SecretStore;
  /** Used to look up other workflows by tracking number (visibility); optional in unit tests. */
  temporal?: Client;
  namespace?: string;
}

export function createImportJobActivities(deps: ImportJobActivityDeps) {
  const portFor = (request: { api?: AzurePort['api'] | undefined }): AzurePort => deps.azure[apiOf(request)];
  const signal = (): { abortSignal: AbortSignal } => ({ abortSignal: Context.current().cancellationSignal });

  /** An activity that validates its request, runs it on the request's adapter and classifies (and counts) any failure. */
  const onPort =
    <S extends z.ZodType<{ api?: AzureApi | undefined }>, R>(schema: S, call: (port: AzurePort, req: z.infer<S>) => Promise<R>) =>
    async (raw: z.infer<S>): Promise<R> => {
      try {
        return await asActivityFailure(async () => {
          const req = schema.parse(raw);
          return call(portFor(req), req);
        });
      } catch (failure) {
        recordAzureError(classify(failure).type);
        throw failure;
      }
    };

  /** Counts the Azure state a call saw for the job. */
  const seen = (ref: AzureJobRef, snapshot: JobSnapshot): void =>
    recordJobState(`${apiOf(ref)}/${ref.subscriptionId}/${ref.resourceGroup}/${ref.jobName}`, snapshot.state);

  return {
    getSite: onPort(GetSiteRequestSchema, (port, req) => port.findShippingSite(req, signal())),

    /** Create the Azure job, idempotent: the adapter recognises our own earlier attempt by its request id. */
    createAzureJob: onPort(CreateAzureJobRequestSchema, async (port, req) => {
      // The one place BitLocker keys are resolved; they go straight into the request body and nowhere else.
      const drives = await Promise.all(
        req.drives.map(async (d) => ({
          driveId: d.driveId,
          manifestFile: d.manifestFile,
          manifestHash: d.manifestHash,
          // Bound to the job: a spec naming another job's secret is refused here too, not only at the door.
          bitLockerKey: await deps.secrets.get(d.bitLockerKeyRef, { jobName: req.jobName }),
        })),
      );
      const created = await port.createJob({ ...req, drives }, signal());
      seen(req, created.snapshot);
      return created;
    }),

    /** Record the shipment with Azure; exactly once in effect: a retry that finds it applied does nothing. */
    updateShipping: onPort(ShippingUpdateRequestSchema, async (port, req) => {
      const updated = await port.recordShipment(req, { ...signal(), firstAttempt: Context.current().info.attempt === 1 });
      seen(req, updated.snapshot);
      return updated;
    }),

    getAzureJob: onPort(AzureJobRefSchema, async (port, ref) => {
      const snapshot = await port.getJobSnapshot(ref, signal());
      seen(ref, snapshot);
      return snapshot;
    }),

    requestAzureCancel: onPort(CancelAzureJobRequestSchema, async (port, req) => {
      const snapshot = await port.requestCancellation(req, signal());
      seen(req, snapshot);
      return snapshot;
    }),

    /** Other import jobs that recorded this tracking number (via the typed search attribute). */
    async findJobsByTrackingNumber(req: { trackingNumber: string; excludeWorkflowId: string }): Promise<string[]> {
      if (!deps.temporal) return [];
      const safe = req.trackingNumber.replace(/[^A-Z0-9]/gi, '');
      const names: string[] = [];
      const query = `ImportTrackingNumber = '${safe}' AND WorkflowId != '${req.excludeWorkflowId.replace(/'/g, '')}'`;
      for await (const wf of deps.temporal.workflow.list({ query })) names.push(wf.workflowId);
      return names;
    },
  };
}
