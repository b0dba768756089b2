/**
 * The state of one import job and the handlers that read or change it (status, ship, cancel, recreate, prepare
 * progress). Steps (workflows/steps/) drive it forward; handlers only ever touch it through these methods.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AzureApi, JobSnapshot, ShippingSite } from '../common/azure-job';
import type { JobSpec } from '../common/job-spec';
import type { PreparedDrive } from '../common/prepare-contract';
import { ImportJobNameKey, ImportJobStateKey, ImportJobStepKey, StorageAccountKey, TrackingNumberKey } from '../common/search-attributes';
import type { Shipment, ShipmentInput } from '../common/shipping';
import { localReads, rest, type NotificationKind, type RestActivities } from './activity-stubs';
import {
  cancelSignal,
  cancelUpdate,
  prepareProgressSignal,
  recreateUpdate,
  shipSignal,
  shipUpdate,
  statusQuery,
  type CancelRequest,
  type CancelResult,
  type ImportJobOutcome,
  type ImportJobStatus,
  type ShipmentReceipt,
  type WorkflowStep,
} from './import-job-messages';
import { Lock } from './lock';
import { mergeSearchAttributeUpserts, searchAttributeBatchingInstalled } from './search-attribute-batching';
import { invalidShipment, validateShipmentFor } from './shipment-rules';
import { chooseOpenSite, formatSiteAddress, sameShipTo } from './steps/locate';
import { azureApiOf, cancellableStates, durationToMs, jobNameFromWorkflowId, problemsFromZodError, ShipmentSchema } from '../common/workflow-imports';

/** Thrown inside the steps when a cancellation was accepted; the workflow ends as `cancelled`. */
export class JobCancelled extends Error {}

/** The reads a shipment check makes: remote activities in older runs, local ones since. */
type ShipmentReads = Pick<RestActivities, 'getSite' | 'getAzureJob' | 'findJobsByTrackingNumber'>;

const ENDED_STEPS: readonly WorkflowStep[] = ['completed', 'closed', 'cancelled', 'failed'];

export class ImportJob {
  readonly status: ImportJobStatus;
  readonly timing: {
    shippingWindowMs: number;
    reminderMs: number[];
    closedSiteRetryMs: number;
    pollInitialMs: number;
    pollMaxMs: number;
    notReceivedMs: number;
  };
  /** Which Azure API runs the job (the classic one for workflows started before the choice existed). */
  readonly api: AzureApi;
  readonly jobRef: { api: AzureApi; subscriptionId: string; resourceGroup: string; jobName: string };
  preparedDrives: PreparedDrive[] = [];
  shipment: Shipment | undefined;
  cancel: (CancelRequest & { at: string }) | undefined;
  recreateRequested = false;
  /** Shipments sent as signals, validated and applied by the await-shipping step in arrival order. */
  readonly pendingSignalShipments: ShipmentInput[] = [];
  private shipmentRecordedAt: string | undefined;
  private readonly usedTrackingNumbers: string[] = [];
  /** Serialises shipment acceptance: its checks await activities, and two clerks may submit at once. */
  private readonly shipmentLock = new Lock();
  /** The running preparation, cancelled directly when a cancellation is accepted. */
  private preparation: CancellationScope | undefined;
  /** Whether Azure said it would accept a cancellation now (Data Box reports it per job). */
  private azureCancellable: boolean | undefined;
  /**
   * Runs started since this patch write their search attributes once per activation (workflows/search-attribute-
   * batching.ts) and take every earlier patched path without asking: each upsert is a visibility write on the
   * server, and each first use of a patch one more (TemporalChangeVersion). A job made 15 upserts, now 8.
   * Older runs replay their own markers.
   */
  readonly runsCurrentCode: boolean;

  constructor(
    readonly spec: JobSpec,
    startedBy: string | undefined,
  ) {
    this.timing = {
      shippingWindowMs: durationToMs(spec.timing.shippingWindow),
      reminderMs: spec.timing.reminders.map(durationToMs).sort((a, b) => a - b),
      closedSiteRetryMs: durationToMs(spec.timing.closedSiteRetryInterval),
      pollInitialMs: durationToMs(spec.timing.trackingPollInitial),
      pollMaxMs: durationToMs(spec.timing.trackingPollMax),
      notReceivedMs: durationToMs(spec.timing.notReceivedAlertAfter),
    };
    this.api = azureApiOf(spec);
    this.jobRef = { api: this.api, subscriptionId: spec.subscriptionId, resourceGroup: spec.resourceGroup, jobName: spec.jobName };
    this.status = { jobName: spec.jobName, step: 'preparing', cancelRequested: false, drives: [], remindersSent: [], rejectedSignals: [], timeline: [] };
    const batchingInstalled = searchAttributeBatchingInstalled();
    this.runsCurrentCode = patched('search-attributes-per-task');
    if (this.runsCurrentCode) {
      // A worker without the interceptor would record unmerged upserts that no other worker could replay.
      if (!batchingInstalled) throw new Error('The workflow bundle lacks workflows/search-attribute-batching.ts: bundle with workflowBundle() (worker/create-workers.ts)');
      mergeSearchAttributeUpserts();
    }
    upsertSearchAttributes([
      { key: ImportJobNameKey, value: spec.jobName },
      { key: StorageAccountKey, value: spec.storageAccountId.split('/').pop() ?? spec.storageAccountId },
      { key: ImportJobStepKey, value: this.status.step },
    ]);
    this.record('workflow started', startedBy);
  }

