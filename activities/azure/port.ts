/**
 * The Azure port: what the import-job activities ask of Azure, in the workflow's words, whichever Azure API runs
 * the job. Adapters: `importexport.ts` (Microsoft.ImportExport) and `databox/adapter.ts` (Microsoft.DataBox,
 * sku DataBoxCustomerDisk). Every failure an adapter raises is an `AzurePortError`; `classify()` decides, for any
 * error, whether a retry can help, and `toApplicationFailure()` hands that decision to Temporal.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isRestError } from '@azure/core-rest-pipeline';
import ms from 'ms';
import type { z } from 'zod';
import {
  AZURE_ERROR_TYPES,
  type AzureApi,
  type AzureErrorType,
  type AzureJobRef,
  type CancelAzureJobRequest,
  type CreateAzureJobRequest,
  type CreateAzureJobResult,
  type GetSiteRequest,
  type JobSnapshot,
  type ShippingSite,
  type ShippingUpdateRequest,
  type ShippingUpdateResult,
} from '../../common/azure-job';
import { problemsFromZodError } from '../../common/problems';
import { redactSecrets } from '../../security/redact';
import { AzurePortError, prop, str, toAzurePortError } from './errors';

// The port's public surface: adapters, activities and tools import errors from here too.
export { AzurePortError, parseRetryAfterMs, responseFormatError, toAzurePortError, type AzurePortErrorOptions, type JobSpecDifference } from './errors';

export interface CallOptions {
  /** Cancels the call (e.g. the activity's cancellation signal). */
  abortSignal?: AbortSignal;
}

/** A drive as the create request sends it: the BitLocker key is resolved, in memory only, for this one call. */
export interface DriveWithKey {
  driveId: string;
  manifestFile: string;
  manifestHash: string;
  bitLockerKey: string;
}

export type CreateJobInput = Omit<CreateAzureJobRequest, 'drives'> & { drives: DriveWithKey[] };

export interface RecordShipmentOptions extends CallOptions {
  /** Only a retry can follow a request whose response was lost: the first attempt skips the check. */
  firstAttempt: boolean;
}

/** A disk's BitLocker key as Azure holds it. A secret: never log it or return it to a workflow. */
export interface DiskKey {
  driveId: string;
  bitLockerKey: string;
}

export interface AzurePort {
  readonly api: AzureApi;
  /** Where the drives go for this region (Import/Export: a location; Data Box: the datacenter for the sku). */
  findShippingSite(request: GetSiteRequest, options?: CallOptions): Promise<ShippingSite>;
  /** Idempotent: a retry finds the job this request made; a different job under the name is a JobSpecConflict. */
  createJob(request: CreateJobInput, options?: CallOptions): Promise<CreateAzureJobResult>;
  /** Records the inbound shipment (and return details that changed); exactly once in effect. */
  recordShipment(request: ShippingUpdateRequest, options: RecordShipmentOptions): Promise<ShippingUpdateResult>;
  getJobSnapshot(ref: AzureJobRef, options?: CallOptions): Promise<JobSnapshot>;
  /** Asks Azure to cancel; a refusal in the job's state is a CancelNotAllowed error saying why. */
  requestCancellation(request: CancelAzureJobRequest, options?: CallOptions): Promise<JobSnapshot>;
  readDiskKeys(ref: AzureJobRef, options?: CallOptions): Promise<DiskKey[]>;
}

export type AzurePorts = Readonly<Record<AzureApi, AzurePort>>;

// ---------------------------------------------------------------------------------------------------------------------
// classify and Temporal

export interface Classification {
  retryable: boolean;
  type: string;
  retryAfterMs?: number;
}

/**
 * The one decision on every error an Azure activity meets: retryable or not, its type (an `AZURE_ERROR_TYPES` key
 * for everything Azure- or input-related) and the delay the server asked for.
 */
export function classify(err: unknown): Classification {
  if (err instanceof ApplicationFailure) {
    const delay = err.nextRetryDelay == null ? undefined : typeof err.nextRetryDelay === 'number' ? err.nextRetryDelay : ms(err.nextRetryDelay);
    return { retryable: err.nonRetryable !== true, type: err.type ?? 'Error', ...(delay === undefined ? {} : { retryAfterMs: delay }) };
  }
  const name = str(prop(err, 'name'));
  const known = (type: AzureErrorType, retryAfterMs?: number): Classification => ({
    retryable: AZURE_ERROR_TYPES[type].retryable,
    type,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
  if (name === 'SecretNotFoundError') return known('SecretNotFound');
  if (name === 'SecretBindingError') return known('SecretBinding');
  if (name === 'AzureConfigError') return known('AzureConfigError');
  if (name === 'ZodError' || name === '$ZodError') return known('InvalidAzureRequest');
  if (err instanceof AzurePortError || isRestError(err) || name === 'CredentialUnavailableError' || name === 'AuthenticationError') {
    const portError = toAzurePortError(err);
    return known(portError.type, portError.retryAfterMs);
  }
  // Unknown errors are assumed transient: Temporal's backoff bounds the cost of being wrong.
  return { retryable: true, type: name ?? 'Error' };
}

function failureMessage(err: unknown): string {
  const name = str(prop(err, 'name'));
  if (name === 'SecretNotFoundError') {
    return `A BitLocker key reference cannot be resolved: ${err instanceof Error ? err.message : String(err)}. The drive's key is not in the secret store this worker uses; prepare the drives again or point the worker at the store that holds them.`;
  }
  if ((name === 'ZodError' || name === '$ZodError') && typeof prop(err, 'issues') === 'object') {
    return `Invalid Azure activity request: ${problemsFromZodError(err as z.ZodError).map((p) => `${p.field}: ${p.message}`).join('; ')}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Any error as a Temporal ApplicationFailure, scrubbed of secrets: `nonRetryable` from `classify()`, the server's
 * delay as `nextRetryDelay`, and structured details (status, code, request id, field problems, spec differences).
 */
export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    const scrubbed = redactSecrets(err.message);
    if (scrubbed === err.message) return err;
    return ApplicationFailure.create({
      message: scrubbed,
      ...(err.type == null ? {} : { type: err.type }),
      nonRetryable: err.nonRetryable === true,
      ...(err.details == null ? {} : { details: [...err.details] }),
    });
  }
  const { retryable, type, retryAfterMs } = classify(err);
  const portError = err instanceof AzurePortError || isRestError(err) ? toAzurePortError(err) : undefined;
  const details =
    portError === undefined
      ? undefined
      : [
          {
            ...(portError.statusCode === undefined ? {} : { statusCode: portError.statusCode }),
            ...(portError.code === undefined ? {} : { code: portError.code }),
            ...(portError.requestId === undefined ? {} : { requestId: portError.requestId }),
            ...(portError.clientRequestId === undefined ? {} : { clientRequestId: portError.clientRequestId }),
            ...(portError.operation === undefined ? {} : { operation: portError.operation }),
            ...(portError.problems.length === 0 ? {} : { problems: portError.problems }),
            ...(portError.differences.length === 0 ? {} : { differences: portError.differences }),
          },
        ];
  return ApplicationFailure.create({
    message: redactSecrets(portError?.message ?? failureMessage(err)),
    type,
    nonRetryable: !retryable,
    ...(details === undefined ? {} : { details }),
    ...(retryable && retryAfterMs !== undefined ? { nextRetryDelay: retryAfterMs } : {}),
  });
}

/** Runs an activity's Azure work and lets only classified ApplicationFailures out. */
export async function asActivityFailure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toApplicationFailure(err);
  }
}
