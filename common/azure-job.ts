/**
 * The Azure job as the workflow sees it, for both Azure APIs (Data Box customer-disk jobs and classic Import/Export
 * jobs): where the clerk ships the drives, the job snapshot, the job states with their terminal and cancellable
 * sets, the activity requests, and the error types with the ones no retry can fix. Workflow-safe: zod and pure
 * functions only.
 */
import { z } from 'zod';
import { ReturnAddressSchema, ReturnShippingSchema } from './address';
import { AzureApiSchema, LEGACY_AZURE_API, type AzureApi } from './job-spec';
import { PreparedDriveSchema } from './prepare-contract';
import { ShipmentSchema } from './shipping';

export { AzureApiSchema, type AzureApi };

/** Requests recorded before the API choice existed carry no `api`: they ran on the classic API. */
export function apiOf(request: { api?: AzureApi | undefined }): AzureApi {
  return request.api ?? LEGACY_AZURE_API;
}

// ---------------------------------------------------------------------------------------------------------------------
// Job states

/** Microsoft.ImportExport `JobDetails.state`. */
export const IMPORT_EXPORT_JOB_STATES = ['Creating', 'Shipping', 'Received', 'Transferring', 'Packaging', 'Completed', 'Closed'] as const;

/** Microsoft.DataBox `StageName` (job `status`), as the swagger lists it; the service may add values. */
export const DATABOX_JOB_STATUSES = [
  'DeviceOrdered',
  'DevicePrepared',
  'Dispatched',
  'Delivered',
  'PickedUp',
  'AtAzureDC',
  'DataCopy',
  'Completed',
  'CompletedWithErrors',
  'Cancelled',
  'Failed_IssueReportedAtCustomer',
  'Failed_IssueDetectedAtAzureDC',
  'Aborted',
  'CompletedWithWarnings',
  'ReadyToDispatchFromAzureDC',
  'ReadyToReceiveAtAzureDC',
  'Created',
  'ShippedToAzureDC',
  'AwaitingShipmentDetails',
  'PreparingToShipFromAzureDC',
  'ShippedToCustomer',
] as const;

/**
 * Not an Azure value: a job the service cancelled or deleted because no shipment was recorded within two weeks.
 * Both APIs expire such jobs; the snapshot says so explicitly instead of a bare "Cancelled" or a 404.
 */
export const EXPIRED_JOB_STATE = 'Expired';

interface StateSets {
  readonly known: readonly string[];
  /** After these nothing more happens to the job. */
  readonly terminal: ReadonlySet<string>;
  /** Azure accepts a cancellation only in these (Data Box also reports `isCancellable` per job). */
  readonly cancellable: ReadonlySet<string>;
  /** The drives are on their way and Azure has not received them yet (the not-received watchdog runs here). */
  readonly inTransit: ReadonlySet<string>;
}

export const AZURE_JOB_STATES: Readonly<Record<AzureApi, StateSets>> = {
  importexport: {
    known: IMPORT_EXPORT_JOB_STATES,
    terminal: new Set(['Completed', 'Closed', EXPIRED_JOB_STATE]),
    // The modern rule (and the emulator's default): only before the drives ship.
    cancellable: new Set(['Creating']),
    inTransit: new Set(['Shipping']),
  },
  databox: {
    known: DATABOX_JOB_STATUSES,
    terminal: new Set([
      'Completed',
      'CompletedWithErrors',
      'CompletedWithWarnings',
      'Cancelled',
      'Aborted',
      'Failed_IssueReportedAtCustomer',
      'Failed_IssueDetectedAtAzureDC',
      EXPIRED_JOB_STATE,
    ]),
    cancellable: new Set(['DeviceOrdered', 'Created', 'AwaitingShipmentDetails']),
    inTransit: new Set(['ShippedToAzureDC']),
  },
};

export const terminalStates = (api: AzureApi): ReadonlySet<string> => AZURE_JOB_STATES[api].terminal;
export const cancellableStates = (api: AzureApi): ReadonlySet<string> => AZURE_JOB_STATES[api].cancellable;
export const inTransitStates = (api: AzureApi): ReadonlySet<string> => AZURE_JOB_STATES[api].inTransit;

// ---------------------------------------------------------------------------------------------------------------------
// Where the clerk ships the drives

/**
 * A datacenter's address as Azure gives it: the same fields as PostalAddressSchema, taken as given (that schema's
 * rules are for what people type; an Azure answer is not refused for a long line or a phone extension).
 */
export const SiteAddressSchema = z.object({
  recipientName: z.string(),
  streetAddress1: z.string(),
  streetAddress2: z.string().optional(),
  streetAddress3: z.string().optional(),
  city: z.string(),
  stateOrProvince: z.string().optional(),
  postalCode: z.string(),
  countryOrRegion: z.string(),
  phone: z.string().optional(),
  additionalShippingInformation: z.string().optional(),
});
export type SiteAddress = z.infer<typeof SiteAddressSchema>;