  // ---- state changes used by the steps ----

  now(): string {
    return new Date(Date.now()).toISOString();
  }

  record(event: string, by?: string, detail?: string): void {
    this.status.timeline.push({ at: this.now(), event, ...(by ? { by } : {}), ...(detail ? { detail } : {}) });
  }

  setStep(step: WorkflowStep): void {
    this.status.step = step;
    upsertSearchAttributes([{ key: ImportJobStepKey, value: step }]);
  }

  setAzureSnapshot(snap: JobSnapshot): void {
    if (this.status.azureState !== snap.state) {
      this.record(`Azure job state: ${snap.state}`);
      upsertSearchAttributes([{ key: ImportJobStateKey, value: snap.state }]);
    }
    this.status.azureState = snap.state;
    this.status.cancelRequested = this.status.cancelRequested || snap.cancelRequested;
    this.status.transferPercentComplete = snap.percentComplete;
    this.status.returnPackage = snap.returnPackage;
    this.azureCancellable = snap.cancellable;
    if (snap.stages) this.status.stages = snap.stages;
    this.status.azureError = snap.error;
    const hashes = new Map(this.preparedDrives.map((d) => [d.driveId, d.manifestHash]));
    this.status.drives = snap.drives.map((d) => ({ ...d, manifestHash: hashes.get(d.driveId) }));
  }

  /**
   * A snapshot taken before the drives ship. A Data Box job carries its own datacenter address, which is what the
   * clerk ships to from then on; when it differs from the address the clerk was shown, that is surfaced like a site
   * change. Returns true when the ship-to address changed.
   */
  async applySnapshotBeforeShipping(snap: JobSnapshot): Promise<boolean> {
    this.setAzureSnapshot(snap);
    const next = snap.shipTo;
    const previous = this.status.site;
    if (!next || (previous && sameShipTo(previous, next))) return false;
    this.status.site = next;
    if (!previous) return false;
    await this.changeSite(next, `the job's datacenter address is ${formatSiteAddress(next)}`, `Drives for ${this.spec.jobName} must go to ${formatSiteAddress(next)}.`);
    return true;
  }

  async notify(kind: NotificationKind, message: string): Promise<void> {
    // A log notification is a log line: the workflow logger writes it (through the worker's redacting logger, never
    // on replay) without an activity round trip. Older runs delivered it with an activity.
    if (this.spec.notification.kind === 'log' && (this.runsCurrentCode || patched('log-notify-in-workflow'))) {
      log.info(`[notify:${kind}] ${this.spec.jobName}: ${message}`, { jobName: this.spec.jobName, kind });
      return;
    }
    try {
      await rest.sendNotification({ target: this.spec.notification, jobName: this.spec.jobName, kind, message });
    } catch (err) {
      // A target outside the worker's notification policy must not fail the import itself: it is shown instead.
      if (!(err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'NotificationRefused')) throw err;
      this.record('notification refused by the worker', undefined, err.cause.message);
    }
  }

  throwIfCancelled(): void {
    if (this.cancel) throw new JobCancelled();
  }

  /** Runs the preparation in a scope that an accepted cancellation cancels (no watcher outlives it). */
  async runPreparation<T>(fn: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.preparation = scope;
    try {
      return await scope.run(fn);
    } finally {
      this.preparation = undefined;
      this.status.prepareProgress = undefined;
    }
  }

  outcome(result: ImportJobOutcome['result'], drives = this.status.drives): ImportJobOutcome {
    return { jobName: this.spec.jobName, result, azureState: this.status.azureState, drives, returnPackage: this.status.returnPackage };
  }

  /** A different ship-to address from now on: recorded, shown, and the team told. */
  async changeSite(next: ShippingSite, detail: string, message: string): Promise<void> {
    this.status.site = next;
    this.record('shipping site changed', undefined, detail);
    await this.notify('site-changed', message);
  }

