/**
 * What the console asks Temporal, through the one job service importctl uses too (client/job-service.ts): this file
 * only maps the console's URLs (workflow ids) to job names and the service's errors to what pages show. Everything
 * returned here is rendered, so nothing secret is returned.
 */
import type { Client } from '@temporalio/client';
import { ImportJobError, ShipmentRejectedError } from '../client/job-errors';
import { ImportJobService, type JobRow } from '../client/job-service';
import type { StagedSecretStore } from '../client/spec-secrets';
import type { ReturnAddress } from '../common/address';
import { jobNameFromWorkflowId } from '../common/ids';
import type { JobSpec } from '../common/job-spec';
import type { PrepareProgress } from '../common/prepare-contract';
import type { Problem } from '../common/problems';
import type { SecretStore } from '../common/secret-ref';
import type { ShipmentInput } from '../common/shipping';
import type { CancelResult, ImportJobStatus, ShipmentReceipt } from '../workflows/import-job-messages';

/** Workflow ids the console accepts in URLs: only import jobs. */
export const WORKFLOW_ID_PATTERN = /^import-job-[a-z][a-z0-9-]{2,63}$/;
/** Search terms: job names, tracking numbers, drive serials. Anything else is refused with a hint. */
export const SEARCH_TERM_PATTERN = /^[A-Za-z0-9._ -]{1,80}$/;

/** The search box's term, or an error message for a term that cannot be a job name, tracking number or serial. */
export function searchTerm(term: string | undefined): { term?: string } | { error: string } {
  const t = (term ?? '').trim();
  if (!t) return {};
  if (!SEARCH_TERM_PATTERN.test(t)) return { error: 'Search by job name, tracking number or drive serial (letters, digits, ".", "_", "-").' };
  return { term: t };
}

const jobNameOf = (workflowId: string): string => jobNameFromWorkflowId(workflowId) ?? workflowId;

/** What a page shows for a refusal: the service's own words (it names the job, never a workflow id). */
function refusal(err: unknown): string {
  if (err instanceof ImportJobError) return err.message;
  throw err;
}

export class JobsApi {
  readonly service: ImportJobService;

  constructor(client: Client, taskQueue: string, secrets?: SecretStore) {
    this.service = new ImportJobService({ client, taskQueue, ...(secrets ? { secrets } : {}) });
  }

  list(term: string | undefined, limit: number): Promise<JobRow[]> {
    return this.service.list({ ...(term ? { search: term } : {}), limit });
  }

  /** The job's latest run with its status query and prepare progress; undefined when there is no such job. */
  async describe(workflowId: string): Promise<{ row: JobRow; status?: ImportJobStatus; prep?: PrepareProgress } | undefined> {
    try {
      const view = await this.service.status(jobNameOf(workflowId));
      const s = view.status;
      const row: JobRow = {
        jobName: view.jobName,
        workflowId: view.workflowId,
        runId: view.execution.runId,
        executionStatus: view.execution.executionStatus,
        ...(s?.step ? { step: s.step } : {}),
        ...(s?.azureState ? { azureState: s.azureState } : {}),
        ...(s?.shipment ? { trackingNumber: s.shipment.trackingNumber } : {}),
        driveIds: s?.drives.map((d) => d.driveId) ?? [],
        startTime: view.execution.startTime,
        ...(view.execution.closeTime ? { closeTime: view.execution.closeTime } : {}),
        rerun: view.execution.rerun,
      };
      return { row, ...(s ? { status: s } : {}), ...(view.prepareProgress ? { prep: view.prepareProgress } : {}) };
    } catch (err) {
      if (err instanceof ImportJobError) return undefined;
      throw err;
    }
  }

  async status(workflowId: string): Promise<ImportJobStatus | undefined> {
    return (await this.describe(workflowId))?.status;
  }

  /** Jobs waiting for drives to ship, nearest deadline first (re-runs of ended jobs are never shown to clerks). */
  awaitingShipment(): Promise<{ row: JobRow; status: ImportJobStatus }[]> {
    return this.service.awaitingShipment();
  }

  async ship(workflowId: string, shipment: ShipmentInput): Promise<{ ok: true; receipt: ShipmentReceipt } | { ok: false; problems: Problem[] }> {
    try {
      return { ok: true, receipt: await this.service.ship(jobNameOf(workflowId), shipment) };
    } catch (err) {
      if (err instanceof ShipmentRejectedError) return { ok: false, problems: err.problems };
      return { ok: false, problems: [{ field: '(shipment)', message: refusal(err) }] };
    }
  }

  async cancel(workflowId: string, reason: string, requestedBy: string): Promise<{ ok: true; result: CancelResult } | { ok: false; message: string }> {
    try {
      return { ok: true, result: await this.service.cancel(jobNameOf(workflowId), { reason, requestedBy }) };
    } catch (err) {
      return { ok: false, message: refusal(err) };
    }
  }

  /** Starts a job; the spec's staged secrets are written only once every refusal has been ruled out. */
  async start(spec: JobSpec, startedBy: string, staged: StagedSecretStore): Promise<{ ok: true; workflowId: string } | { ok: false; problems: Problem[] }> {
    try {
      return { ok: true, workflowId: (await this.service.start(spec, { startedBy, secrets: staged, beforeStart: () => staged.commit() })).workflowId };
    } catch (err) {
      if (err instanceof ImportJobError) return { ok: false, problems: err.problems.length > 0 ? err.problems : [{ field: 'jobName', message: err.message }] };
      throw err;
    }
  }

  returnAddress(workflowId: string): Promise<ReturnAddress | undefined> {
    return this.service.returnAddress(jobNameOf(workflowId));
  }
}