/**
 * A datacenter the drives can go to. Import/Export: a location, open or closed, with alternates. Data Box: the
 * datacenter Azure names for the region and sku; `isOpen` is false while the sku is unavailable there. Azure may
 * give only an instruction instead of an address (Data Box `DatacenterAddressInstruction`): then `instruction` is
 * set and `address` is absent, never an empty address. A closed Data Box site may have neither.
 */
export const ShippingSiteSchema = z
  .object({
    /** Absent in histories recorded before Data Box existed: those are Import/Export locations. */
    api: AzureApiSchema.optional(),
    /** Resource id of the location. */
    id: z.string(),
    /** Short name used in URLs and in the job's `location`, e.g. westus. */
    locationName: z.string(),
    displayName: z.string(),
    isOpen: z.boolean(),
    /** Why the site takes no jobs now (Data Box: the sku's disabled reason). */
    closedReason: z.string().optional(),
    alternateLocationNames: z.array(z.string()),
    supportedCarriers: z.array(z.string()),
    address: SiteAddressSchema.optional(),
    instruction: z.string().min(1).optional(),
    /** Data Box: the datacenter's own Azure location, which may differ from the storage account's region. */
    dataCenterAzureLocation: z.string().optional(),
  })
  // A closed site (no sku availability) may come without either; an open one always says where to ship.
  .refine((s) => (s.address !== undefined && s.instruction !== undefined ? false : !s.isOpen || s.address !== undefined || s.instruction !== undefined), {
    message: 'an open shipping site has either an address or an instruction',
    path: ['address'],
  });
export type ShippingSite = z.infer<typeof ShippingSiteSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// The job snapshot

export const PackageSnapshotSchema = z.object({
  carrierName: z.string(),
  trackingNumber: z.string(),
  driveCount: z.number().optional(),
  shipDate: z.string().optional(),
  trackingUrl: z.string().optional(),
});
export type PackageSnapshot = z.infer<typeof PackageSnapshotSchema>;

export const DriveSnapshotSchema = z.object({
  driveId: z.string(),
  /** Import/Export drive state; Data Box: the disk's copy status. Unknown values pass through. */
  state: z.string(),
  copyStatus: z.string().optional(),
  percentComplete: z.number().optional(),
  bytesSucceeded: z.number().optional(),
  bytesTotal: z.number().optional(),
  filesProcessed: z.number().optional(),
  filesTotal: z.number().optional(),
  filesErrored: z.number().optional(),
  /** The disk's copy error, as Azure words it. */
  error: z.string().optional(),
  errorLogUri: z.string().optional(),
  verboseLogUri: z.string().optional(),
});
export type DriveSnapshot = z.infer<typeof DriveSnapshotSchema>;

export const JobStageSchema = z.object({
  name: z.string(),
  displayName: z.string().optional(),
  status: z.string().optional(),
  at: z.string().optional(),
});
export type JobStage = z.infer<typeof JobStageSchema>;

export const ExpirySchema = z.object({
  /** `cancelled-by-service`: Data Box cancels old jobs still in the ordered state; `deleted`: the job is gone. */
  reason: z.enum(['cancelled-by-service', 'deleted']),
  message: z.string(),
});
export type Expiry = z.infer<typeof ExpirySchema>;

/** The Azure job as the workflow tracks it. */
export const JobSnapshotSchema = z.object({
  /** Absent in histories recorded before Data Box existed. */
  api: AzureApiSchema.optional(),
  /** Import/Export `state` or Data Box `status`; unknown values pass through; `Expired` see EXPIRED_JOB_STATE. */
  state: z.string(),
  cancelRequested: z.boolean(),
  /** Whether Azure would accept a cancellation now (Data Box `isCancellable`; Import/Export: derived from state). */
  cancellable: z.boolean().optional(),
  cancellationReason: z.string().optional(),
  expired: ExpirySchema.optional(),
  percentComplete: z.number().optional(),
  drives: z.array(DriveSnapshotSchema),
  stages: z.array(JobStageSchema).optional(),
  deliveryPackage: PackageSnapshotSchema.optional(),
  returnPackage: PackageSnapshotSchema.optional(),
  /** Data Box: the job's own datacenter address, what the clerk ships to once the job exists. */
  shipTo: ShippingSiteSchema.optional(),
  /** A job-level error Azure reports (e.g. a copy waiting for customer action). */
  error: z.object({ code: z.string().optional(), message: z.string().optional() }).optional(),
});
export type JobSnapshot = z.infer<typeof JobSnapshotSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// What the workflow sends the Azure activities

/** Which Azure API and subscription a request is for. */
const AzureScopeSchema = z.object({
  api: AzureApiSchema.optional(),
  subscriptionId: z.string(),
});