  // ---- message handlers ----

  registerHandlers(): void {
    setHandler(statusQuery, () => this.status);
    setHandler(shipUpdate, async (raw) => this.acceptShipment(this.validateShipment(raw)), { validator: (raw) => void this.validateShipment(raw) });
    setHandler(shipSignal, (raw) => {
      this.pendingSignalShipments.push(raw);
    });
    setHandler(cancelUpdate, (req) => this.requestCancel(req), { validator: (_req: CancelRequest) => this.assertCancellable() });
    setHandler(cancelSignal, async (req) => {
      try {
        await this.requestCancel(req);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.status.rejectedSignals.push({ at: this.now(), problems: [message] });
        this.record('cancel signal rejected', req.requestedBy, message);
      }
    });
    setHandler(recreateUpdate, ({ requestedBy }) => this.requestRecreate(requestedBy), {
      validator: (_req: { requestedBy?: string }) => {
        if (this.status.step !== 'expired') throw ApplicationFailure.nonRetryable(`Only an expired job can be re-created (step: ${this.status.step})`, 'NotExpired');
      },
    });
    // State only, no commands: progress reports cost one history event each and change nothing else.
    setHandler(prepareProgressSignal, (progress) => {
      if (this.preparation) this.status.prepareProgress = { ...progress, at: this.now() };
    });
  }

  /** The checks that need no activity; also the update's validator, so a bad shipment leaves no trace in history. */
  validateShipment(raw: ShipmentInput): Shipment {
    const parsed = ShipmentSchema.safeParse(raw);
    if (!parsed.success) throw invalidShipment(problemsFromZodError(parsed.error));
    const s = parsed.data;
    if (this.shipment && this.shipment.trackingNumber === s.trackingNumber) return s; // a repeated submission: accepted as a no-op
    if (this.status.step !== 'awaiting-shipping') {
      throw ApplicationFailure.nonRetryable(`The job is not waiting for shipping information (step: ${this.status.step})`, 'NotAwaitingShipping');
    }
    const site = this.status.site;
    if (!site) throw ApplicationFailure.nonRetryable('No shipping site has been chosen yet', 'NotAwaitingShipping');
    validateShipmentFor(s, { site, expectedDriveCount: this.preparedDrives.length, now: new Date(Date.now()), usedTrackingNumbers: this.usedTrackingNumbers });
    return s;
  }

  /** Re-checks where the drives go and the tracking number with activities, then records the shipment. */
  acceptShipment(s: Shipment): Promise<ShipmentReceipt> {
    // Workflows recorded before this patch checked with (remote) activities, concurrently, and re-read the shipment
    // after the awaits; since, the checks are local activities and run one submission at a time.
    if (!this.runsCurrentCode && !patched('ship-checks-local')) return this.checkAndRecordShipment(s, rest);
    return this.shipmentLock.runExclusive(() => this.checkAndRecordShipment(s, localReads));
  }

  private async checkAndRecordShipment(s: Shipment, reads: ShipmentReads): Promise<ShipmentReceipt> {
    const settled = this.settledShipment(s);
    if (settled) return settled;
    await this.refuseIfShipToChanged(reads);
    const others = await reads.findJobsByTrackingNumber({ trackingNumber: s.trackingNumber, excludeWorkflowId: workflowInfo().workflowId });
    if (others.length > 0) {
      const jobs = others.map((id) => jobNameFromWorkflowId(id) ?? id).join(', ');
      throw invalidShipment([{ field: 'trackingNumber', message: `${s.trackingNumber} is already used by job(s) ${jobs}` }]);
    }
    // Without the lock (older runs) another submission may have been recorded while this one awaited.
    const raced = this.settledShipment(s);
    if (raced) return raced;
    this.shipment = s;
    this.shipmentRecordedAt = this.now();
    this.status.shipment = s;
    this.usedTrackingNumbers.push(s.trackingNumber);
    upsertSearchAttributes([{ key: TrackingNumberKey, value: s.trackingNumber }]);
    this.record(`shipment recorded: ${s.carrierName} ${s.trackingNumber}`, s.submittedBy, `${s.driveCount} drive(s) shipped ${s.shipDate}`);
    return this.receipt(s, false);
  }

