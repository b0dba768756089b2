/**
 * One Azure Import/Export import job = one workflow: prepare → locate → create → await shipping → update → track.
 * Deterministic orchestration only; every Azure call and every disk access is an activity.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createImportJobActivities } from '../activities/import-job-activities';
import type { createPrepareActivities } from '../activities/prepare/activity';
import { durationToMs } from '../common/duration';
import type { DriveStatusSnapshot, JobSnapshot, SiteInfo } from '../common/import-job-contract';
import { JobSpecSchema, describeIssues, type JobSpec } from '../common/job-spec';
import type { PreparedDrive } from '../common/prepare-contract';
import {
  DriveIdsKey,
  ImportJobNameKey,
  ImportJobStateKey,
  ImportJobStepKey,
  StorageAccountKey,
  TrackingNumberKey,
} from '../common/search-attributes';
import { ShipmentSchema, shipmentProblems, type Shipment, type ShipmentInput } from '../common/shipping';
import {
  cancelSignal,
  cancelUpdate,
  recreateUpdate,
  shipSignal,
  shipUpdate,
  statusQuery,
  type CancelRequest,
  type CancelResult,
  type ImportJobInput,
  type ImportJobOutcome,
  type ImportJobStatus,
  type ShipmentReceipt,
  type WorkflowStep,
} from './import-job-messages';

type RestActivities = ReturnType<typeof createImportJobActivities>;
type PrepareActivities = ReturnType<typeof createPrepareActivities>;

/** Errors no retry can fix: bad input, Azure validation/conflict/auth. */
const NON_RETRYABLE_TYPES = ['AzureValidationError', 'AzureConflictError', 'AzureAuthError', 'AzureNotFoundError', 'JobSpecConflict', 'AzureResponseFormatError'];

const rest = proxyActivities<RestActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

/** Azure job states after which nothing more happens. */
const TERMINAL_AZURE_STATES = new Set(['Completed', 'Closed']);
/** Modern rule (and the emulator's default): Azure accepts cancellation only while the job is Creating. */
const CANCELLABLE_AZURE_STATES = new Set(['Creating']);

class JobCancelled extends Error {}