export const AzureJobRefSchema = AzureScopeSchema.extend({
  resourceGroup: z.string(),
  jobName: z.string(),
});
export type AzureJobRef = z.infer<typeof AzureJobRefSchema>;

export const GetSiteRequestSchema = AzureScopeSchema.extend({
  /** Import/Export: a location name or display name; Data Box: the storage account's region. */
  locationName: z.string(),
  /** Data Box asks for sku availability per resource group. */
  resourceGroup: z.string().optional(),
  /** Data Box sku availability is per country (ISO 3166 alpha-2, e.g. US); default: the datacenter's country. */
  country: z.string().optional(),
});
export type GetSiteRequest = z.infer<typeof GetSiteRequestSchema>;

/** Where and how Azure sends the drives back: given at creation, given again with the shipment. */
const ReturnDetailsSchema = z.object({
  returnAddress: ReturnAddressSchema,
  returnShipping: ReturnShippingSchema,
});

export const CreateAzureJobRequestSchema = AzureJobRefSchema.extend({
  locationName: z.string(),
  storageAccountId: z.string(),
  ...ReturnDetailsSchema.shape,
  /** Import/Export only (Data Box writes copy logs to its own container). */
  diagnosticsPath: z.string(),
  logLevel: z.enum(['Error', 'Verbose']),
  backupDriveManifest: z.boolean(),
  drives: z.array(PreparedDriveSchema).min(1).max(10),
  tags: z.record(z.string(), z.string()),
  /** Marks the job as ours, so a retried create recognises it (idempotency). */
  requestId: z.string(),
});
export type CreateAzureJobRequest = z.infer<typeof CreateAzureJobRequestSchema>;

export const CreateAzureJobResultSchema = z.object({ snapshot: JobSnapshotSchema, created: z.boolean() });
export type CreateAzureJobResult = z.infer<typeof CreateAzureJobResultSchema>;

export const ShippingUpdateRequestSchema = AzureJobRefSchema.extend({
  shipment: ShipmentSchema,
  ...ReturnDetailsSchema.shape,
});
export type ShippingUpdateRequest = z.infer<typeof ShippingUpdateRequestSchema>;

export const ShippingUpdateResultSchema = z.object({ snapshot: JobSnapshotSchema, applied: z.boolean() });
export type ShippingUpdateResult = z.infer<typeof ShippingUpdateResultSchema>;

export const CancelAzureJobRequestSchema = AzureJobRefSchema.extend({
  /** Data Box requires a reason; Import/Export has no field for it. */
  reason: z.string().max(500).optional(),
});
export type CancelAzureJobRequest = z.infer<typeof CancelAzureJobRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------------
// Errors

/**
 * Every error type the Azure activities raise, and whether a retry can fix it. The port's `classify()` maps errors
 * onto this table and the workflow's non-retryable list is derived from it, so the two cannot drift.
 */
export const AZURE_ERROR_TYPES = {
  /** HTTP 400/422: the request is invalid; the message names the field. */
  AzureValidationError: { retryable: false },
  /** HTTP 401/403, or no credential could be obtained. */
  AzureAuthError: { retryable: false },
  AzureNotFoundError: { retryable: false },
  /** HTTP 409: the job's state does not allow the operation. */
  AzureConflictError: { retryable: false },
  /** A job of the same name exists with a different spec (or was made by another request). */
  JobSpecConflict: { retryable: false },
  /** Azure refuses the cancellation in the job's current state. */
  CancelNotAllowed: { retryable: false },
  /** HTTP 429: retried after the server's Retry-After. */
  AzureThrottledError: { retryable: true },
  /** HTTP 5xx and 408. */
  AzureServerError: { retryable: true },
  /** Resets, refused connections, DNS failures, timeouts. */
  AzureNetworkError: { retryable: true },
  /** Certificate problems are configuration problems. */
  AzureTlsError: { retryable: false },
  /** Any other 4xx, or a request this client refuses to send. */
  AzureRequestError: { retryable: false },
  /** A 2xx response that does not match the API's schema. */
  AzureResponseFormatError: { retryable: false },
  AzureConfigError: { retryable: false },
  /** An activity request that does not match its schema. */
  InvalidAzureRequest: { retryable: false },
  /** A secret reference the store does not know: the job was created with a reference that cannot be resolved. */
  SecretNotFound: { retryable: false },
  /** A secret reference that belongs to another job. */
  SecretBinding: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;
export type AzureErrorType = keyof typeof AZURE_ERROR_TYPES;

export const NON_RETRYABLE_ERROR_TYPES: readonly AzureErrorType[] = (Object.keys(AZURE_ERROR_TYPES) as AzureErrorType[]).filter(
  (type) => !AZURE_ERROR_TYPES[type].retryable,
);
