/**
 * ImportJobService: the one way importctl and the console reach Temporal for import jobs.
 *
 *   const jobs = new ImportJobService({ client, taskQueue, secrets });
 *   await jobs.start(spec, { startedBy, allowRerun?, beforeStart?, secrets? }) → StartedJob (spec: the parsed JobSpec)
 *   await jobs.list(filter?)                             → JobRow[]             (filter: JobListFilterInput)
 *   await jobs.awaitingShipment()                        → ClerkQueueEntry[]    (the clerks' queue; never reruns)
 *   await jobs.status(jobName)                           → JobStatusView        (query + prepare progress + runs)
 *   await jobs.execution(jobName)                        → RunSummary           (the latest run, no query)
 *   await jobs.runs(jobName)                             → RunSummary[]         (newest first)
 *   await jobs.ship(jobName, shipment)                   → ShipmentReceipt
 *   await jobs.shipBySignal(jobName, shipment)           → void
 *   await jobs.cancel(jobName, { reason, requestedBy })  → CancelResult
 *   await jobs.recreate(jobName, { requestedBy })        → string (the workflow's message)
 *   await jobs.returnAddress(jobName)                    → ReturnAddress | undefined
 *
 * Every method takes job names (never workflow ids) and throws the typed errors of ./job-errors: JobNotFoundError,
 * JobEndedError (with the final state), JobAlreadyRunningError, RerunRefusedError, ShipmentRejectedError (every
 * problem, from the failure's details), RequestRefusedError, InvalidInputError. A run started with `allowRerun` is
 * marked in its memo (`rerunOf`) and `JobRow.rerun` is true for it; `awaitingShipment()` leaves such runs out.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowIdReusePolicy } from '@temporalio/common';
import { z } from 'zod';
import { ReturnAddressSchema, type ReturnAddress } from '../common/address';
import { jobNameFromWorkflowId, JobNameSchema, storageAccountName, workflowIdForJob } from '../common/ids';
import type { JobSpec } from '../common/job-spec';
import type { PrepareProgress } from '../common/prepare-contract';
import { DriveIdsKey, ImportJobNameKey, ImportJobStateKey, ImportJobStepKey, StorageAccountKey, TrackingNumberKey } from '../common/search-attributes';
import type { SecretStore } from '../common/secret-ref';
import type { ShipmentInput } from '../common/shipping';
import {
  IMPORT_JOB_WORKFLOW_TYPE,
  cancelUpdate,
  recreateUpdate,
  shipSignal,
  shipUpdate,
  statusQuery,
  type CancelRequest,
  type CancelResult,
  type ImportJobInput,
  type ImportJobStatus,
  type ShipmentReceipt,
} from '../workflows/import-job-messages';
import { InvalidInputError, isCompletedError, outcomeOf, JobAlreadyRunningError, JobEndedError, JobNotFoundError, refusalOf, RerunRefusedError } from './job-errors';
import { decodePayloads } from './payloads';
import { parseJobListFilter, type JobListFilterInput } from './job-filter';
import { secretBindingProblems } from './spec-secrets';

/** How long a status query may take before the job counts as not answering (no worker polling). */
const QUERY_TIMEOUT_MS = 5_000;

/** Marker in a run's memo: it re-runs a job whose earlier run had ended. */
const RunMemoSchema = z.object({ rerunOf: z.string().optional() });
const RUN_MEMO_KEY = 'importJobRun';

export interface JobRow {
  jobName: string;
  workflowId: string;
  runId: string;
  executionStatus: WorkflowExecutionStatusName;
  step?: string;
  azureState?: string;
  trackingNumber?: string;
  driveIds: string[];
  startTime: Date;
  closeTime?: Date;
  /** True for a run started again after an earlier run of the same job had ended. */
  rerun: boolean;
}

export interface RunSummary {
  runId: string;
  executionStatus: WorkflowExecutionStatusName;
  startTime: Date;
  closeTime?: Date;
  /** running, completed, failed, cancelled, terminated, timed-out … */
  outcome: string;
  rerun: boolean;
}

