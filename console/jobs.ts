/**
 * What the console asks Temporal: lists via search attributes, status via the workflow's query, and the workflow's
 * updates for shipping and cancellation. Everything returned here is rendered, so nothing secret is returned.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';
import { ReturnAddressSchema, type ReturnAddress } from '../common/address';
import { jobNameFromWorkflowId, workflowIdForJob } from '../common/ids';
import type { JobSpec } from '../common/job-spec';
import { ProblemSchema, type Problem } from '../common/problems';
import { PrepareProgressSchema, type PrepareProgress } from '../common/prepare-contract';
import { DriveIdsKey, ImportJobNameKey, ImportJobStateKey, ImportJobStepKey, TrackingNumberKey } from '../common/search-attributes';
import type { ShipmentInput } from '../common/shipping';
import {
  IMPORT_JOB_WORKFLOW_TYPE,
  cancelUpdate,
  shipUpdate,
  statusQuery,
  type CancelResult,
  type ImportJobInput,
  type ImportJobStatus,
  type ShipmentReceipt,
} from '../workflows/import-job-messages';

/** Workflow ids the console accepts in URLs: only import jobs. */
export const WORKFLOW_ID_PATTERN = /^import-job-[a-z][a-z0-9-]{2,63}$/;
/** Search terms: job names, tracking numbers, drive serials. Anything else is refused (no query injection). */
export const SEARCH_TERM_PATTERN = /^[A-Za-z0-9._ -]{1,80}$/;

const QUERY_TIMEOUT_MS = 5_000;
const LIST_LIMIT = 200;

export interface JobRow {
  workflowId: string;
  jobName: string;
  step?: string;
  azureState?: string;
  trackingNumber?: string;
  driveIds: string[];
  executionStatus: string;
  startTime: Date;
  closeTime?: Date;
}