  /** Sites get remapped while a job waits: a shipment to an address that is no longer right is refused. */
  private async refuseIfShipToChanged(reads: ShipmentReads): Promise<void> {
    const site = this.status.site!;
    if (this.api === 'databox') {
      // The job's own datacenter address is authoritative once the job exists.
      if (await this.applySnapshotBeforeShipping(await reads.getAzureJob(this.jobRef))) {
        throw ApplicationFailure.nonRetryable(`The datacenter address of this job has changed. Ship to ${formatSiteAddress(this.status.site!)} instead.`, 'SiteChanged');
      }
      return;
    }
    const current = await reads.getSite({ subscriptionId: this.spec.subscriptionId, locationName: site.locationName });
    if (current.isOpen) return;
    const { open: next } = await chooseOpenSite(this, [...current.alternateLocationNames]);
    const hint = next ? ` Ship to ${next.displayName} instead: ${formatSiteAddress(next)}.` : ' No alternate site is open right now.';
    if (next) await this.changeSite(next, `${site.displayName} closed; now ${next.displayName}`, `Site ${site.displayName} closed; drives must go to ${next.displayName}.`);
    throw ApplicationFailure.nonRetryable(`The shipping site ${site.displayName} has closed.${hint}`, 'SiteClosed');
  }

  /** The answer for a submission once a shipment is recorded: a duplicate, or a refusal. */
  private settledShipment(s: Shipment): ShipmentReceipt | undefined {
    if (!this.shipment) return undefined;
    if (this.shipment.trackingNumber === s.trackingNumber) return this.receipt(s, true);
    throw ApplicationFailure.nonRetryable(`A shipment (${this.shipment.trackingNumber}) is already recorded for this job`, 'AlreadyShipped');
  }

  private receipt(s: Shipment, duplicate: boolean): ShipmentReceipt {
    return {
      trackingNumber: s.trackingNumber,
      carrierName: s.carrierName,
      driveCount: s.driveCount,
      shipDate: s.shipDate,
      recordedAt: this.shipmentRecordedAt ?? this.now(),
      duplicate,
    };
  }

  private cancelProblem(): string | undefined {
    if (this.cancel) return undefined; // repeated: idempotent
    if (ENDED_STEPS.includes(this.status.step)) return `the job has already ended (${this.status.step})`;
    const azureState = this.status.azureState;
    const azureRefuses = this.azureCancellable === undefined ? azureState !== undefined && !cancellableStates(this.api).has(azureState) : !this.azureCancellable;
    if (azureState && azureRefuses) {
      return this.api === 'databox'
        ? `Azure no longer accepts cancellation: the job is ${azureState} (Data Box accepts it only before the disks ship)`
        : `Azure no longer accepts cancellation: the job is ${azureState} (cancellation is possible only while Creating, before the drives ship)`;
    }
    if (this.shipment) return 'the drives have been reported shipped; Azure accepts cancellation only before shipping';
    return undefined;
  }

  private assertCancellable(): void {
    const problem = this.cancelProblem();
    if (problem) throw ApplicationFailure.nonRetryable(`Cannot cancel: ${problem}`, 'CancelNotAllowed');
  }

  private async requestCancel(req: CancelRequest): Promise<CancelResult> {
    if (this.cancel) return { cancelled: true, azureCancelRequested: this.status.cancelRequested, message: 'cancellation was already requested' };
    this.assertCancellable();
    if (this.api === 'databox' && this.status.azureState) {
      // Data Box decides per job (isCancellable): the job counts as cancelled only once Azure has accepted.
      const snap = await rest.requestAzureCancel({ ...this.jobRef, reason: req.reason }).catch((err: unknown) => {
        const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        if (cause?.type === 'CancelNotAllowed') throw ApplicationFailure.nonRetryable(`Cannot cancel: ${cause.message}`, 'CancelNotAllowed');
        throw err;
      });
      this.acceptCancel(req);
      this.setAzureSnapshot(snap);
      this.record('Azure cancelRequested set');
      return { cancelled: true, azureCancelRequested: true, message: 'Azure job cancellation requested' };
    }
    this.acceptCancel(req);
    if (!this.status.azureState) return { cancelled: true, azureCancelRequested: false, message: 'cancelled before an Azure job existed' };
    this.setAzureSnapshot(await rest.requestAzureCancel({ ...this.jobRef, reason: req.reason }));
    this.record('Azure cancelRequested set');
    return { cancelled: true, azureCancelRequested: true, message: 'Azure job cancellation requested' };
  }

  private acceptCancel(req: CancelRequest): void {
    this.cancel = { ...req, at: this.now() };
    this.record('cancellation requested', req.requestedBy, req.reason);
    this.preparation?.cancel();
  }

  private requestRecreate(requestedBy: string | undefined): string {
    this.recreateRequested = true;
    this.record('re-creation requested', requestedBy);
    return 'the Azure job will be created again';
  }
}