export interface JobStatusView {
  jobName: string;
  workflowId: string;
  /** The latest run. */
  execution: RunSummary;
  /** The workflow's own status; undefined when no worker answered in time. */
  status?: ImportJobStatus;
  /** Live progress of a running drive preparation. */
  prepareProgress?: PrepareProgress;
  runs: RunSummary[];
}

export interface StartedJob {
  jobName: string;
  workflowId: string;
  runId: string;
  /** Run id of the ended run this one repeats (only with allowRerun). */
  rerunOf?: string;
}

export interface ClerkQueueEntry {
  row: JobRow;
  status: ImportJobStatus;
}

export interface ImportJobServiceOptions {
  client: Client;
  taskQueue: string;
  /** When given, start() refuses specs whose secret references belong to another job. */
  secrets?: SecretStore;
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class ImportJobService {
  readonly client: Client;
  readonly taskQueue: string;
  private readonly secrets: SecretStore | undefined;

  constructor(opts: ImportJobServiceOptions) {
    this.client = opts.client;
    this.taskQueue = opts.taskQueue;
    this.secrets = opts.secrets;
  }

  /**
   * Starts the job's workflow. Refused while a run is going (JobAlreadyRunningError) and, unless `allowRerun`, when
   * an earlier run has ended (RerunRefusedError). `beforeStart` runs after those refusals, right before the
   * workflow starts: the place to store the spec's secrets, so a refused start stores nothing. The spec's secret
   * references are checked against `secrets` (default: the service's store; pass the staged secrets when they are
   * only written by `beforeStart`).
   */
  async start(spec: JobSpec, opts: { startedBy: string; allowRerun?: boolean; beforeStart?: () => Promise<void>; secrets?: SecretStore }): Promise<StartedJob> {
    const workflowId = workflowIdForJob(spec.jobName);
    const secrets = opts.secrets ?? this.secrets;
    if (secrets) {
      const problems = await secretBindingProblems(spec, secrets);
      if (problems.length > 0) throw new InvalidInputError(`the job spec has ${problems.length} problem(s)`, problems);
    }
    const previous = await this.latest(spec.jobName);
    if (previous?.status.name === 'RUNNING') throw new JobAlreadyRunningError(spec.jobName);
    if (previous && !opts.allowRerun) throw new RerunRefusedError(spec.jobName, previous.status.name, previous.closeTime);
    await opts.beforeStart?.();
    const input: ImportJobInput = { spec, startedBy: opts.startedBy };
    const driveIds = 'prepared' in spec.drives ? spec.drives.prepared.map((d) => d.driveId) : spec.drives.prepare.drives.flatMap((d) => (d.driveId ? [d.driveId] : []));
    try {
      const handle = await this.client.workflow.start(IMPORT_JOB_WORKFLOW_TYPE, {
        args: [input],
        taskQueue: this.taskQueue,
        workflowId,
        // The server enforces the refusal too, so two concurrent starts cannot both make a new run by accident.
        workflowIdReusePolicy: previous ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
        memo: { [RUN_MEMO_KEY]: previous ? { rerunOf: previous.runId } : {} },
        typedSearchAttributes: [
          { key: ImportJobNameKey, value: spec.jobName },
          { key: ImportJobStepKey, value: 'preparing' },
          { key: StorageAccountKey, value: storageAccountName(spec.storageAccountId) },
          ...(driveIds.length > 0 ? [{ key: DriveIdsKey, value: driveIds }] : []),
        ],
      });
      return { jobName: spec.jobName, workflowId, runId: handle.firstExecutionRunId, ...(previous ? { rerunOf: previous.runId } : {}) };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const now = await this.latest(spec.jobName);
        if (now && now.status.name !== 'RUNNING') throw new RerunRefusedError(spec.jobName, now.status.name, now.closeTime);
        throw new JobAlreadyRunningError(spec.jobName);
      }
      throw err;
    }
  }