function rowOf(wf: WorkflowExecutionInfo): JobRow {
  const sa = wf.typedSearchAttributes;
  return {
    workflowId: wf.workflowId,
    jobName: sa.get(ImportJobNameKey) ?? jobNameFromWorkflowId(wf.workflowId) ?? wf.workflowId,
    step: sa.get(ImportJobStepKey),
    azureState: sa.get(ImportJobStateKey),
    trackingNumber: sa.get(TrackingNumberKey),
    driveIds: sa.get(DriveIdsKey) ?? [],
    executionStatus: wf.status.name,
    startTime: wf.startTime,
    closeTime: wf.closeTime,
  };
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Import-job workflows of this deployment (its task queue). */
function baseQuery(taskQueue: string | undefined): string {
  return `WorkflowType = ${quote(IMPORT_JOB_WORKFLOW_TYPE)}${taskQueue ? ` AND TaskQueue = ${quote(taskQueue)}` : ''}`;
}

/** The visibility query for the operator's search box, or an error message for a term that cannot be searched. */
export function searchQuery(term: string | undefined, taskQueue?: string): { query: string } | { error: string } {
  const base = baseQuery(taskQueue);
  const t = (term ?? '').trim();
  if (!t) return { query: base };
  if (!SEARCH_TERM_PATTERN.test(t)) return { error: 'Search by job name, tracking number or drive serial (letters, digits, ".", "_", "-").' };
  const compact = t.replace(/\s+/g, '');
  const variants = [...new Set([compact, compact.toUpperCase(), compact.toLowerCase()])];
  const clauses = [
    ...new Set([
      ...variants.map((v) => `ImportJobName = ${quote(v)}`),
      ...variants.map((v) => `ImportTrackingNumber = ${quote(v)}`),
      ...variants.map((v) => `ImportDriveIds = ${quote(v)}`),
    ]),
  ];
  return { query: `${base} AND (${clauses.join(' OR ')})` };
}

export class JobsApi {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
  ) {}

  async list(query: string, limit = LIST_LIMIT): Promise<JobRow[]> {
    const rows: JobRow[] = [];
    for await (const wf of this.client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      rows.push(rowOf(wf));
      if (rows.length >= limit) break;
    }
    return rows;
  }

  /** The workflow's status query, or undefined when it cannot be answered in time (no worker, unknown id). */
  async status(workflowId: string): Promise<ImportJobStatus | undefined> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => this.client.workflow.getHandle(workflowId).query(statusQuery));
    } catch {
      return undefined;
    }
  }

  async describe(workflowId: string): Promise<JobRow | undefined> {
    try {
      const d = await this.client.workflow.getHandle(workflowId).describe();
      if (d.type !== IMPORT_JOB_WORKFLOW_TYPE) return undefined;
      return rowOf(d as unknown as WorkflowExecutionInfo);
    } catch {
      return undefined;
    }
  }

  /** Jobs waiting for drives to ship, with their status, oldest (nearest deadline) first. */
  async awaitingShipment(): Promise<{ row: JobRow; status: ImportJobStatus }[]> {
    const rows = await this.list(
      `${baseQuery(this.taskQueue)} AND ExecutionStatus = 'Running' AND ImportJobStep = 'awaiting-shipping'`,
    );
    const withStatus = await mapLimited(rows, 8, async (row) => ({ row, status: await this.status(row.workflowId) }));
    return withStatus
      .filter((j): j is { row: JobRow; status: ImportJobStatus } => j.status?.step === 'awaiting-shipping')
      .sort((a, b) => deadlineOf(a) - deadlineOf(b) || a.row.startTime.getTime() - b.row.startTime.getTime());
  }

  async ship(workflowId: string, shipment: ShipmentInput): Promise<{ ok: true; receipt: ShipmentReceipt } | { ok: false; problems: Problem[] }> {
    try {
      const receipt = await this.client.workflow.getHandle(workflowId).executeUpdate(shipUpdate, { args: [shipment] });
      return { ok: true, receipt };
    } catch (err) {
      return { ok: false, problems: rejectionProblems(err) };
    }
  }

  async cancel(workflowId: string, reason: string, requestedBy: string): Promise<{ ok: true; result: CancelResult } | { ok: false; message: string }> {
    try {
      const result = await this.client.workflow.getHandle(workflowId).executeUpdate(cancelUpdate, { args: [{ reason, requestedBy }] });
      return { ok: true, result };
    } catch (err) {
      return { ok: false, message: rejectionMessage(err) };
    }
  }

  async start(spec: JobSpec, startedBy: string): Promise<{ ok: true; workflowId: string } | { ok: false; message: string }> {
    const workflowId = workflowIdForJob(spec.jobName);
    const input: ImportJobInput = { spec, startedBy };
    try {
      await this.client.workflow.start(IMPORT_JOB_WORKFLOW_TYPE, {
        args: [input],
        taskQueue: this.taskQueue,
        workflowId,
        typedSearchAttributes: [
          { key: ImportJobNameKey, value: spec.jobName },
          { key: ImportJobStepKey, value: 'preparing' },
        ],
      });
      return { ok: true, workflowId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { ok: false, message: `A job named ${spec.jobName} already exists; job names are unique.` };
      }
      return { ok: false, message: `Temporal refused to start the job: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * The return address from the workflow's start input: the first history event (WorkflowExecutionStarted), decoded
   * with the client's data converter. Only the validated return address is kept; the rest of the input (drive
   * secret refs, dataset paths) is dropped here and never rendered.
   */
  async returnAddress(workflowId: string): Promise<ReturnAddress | undefined> {
    try {
      const res = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId },
        maximumPageSize: 1,
      });
      const started = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
      const [input] = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, started?.input?.payloads);
      const spec = (input as Partial<ImportJobInput> | undefined)?.spec as { returnAddress?: unknown } | undefined;
      const parsed = ReturnAddressSchema.safeParse(spec?.returnAddress);
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Progress of a running drive preparation, from the prepare activity's last heartbeat. */
  async prepareProgress(workflowId: string): Promise<PrepareProgress | undefined> {
    try {
      const d = await this.client.workflow.getHandle(workflowId).describe();
      const pending = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'prepareDrives');
      if (!pending?.heartbeatDetails?.payloads?.length) return undefined;
      const [details] = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, pending.heartbeatDetails.payloads);
      const parsed = PrepareProgressSchema.safeParse(details);
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}

function deadlineOf(j: { status: ImportJobStatus }): number {
  const t = j.status.shippingDeadline ? Date.parse(j.status.shippingDeadline) : NaN;
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

const ProblemsSchema = z.array(ProblemSchema).min(1);

/**
 * A refused update as problems: the structured `details[0]` of an `InvalidShipment` failure when present (one entry
 * per field), else the failure's message as one general problem.
 */
export function rejectionProblems(err: unknown): Problem[] {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure) {
    const parsed = ProblemsSchema.safeParse(cause.details?.[0]);
    if (parsed.success) return parsed.data;
  }
  return [{ field: '(shipment)', message: rejectionMessage(err) }];
}

/** The workflow's own words for a refused update (validator or handler), else a generic message. */
export function rejectionMessage(err: unknown): string {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) return cause.message;
    if (cause instanceof Error) return cause.message;
    return err.message;
  }
  if (err instanceof Error && /not found/i.test(err.message)) return 'The job was not found (it may have ended).';
  return `The request could not be completed: ${err instanceof Error ? err.message : String(err)}`;
}

export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