export async function importJobWorkflow(input: ImportJobInput): Promise<ImportJobOutcome> {
  const parsed = JobSpecSchema.safeParse(input.spec);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`Invalid job spec:\n${describeIssues(parsed.error).join('\n')}`, 'InvalidJobSpec');
  }
  const spec: JobSpec = parsed.data;
  const timing = {
    shippingWindowMs: durationToMs(spec.timing.shippingWindow),
    reminderMs: spec.timing.reminders.map(durationToMs).sort((a, b) => a - b),
    closedSiteRetryMs: durationToMs(spec.timing.closedSiteRetryInterval),
    pollInitialMs: durationToMs(spec.timing.trackingPollInitial),
    pollMaxMs: durationToMs(spec.timing.trackingPollMax),
    notReceivedMs: durationToMs(spec.timing.notReceivedAlertAfter),
  };
  const jobRef = { subscriptionId: spec.subscriptionId, resourceGroup: spec.resourceGroup, jobName: spec.jobName };
  const nowIso = (): string => new Date(Date.now()).toISOString();

  // ---- state visible through the status query ----
  const status: ImportJobStatus = {
    jobName: spec.jobName,
    step: 'preparing',
    cancelRequested: false,
    drives: [],
    remindersSent: [],
    rejectedSignals: [],
    timeline: [],
  };
  let preparedDrives: PreparedDrive[] = [];
  let shipment: Shipment | undefined;
  let cancel: (CancelRequest & { at: string }) | undefined;
  let recreateRequested = false;
  const usedTrackingNumbers: string[] = [];
  const pendingSignalShipments: ShipmentInput[] = [];

  const record = (event: string, by?: string, detail?: string): void => {
    status.timeline.push({ at: nowIso(), event, ...(by ? { by } : {}), ...(detail ? { detail } : {}) });
  };
  const setStep = (step: WorkflowStep): void => {
    status.step = step;
    upsertSearchAttributes([{ key: ImportJobStepKey, value: step }]);
  };
  const setAzureSnapshot = (snap: JobSnapshot): void => {
    if (status.azureState !== snap.state) {
      record(`Azure job state: ${snap.state}`);
      upsertSearchAttributes([{ key: ImportJobStateKey, value: snap.state }]);
    }
    status.azureState = snap.state;
    status.cancelRequested = status.cancelRequested || snap.cancelRequested;
    status.transferPercentComplete = snap.percentComplete;
    status.returnPackage = snap.returnPackage;
    const hashes = new Map(preparedDrives.map((d) => [d.driveId, d.manifestHash]));
    status.drives = snap.drives.map((d) => ({ ...d, manifestHash: hashes.get(d.driveId) }));
  };
  const notify = async (kind: Parameters<RestActivities['sendNotification']>[0]['kind'], message: string): Promise<void> => {
    await rest.sendNotification({ target: spec.notification, jobName: spec.jobName, kind, message });
  };

  upsertSearchAttributes([
    { key: ImportJobNameKey, value: spec.jobName },
    { key: StorageAccountKey, value: spec.storageAccountId.split('/').pop() ?? spec.storageAccountId },
    { key: ImportJobStepKey, value: status.step },
  ]);
  record('workflow started', input.startedBy);

  // ---- message handlers ----
  setHandler(statusQuery, () => status);

  const validateShipment = (raw: ShipmentInput): Shipment => {
    const result = ShipmentSchema.safeParse(raw);
    if (!result.success) throw ApplicationFailure.nonRetryable(describeIssues(result.error).join('; '), 'InvalidShipment');
    const s = result.data;
    if (shipment && shipment.trackingNumber === s.trackingNumber) return s; // a repeated submission: accepted as a no-op
    if (status.step !== 'awaiting-shipping') {
      throw ApplicationFailure.nonRetryable(`The job is not waiting for shipping information (step: ${status.step})`, 'NotAwaitingShipping');
    }
    const site = status.site;
    if (!site) throw ApplicationFailure.nonRetryable('No shipping site has been chosen yet', 'NotAwaitingShipping');
    const problems = shipmentProblems(s, {
      supportedCarriers: site.supportedCarriers,
      expectedDriveCount: preparedDrives.length,
      now: new Date(Date.now()),
      usedTrackingNumbers,
    });
    if (problems.length > 0) throw ApplicationFailure.nonRetryable(problems.join('; '), 'InvalidShipment');
    return s;
  };

  /** Re-checks the site and the tracking number with activities, then records the shipment. */
  const acceptShipment = async (s: Shipment): Promise<ShipmentReceipt> => {
    const receipt = (duplicate: boolean): ShipmentReceipt => ({
      trackingNumber: s.trackingNumber,
      carrierName: s.carrierName,
      driveCount: s.driveCount,
      shipDate: s.shipDate,
      recordedAt: status.timeline.find((t) => t.event === `shipment recorded: ${s.carrierName} ${s.trackingNumber}`)?.at ?? nowIso(),
      duplicate,
    });
    if (shipment) {
      if (shipment.trackingNumber === s.trackingNumber) return receipt(true);
      throw ApplicationFailure.nonRetryable(`A shipment (${shipment.trackingNumber}) is already recorded for this job`, 'AlreadyShipped');
    }
    const site = status.site!;
    // Sites get remapped while a job waits: never accept a shipment to a closed site.
    const current = await rest.getSite({ subscriptionId: spec.subscriptionId, locationName: site.locationName });
    if (!current.isOpen) {
      const next = await chooseOpenSite([...current.alternateLocationNames]);
      const hint = next ? ` Ship to ${next.displayName} instead: ${formatAddress(next)}.` : ' No alternate site is open right now.';
      if (next) {
        status.site = next;
        record('shipping site changed', undefined, `${site.displayName} closed; now ${next.displayName}`);
        await notify('site-changed', `Site ${site.displayName} closed; drives must go to ${next.displayName}.`);
      }
      throw ApplicationFailure.nonRetryable(`The shipping site ${site.displayName} has closed.${hint}`, 'SiteClosed');
    }
    const others = await rest.findJobsByTrackingNumber({ trackingNumber: s.trackingNumber, excludeWorkflowId: workflowInfo().workflowId });
    if (others.length > 0) {
      throw ApplicationFailure.nonRetryable(`trackingNumber: ${s.trackingNumber} is already used by job(s) ${others.join(', ')}`, 'InvalidShipment');
    }
    const raced = shipment as Shipment | undefined; // another submission may have been recorded while we awaited
    if (raced) return receipt(raced.trackingNumber === s.trackingNumber);
    shipment = s;
    status.shipment = s;
    usedTrackingNumbers.push(s.trackingNumber);
    upsertSearchAttributes([{ key: TrackingNumberKey, value: s.trackingNumber }]);
    record(`shipment recorded: ${s.carrierName} ${s.trackingNumber}`, s.submittedBy, `${s.driveCount} drive(s) shipped ${s.shipDate}`);
    return receipt(false);
  };

  setHandler(shipUpdate, async (raw) => acceptShipment(validateShipment(raw)), { validator: (raw) => void validateShipment(raw) });
  setHandler(shipSignal, (raw) => {
    pendingSignalShipments.push(raw);
  });

  const cancelProblem = (): string | undefined => {
    if (cancel) return undefined; // repeated: idempotent
    if (['completed', 'closed', 'cancelled', 'failed'].includes(status.step)) return `the job has already ended (${status.step})`;
    if (status.azureState && !CANCELLABLE_AZURE_STATES.has(status.azureState)) {
      return `Azure no longer accepts cancellation: the job is ${status.azureState} (cancellation is possible only while Creating, before the drives ship)`;
    }
    if (shipment) return 'the drives have been reported shipped; Azure accepts cancellation only before shipping';
    return undefined;
  };
  const doCancel = async (req: CancelRequest): Promise<CancelResult> => {
    if (cancel) return { cancelled: true, azureCancelRequested: status.cancelRequested, message: 'cancellation was already requested' };
    const problem = cancelProblem();
    if (problem) throw ApplicationFailure.nonRetryable(`Cannot cancel: ${problem}`, 'CancelNotAllowed');
    cancel = { ...req, at: nowIso() };
    record('cancellation requested', req.requestedBy, req.reason);
    let azureCancelRequested = false;
    if (status.azureState) {
      const snap = await rest.requestAzureCancel(jobRef);
      setAzureSnapshot(snap);
      azureCancelRequested = true;
      record('Azure cancelRequested set');
    }
    return { cancelled: true, azureCancelRequested, message: azureCancelRequested ? 'Azure job cancellation requested' : 'cancelled before an Azure job existed' };
  };
  setHandler(cancelUpdate, doCancel, {
    validator: (_req: CancelRequest) => {
      const problem = cancelProblem();
      if (problem) throw ApplicationFailure.nonRetryable(`Cannot cancel: ${problem}`, 'CancelNotAllowed');
    },
  });
  setHandler(cancelSignal, async (req) => {
    try {
      await doCancel(req);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      status.rejectedSignals.push({ at: nowIso(), problems: [message] });
      record('cancel signal rejected', req.requestedBy, message);
    }
  });
  setHandler(
    recreateUpdate,
    ({ requestedBy }) => {
      recreateRequested = true;
      record('re-creation requested', requestedBy);
      return 'the Azure job will be created again';
    },
    {
      validator: (_req: { requestedBy?: string }) => {
        if (status.step !== 'expired') throw ApplicationFailure.nonRetryable(`Only an expired job can be re-created (step: ${status.step})`, 'NotExpired');
      },
    },
  );

  const throwIfCancelled = (): void => {
    if (cancel) throw new JobCancelled();
  };

  // ---- helpers for the steps ----
  async function chooseOpenSite(candidates: string[]): Promise<SiteInfo | undefined> {
    const seen = new Set<string>();
    while (candidates.length > 0) {
      const name = candidates.shift()!;
      if (seen.has(name.toLowerCase())) continue;
      seen.add(name.toLowerCase());
      const site = await rest.getSite({ subscriptionId: spec.subscriptionId, locationName: name });
      if (site.isOpen) return site;
      candidates.push(...site.alternateLocationNames);
    }
    return undefined;
  }

  async function locate(): Promise<SiteInfo> {
    setStep('locating');
    for (;;) {
      const site = await chooseOpenSite([spec.region]);
      if (site) {
        record('shipping site chosen', undefined, `${site.displayName} (${site.supportedCarriers.join(', ')})`);
        return site;
      }
      setStep('waiting-for-open-site');
      record('every candidate shipping site is closed; waiting');
      await notify('sites-closed', `Every shipping site for ${spec.region} is closed; retrying in ${spec.timing.closedSiteRetryInterval}.`);
      if (await condition(() => cancel !== undefined, timing.closedSiteRetryMs)) throwIfCancelled();
      setStep('locating');
    }
  }

  async function createAzureJob(site: SiteInfo): Promise<number> {
    setStep('creating');
    const { snapshot, created } = await rest.createAzureJob({
      ...jobRef,
      locationName: site.locationName,
      storageAccountId: spec.storageAccountId,
      returnAddress: spec.returnAddress,
      returnShipping: spec.returnShipping,
      diagnosticsPath: spec.diagnosticsPath,
      logLevel: spec.logLevel,
      backupDriveManifest: spec.backupDriveManifest,
      drives: preparedDrives,
      tags: spec.tags,
      requestId: workflowInfo().workflowId,
    });
    setAzureSnapshot(snapshot);
    const createdAt = Date.now();
    status.jobCreatedAt = new Date(createdAt).toISOString();
    status.shippingDeadline = new Date(createdAt + timing.shippingWindowMs).toISOString();
    record(created ? 'Azure job created' : 'Azure job already existed (retry recognised)', undefined, `location ${site.locationName}`);
    return createdAt;
  }

  /** Processes shipments sent as signals: invalid ones are recorded and reported, never applied. */
  async function drainSignalShipments(): Promise<void> {
    while (pendingSignalShipments.length > 0 && !shipment) {
      const raw = pendingSignalShipments.shift()!;
      try {
        await acceptShipment(validateShipment(raw));
      } catch (err) {
        const message = err instanceof ApplicationFailure ? err.message : String(err);
        status.rejectedSignals.push({ at: nowIso(), problems: message.split('; ') });
        record('shipping signal rejected', raw.submittedBy, message);
        await notify('rejected-signal', `A shipping signal was rejected: ${message}`);
      }
    }
    pendingSignalShipments.length = 0;
  }

  /** Waits for shipping information with reminders; returns false when the shipping window expired. */
  async function awaitShipping(createdAt: number): Promise<boolean> {
    setStep('awaiting-shipping');
    const deadline = createdAt + timing.shippingWindowMs;
    const reminderTimes = timing.reminderMs.map((ms) => createdAt + ms).filter((t) => t < deadline);
    let next = 0;
    for (;;) {
      await drainSignalShipments();
      if (shipment) return true;
      throwIfCancelled();
      const now = Date.now();
      while (next < reminderTimes.length && reminderTimes[next]! <= now) {
        const escalation = next === reminderTimes.length - 1;
        const daysLeft = Math.max(0, Math.ceil((deadline - now) / 86_400_000));
        const kind = escalation ? 'escalation' : 'reminder';
        await notify(
          kind,
          `${escalation ? 'ESCALATION: ' : ''}Drives for import job ${spec.jobName} have not shipped; Azure deletes the job in ${daysLeft} day(s). Ship to ${status.site ? formatAddress(status.site) : '?'}.`,
        );
        status.remindersSent.push({ kind, at: nowIso() });
        record(`${kind} sent`);
        next++;
      }
      if (now >= deadline) return false;
      const wakeAt = Math.min(deadline, reminderTimes[next] ?? deadline);
      await condition(() => shipment !== undefined || cancel !== undefined || pendingSignalShipments.length > 0, wakeAt - now);
    }
  }

  async function updateShipping(): Promise<void> {
    setStep('updating');
    const { snapshot, applied } = await rest.updateShipping({
      ...jobRef,
      shipment: shipment!,
      returnAddress: spec.returnAddress,
      returnShipping: spec.returnShipping,
    });
    setAzureSnapshot(snapshot);
    record(applied ? 'Azure job updated with shipping information' : 'Azure job already had this shipping information');
    // Added after the first release: running jobs recorded without this notification must replay unchanged.
    if (patched('notify-shipping-confirmed')) {
      await notify('shipped', `Azure now has the shipment of ${spec.jobName}: ${shipment!.carrierName} ${shipment!.trackingNumber}.`);
    }
  }

  async function track(): Promise<JobSnapshot> {
    setStep('tracking');
    const shippedAt = Date.now();
    let interval = timing.pollInitialMs;
    let notReceivedAlerted = false;
    for (;;) {
      const snap = await rest.getAzureJob(jobRef);
      setAzureSnapshot(snap);
      if (TERMINAL_AZURE_STATES.has(snap.state)) return snap;
      if (!notReceivedAlerted && snap.state === 'Shipping' && Date.now() - shippedAt >= timing.notReceivedMs) {
        notReceivedAlerted = true;
        record('drives not received in time');
        await notify('not-received', `Drives for ${spec.jobName} were shipped ${shipment?.shipDate} but Azure has not received them.`);
      }
      await sleep(interval);
      interval = Math.min(interval * 2, timing.pollMaxMs);
    }
  }

  const outcome = (result: ImportJobOutcome['result'], drives: DriveStatusSnapshot[] = status.drives): ImportJobOutcome => ({
    jobName: spec.jobName,
    result,
    azureState: status.azureState,
    drives,
    returnPackage: status.returnPackage,
  });

  // ---- the steps ----
  try {
    // 1. prepare
    if ('prepare' in spec.drives) {
      const p = spec.drives.prepare;
      const prepare = proxyActivities<PrepareActivities>({
        taskQueue: p.stationTaskQueue,
        startToCloseTimeout: '7 days',
        heartbeatTimeout: durationToMs(spec.timing.prepareHeartbeatTimeout),
        retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', nonRetryableErrorTypes: ['PrepareInputError', 'InsufficientCapacityError'] },
      });
      record('preparing drives', undefined, `${p.drives.length} drive(s) on station queue ${p.stationTaskQueue}`);
      const scope = new CancellationScope();
      const prepared = scope.run(() =>
        prepare.prepareDrives({ preparationId: spec.jobName, dataset: p.dataset, drives: p.drives, mode: p.mode, journalDir: p.journalDir }),
      );
      const cancelWatcher = condition(() => cancel !== undefined).then(() => scope.cancel());
      preparedDrives = (await prepared).drives;
      void cancelWatcher;
      throwIfCancelled();
    } else {
      preparedDrives = spec.drives.prepared;
    }
    status.drives = preparedDrives.map((d) => ({ driveId: d.driveId, state: 'Prepared', manifestHash: d.manifestHash }));
    upsertSearchAttributes([{ key: DriveIdsKey, value: preparedDrives.map((d) => d.driveId) }]);
    record('drives prepared', undefined, preparedDrives.map((d) => d.driveId).join(', '));

    // 2-4. locate, create, await shipping (again, on request, if the 2-week window expires)
    for (;;) {
      throwIfCancelled();
      status.site = await locate();
      throwIfCancelled();
      const createdAt = await createAzureJob(status.site);
      if (await awaitShipping(createdAt)) break;
      setStep('expired');
      record('shipping window expired: Azure deletes jobs left in Creating');
      await notify('expired', `Import job ${spec.jobName} expired: no shipping information within ${spec.timing.shippingWindow}. Re-create it with \`importctl recreate ${spec.jobName}\`.`);
      const decided = await condition(() => recreateRequested || cancel !== undefined, timing.shippingWindowMs);
      throwIfCancelled();
      if (!decided) {
        record('no re-creation requested; ending');
        return outcome('expired');
      }
      recreateRequested = false;
      status.remindersSent = [];
    }

    // 5. update
    await updateShipping();

    // 6. track
    const final = await track();
    const result = final.state === 'Closed' ? 'closed' : 'completed';
    setStep(result);
    record(`job ${result}`);
    await notify('completed', `Import job ${spec.jobName} finished: ${final.state}.`);
    await condition(allHandlersFinished);
    return outcome(result, final.drives);
  } catch (err) {
    if (err instanceof JobCancelled || (isCancellation(err) && cancel)) {
      setStep('cancelled');
      record('workflow ended: cancelled');
      await condition(allHandlersFinished);
      return outcome('cancelled');
    }
    setStep('failed');
    const message = describeFailure(err);
    status.failure = message;
    record('failed', undefined, message);
    log.error('import job failed', { jobName: spec.jobName, error: message });
    await notify('failed', `Import job ${spec.jobName} failed: ${message}`).catch(() => undefined);
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      throw ApplicationFailure.nonRetryable(message, err.cause.type ?? 'ActivityFailed');
    }
    throw err;
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    const inner = cause instanceof ApplicationFailure ? `${cause.type ?? 'Error'}: ${cause.message}` : cause instanceof Error ? cause.message : err.message;
    return `${err.activityType} failed: ${inner}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function formatAddress(site: SiteInfo): string {
  const a = site.address;
  return [a.recipientName, a.streetAddress1, a.streetAddress2, `${a.city}${a.stateOrProvince ? `, ${a.stateOrProvince}` : ''} ${a.postalCode}`, a.countryOrRegion]
    .filter((x) => x && x.trim())
    .join(', ');
}