  async list(filter: JobListFilterInput = {}): Promise<JobRow[]> {
    const f = parseJobListFilter(filter);
    const clauses = [`WorkflowType = ${quote(IMPORT_JOB_WORKFLOW_TYPE)}`, `TaskQueue = ${quote(this.taskQueue)}`];
    if (f.runningOnly) clauses.push(`ExecutionStatus = 'Running'`);
    if (f.state) clauses.push(`${ImportJobStateKey.name} = ${quote(f.state)}`);
    if (f.step) clauses.push(`${ImportJobStepKey.name} = ${quote(f.step)}`);
    if (f.trackingNumber) clauses.push(`${TrackingNumberKey.name} = ${quote(f.trackingNumber)}`);
    if (f.driveId) clauses.push(`${DriveIdsKey.name} = ${quote(f.driveId)}`);
    if (f.search) {
      const compact = f.search.trim().replace(/\s+/g, '');
      const variants = [...new Set([compact, compact.toUpperCase(), compact.toLowerCase()])];
      const keys = [ImportJobNameKey.name, TrackingNumberKey.name, DriveIdsKey.name];
      clauses.push(`(${keys.flatMap((k) => variants.map((v) => `${k} = ${quote(v)}`)).join(' OR ')})`);
    }
    const rows: JobRow[] = [];
    for await (const wf of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(f.limit, 100) })) {
      rows.push(rowOf(wf));
      if (rows.length >= f.limit) break;
    }
    return rows;
  }

  /** Jobs whose drives wait to be shipped, nearest deadline first. Reruns are never shown to clerks. */
  async awaitingShipment(): Promise<ClerkQueueEntry[]> {
    const rows = (await this.list({ step: 'awaiting-shipping', runningOnly: true, limit: 200 })).filter((r) => !r.rerun);
    const entries = await mapLimited(rows, 8, async (row) => ({ row, status: await this.queryStatus(this.handle(row.jobName)) }));
    return entries
      .filter((e): e is ClerkQueueEntry => e.status?.step === 'awaiting-shipping')
      .sort((a, b) => deadlineOf(a.status) - deadlineOf(b.status) || a.row.startTime.getTime() - b.row.startTime.getTime());
  }

  async status(jobName: string): Promise<JobStatusView> {
    const latest = await this.latest(jobName);
    if (!latest) throw new JobNotFoundError(jobName);
    const handle = this.handle(jobName);
    const [status, runs] = await Promise.all([this.queryStatus(handle), this.runs(jobName, latest)]);
    const prepareProgress = status?.prepareProgress;
    return {
      jobName,
      workflowId: latest.workflowId,
      execution: summaryOf(latest),
      ...(status ? { status } : {}),
      ...(prepareProgress ? { prepareProgress } : {}),
      runs,
    };
  }

  /** The latest run alone (no status query): cheap, and answers for finished jobs without a worker. */
  async execution(jobName: string): Promise<RunSummary> {
    const latest = await this.latest(jobName);
    if (!latest) throw new JobNotFoundError(jobName);
    return summaryOf(latest);
  }

  /** Every run of the job, newest first. Visibility lags a little behind, so the latest run is merged in. */
  async runs(jobName: string, latest?: WorkflowExecutionDescription): Promise<RunSummary[]> {
    const workflowId = workflowIdForJob(checkedName(jobName));
    const runs: RunSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: `WorkflowId = ${quote(workflowId)}` })) runs.push(summaryOf(wf));
    const newest = latest ?? (await this.latest(jobName));
    if (newest) {
      const i = runs.findIndex((r) => r.runId === newest.runId);
      if (i >= 0) runs[i] = summaryOf(newest);
      else runs.push(summaryOf(newest));
    }
    return runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  }

  async ship(jobName: string, shipment: ShipmentInput): Promise<ShipmentReceipt> {
    return this.send(jobName, (h) => h.executeUpdate(shipUpdate, { args: [shipment] }));
  }

  /** Fire-and-forget: the workflow validates it later and records a rejection in its status. */
  async shipBySignal(jobName: string, shipment: ShipmentInput): Promise<void> {
    await this.send(jobName, (h) => h.signal(shipSignal, shipment));
  }

  async cancel(jobName: string, request: CancelRequest): Promise<CancelResult> {
    return this.send(jobName, (h) => h.executeUpdate(cancelUpdate, { args: [request] }));
  }

  async recreate(jobName: string, request: { requestedBy?: string }): Promise<string> {
    return this.send(jobName, (h) => h.executeUpdate(recreateUpdate, { args: [request] }));
  }

  /**
   * The return address from the run's start input (its first history event). Only the validated address leaves
   * here; the rest of the input (secret references, dataset paths) is dropped, never rendered.
   */
  async returnAddress(jobName: string): Promise<ReturnAddress | undefined> {
    try {
      const res = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: workflowIdForJob(checkedName(jobName)) },
        maximumPageSize: 1,
      });
      const payloads = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const [input] = await decodePayloads(this.client.options.loadedDataConverter, payloads);
      const parsed = z.object({ spec: z.object({ returnAddress: ReturnAddressSchema }) }).safeParse(input);
      return parsed.success ? parsed.data.spec.returnAddress : undefined;
    } catch {
      return undefined;
    }
  }

  private handle(jobName: string): WorkflowHandle {
    return this.client.workflow.getHandle(workflowIdForJob(checkedName(jobName)));
  }

  /** The latest run, or undefined when the job never existed. */
  private async latest(jobName: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      const d = await this.handle(jobName).describe();
      return d.type === IMPORT_JOB_WORKFLOW_TYPE ? d : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  private async queryStatus(handle: WorkflowHandle): Promise<ImportJobStatus | undefined> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(statusQuery));
    } catch {
      return undefined;
    }
  }

  /** Runs a request against the job, turning Temporal's errors into the job service's. */
  private async send<T>(jobName: string, request: (h: WorkflowHandle) => Promise<T>): Promise<T> {
    const handle = this.handle(jobName);
    try {
      return await request(handle);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) throw refusalOf(err.cause);
      if (err instanceof WorkflowNotFoundError || isCompletedError(err)) {
        const latest = await this.latest(jobName);
        if (!latest) throw new JobNotFoundError(jobName);
        if (latest.status.name !== 'RUNNING') throw new JobEndedError(jobName, latest.status.name, latest.closeTime);
      }
      throw err;
    }
  }
}

function checkedName(jobName: string): string {
  const r = JobNameSchema.safeParse(jobName);
  if (!r.success) throw new InvalidInputError(`job name "${jobName}": ${r.error.issues[0]?.message ?? 'invalid'}`, [{ field: 'jobName', message: r.error.issues[0]?.message ?? 'invalid' }]);
  return r.data;
}

function rowOf(wf: WorkflowExecutionInfo): JobRow {
  const sa = wf.typedSearchAttributes;
  const step = sa.get(ImportJobStepKey);
  const azureState = sa.get(ImportJobStateKey);
  const trackingNumber = sa.get(TrackingNumberKey);
  return {
    jobName: sa.get(ImportJobNameKey) ?? jobNameFromWorkflowId(wf.workflowId) ?? wf.workflowId,
    workflowId: wf.workflowId,
    runId: wf.runId,
    executionStatus: wf.status.name,
    ...(step !== undefined ? { step } : {}),
    ...(azureState !== undefined ? { azureState } : {}),
    ...(trackingNumber !== undefined ? { trackingNumber } : {}),
    driveIds: sa.get(DriveIdsKey) ?? [],
    startTime: wf.startTime,
    ...(wf.closeTime ? { closeTime: wf.closeTime } : {}),
    rerun: isRerun(wf),
  };
}

function isRerun(wf: Pick<WorkflowExecutionInfo, 'memo'>): boolean {
  const memo = RunMemoSchema.safeParse(wf.memo?.[RUN_MEMO_KEY]);
  return memo.success && memo.data.rerunOf !== undefined;
}

type RunInfo = Pick<WorkflowExecutionInfo, 'runId' | 'startTime' | 'closeTime' | 'status' | 'memo'>;

function summaryOf(wf: RunInfo): RunSummary {
  return {
    runId: wf.runId,
    executionStatus: wf.status.name,
    startTime: wf.startTime,
    ...(wf.closeTime ? { closeTime: wf.closeTime } : {}),
    outcome: outcomeOf(wf.status.name),
    rerun: isRerun(wf),
  };
}

function deadlineOf(status: ImportJobStatus): number {
  const t = status.shippingDeadline ? Date.parse(status.shippingDeadline) : NaN;
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
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
