import { z } from 'zod';
import { IMPORT_EXPORT_JOB_STATES } from '../../common/azure-job';

/**
 * Zod schemas for Microsoft.ImportExport api-version 2021-01-01 (swagger `definitions`), in the
 * WIRE shape (no SDK flattening: `Location.properties.*`, `UpdateJobParameters.properties.*`,
 * `Operation.display.*` stay nested).
 *
 * Tolerance rules (the service evolves; a new enum value must not break a running workflow):
 * - `modelAsString` enums and string "enums" are plain strings; known values are exported as
 *   constants for callers to compare against.
 * - Unknown extra properties are accepted (and stripped from the parsed value).
 * - Only the swagger's `required` lists are enforced, plus `id`/`name`/`properties` on jobs.
 */

export const KNOWN_DRIVE_STATES = [
  'Specified',
  'Received',
  'NeverReceived',
  'Transferring',
  'Completed',
  'CompletedMoreInfo',
  'ShippedBack',
] as const;

export const KNOWN_JOB_TYPES = ['Import', 'Export'] as const;
export const KNOWN_LOG_LEVELS = ['Error', 'Verbose'] as const;
export const KNOWN_KEK_TYPES = ['MicrosoftManaged', 'CustomerManaged'] as const;
export const KNOWN_IDENTITY_TYPES = ['None', 'SystemAssigned', 'UserAssigned'] as const;
export const KNOWN_CREATED_BY_TYPES = ['User', 'Application', 'ManagedIdentity', 'Key'] as const;

/** A string "enum" that tolerates values unknown to this client version. */
const openEnum = <const T extends readonly string[]>(known: T) =>
  z.string().describe(`known values: ${known.join(', ')}`);

/** `type: object` tags: string values in practice; anything else is tolerated and dropped. */
const TagsSchema = z.record(z.string(), z.unknown()).transform((rec) => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
});

export const SystemDataSchema = z.object({
  createdBy: z.string().optional(),
  createdByType: openEnum(KNOWN_CREATED_BY_TYPES).optional(),
  createdAt: z.string().optional(),
  lastModifiedBy: z.string().optional(),
  lastModifiedByType: openEnum(KNOWN_CREATED_BY_TYPES).optional(),
  lastModifiedAt: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// Locations

/** Azure's postal-address fields as it stores and returns them; the rules for what we send live in the domain model. */
const WireAddressSchema = z.object({
  recipientName: z.string(),
  streetAddress1: z.string(),
  streetAddress2: z.string().optional(),
  city: z.string(),
  stateOrProvince: z.string().optional(),
  postalCode: z.string(),
  countryOrRegion: z.string(),
  phone: z.string(),
});

/** A location's address is Azure's postal address, any field possibly absent, with where else it may ship. */
export const LocationPropertiesSchema = WireAddressSchema.partial().extend({
  additionalShippingInformation: z.string().optional(),
  supportedCarriers: z.array(z.string()).optional(),
  /** Location resource IDs (not names) to ship to. */
  alternateLocations: z.array(z.string()).optional(),
});
export type LocationProperties = z.infer<typeof LocationPropertiesSchema>;

export const LocationSchema = z.object({
  id: z.string().optional(),
  /** Display name, e.g. "West US". */
  name: z.string().optional(),
  type: z.string().optional(),
  properties: LocationPropertiesSchema.optional(),
});
export type Location = z.infer<typeof LocationSchema>;

export const LocationsResponseSchema = z.object({ value: z.array(LocationSchema).default([]) });

// ---------------------------------------------------------------------------------------------
// Job building blocks

export const ReturnAddressSchema = WireAddressSchema.extend({ email: z.string() });
export type ReturnAddress = z.infer<typeof ReturnAddressSchema>;

export const ReturnShippingSchema = z.object({
  carrierName: z.string(),
  carrierAccountNumber: z.string(),
});
export type ReturnShipping = z.infer<typeof ReturnShippingSchema>;

/** The shipping site's address: the same fields, any of them possibly absent. */
export const ShippingInformationSchema = WireAddressSchema.partial().extend({
  /** readOnly */
  additionalInformation: z.string().optional(),
});
export type ShippingInformation = z.infer<typeof ShippingInformationSchema>;

export const DeliveryPackageInformationSchema = z.object({
  carrierName: z.string(),
  trackingNumber: z.string(),
  driveCount: z.number().int().optional(),
  shipDate: z.string().optional(),
});
export type DeliveryPackageInformation = z.infer<typeof DeliveryPackageInformationSchema>;

/** The return package: Azure fills in every field the delivery package may leave out. */
export const PackageInformationSchema = DeliveryPackageInformationSchema.required({ driveCount: true, shipDate: true });
export type PackageInformation = z.infer<typeof PackageInformationSchema>;

export const DriveStatusSchema = z.object({
  driveId: z.string().optional(),
  /** Write-only in practice (never returned by Get/List); read back with listBitLockerKeys. */
  bitLockerKey: z.string().optional(),
  manifestFile: z.string().optional(),
  manifestHash: z.string().optional(),
  driveHeaderHash: z.string().optional(),
  state: openEnum(KNOWN_DRIVE_STATES).optional(),
  copyStatus: z.string().optional(),
  percentComplete: z.number().optional(),
  verboseLogUri: z.string().optional(),
  errorLogUri: z.string().optional(),
  manifestUri: z.string().optional(),
  bytesSucceeded: z.number().optional(),
});
export type DriveStatus = z.infer<typeof DriveStatusSchema>;

export const ExportSchema = z.object({
  blobList: z
    .object({
      blobPath: z.array(z.string()).optional(),
      blobPathPrefix: z.array(z.string()).optional(),
    })
    .optional(),
  blobListBlobPath: z.string().optional(),
});
export type Export = z.infer<typeof ExportSchema>;

export const EncryptionKeyDetailsSchema = z.object({
  kekType: openEnum(KNOWN_KEK_TYPES).optional(),
  kekUrl: z.string().optional(),
  kekVaultResourceID: z.string().optional(),
});
export type EncryptionKeyDetails = z.infer<typeof EncryptionKeyDetailsSchema>;

export const IdentityDetailsSchema = z.object({
  type: openEnum(KNOWN_IDENTITY_TYPES).optional(),
  principalId: z.string().optional(),
  tenantId: z.string().optional(),
});
export type IdentityDetails = z.infer<typeof IdentityDetailsSchema>;

export const JobDetailsSchema = z.object({
  storageAccountId: z.string().optional(),
  jobType: openEnum(KNOWN_JOB_TYPES).optional(),
  returnAddress: ReturnAddressSchema.optional(),
  returnShipping: ReturnShippingSchema.optional(),
  shippingInformation: ShippingInformationSchema.optional(),
  deliveryPackage: DeliveryPackageInformationSchema.optional(),
  returnPackage: PackageInformationSchema.optional(),
  diagnosticsPath: z.string().optional(),
  logLevel: openEnum(KNOWN_LOG_LEVELS).optional(),
  backupDriveManifest: z.boolean().optional(),
  state: openEnum(IMPORT_EXPORT_JOB_STATES).optional(),
  cancelRequested: z.boolean().optional(),
  percentComplete: z.number().optional(),
  incompleteBlobListUri: z.string().optional(),
  driveList: z.array(DriveStatusSchema).optional(),
  export: ExportSchema.optional(),
  provisioningState: z.string().optional(),
  encryptionKey: EncryptionKeyDetailsSchema.optional(),
});
export type JobDetails = z.infer<typeof JobDetailsSchema>;

// ---------------------------------------------------------------------------------------------
// Jobs

export const JobResponseSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string().optional(),
    /** May come back as a display name ("West US") even when created with "westus". */
    location: z.string().optional(),
    tags: TagsSchema.optional(),
    properties: JobDetailsSchema,
    identity: IdentityDetailsSchema.optional(),
    systemData: SystemDataSchema.optional(),
  })
  // Defence in depth: the service never returns BitLocker keys in job bodies; if one ever did,
  // it must not travel on into workflow histories.
  .transform((job) => {
    if (job.properties.driveList?.some((d) => d.bitLockerKey !== undefined) === true) {
      job.properties.driveList = job.properties.driveList.map(({ bitLockerKey: _drop, ...rest }) => rest);
    }
    return job;
  });
export type JobResponse = z.infer<typeof JobResponseSchema>;

export const PutJobParametersSchema = z.object({
  location: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  properties: JobDetailsSchema.optional(),
});
export type PutJobParameters = z.infer<typeof PutJobParametersSchema>;

export const UpdateJobPropertiesSchema = z.object({
  /** If present must be true. */
  cancelRequested: z.boolean().optional(),
  /** If present must be "Shipping" (or "" = no change). */
  state: z.string().optional(),
  returnAddress: ReturnAddressSchema.optional(),
  returnShipping: ReturnShippingSchema.optional(),
  deliveryPackage: DeliveryPackageInformationSchema.optional(),
  logLevel: openEnum(KNOWN_LOG_LEVELS).optional(),
  backupDriveManifest: z.boolean().optional(),
  driveList: z.array(DriveStatusSchema).optional(),
});
export type UpdateJobProperties = z.infer<typeof UpdateJobPropertiesSchema>;

export const UpdateJobParametersSchema = z.object({
  tags: z.record(z.string(), z.string()).optional(),
  properties: UpdateJobPropertiesSchema.optional(),
});
export type UpdateJobParameters = z.infer<typeof UpdateJobParametersSchema>;

export const ListJobsResponseSchema = z.object({
  nextLink: z.string().nullish(),
  value: z.array(JobResponseSchema).default([]),
});

// ---------------------------------------------------------------------------------------------
// BitLocker keys, operations

export const DriveBitLockerKeySchema = z.object({
  driveId: z.string(),
  bitLockerKey: z.string(),
});
export type DriveBitLockerKey = z.infer<typeof DriveBitLockerKeySchema>;

export const GetBitLockerKeysResponseSchema = z.object({
  value: z.array(DriveBitLockerKeySchema).default([]),
});

export const OperationSchema = z.object({
  name: z.string(),
  display: z.object({
    provider: z.string().optional(),
    resource: z.string().optional(),
    operation: z.string().optional(),
    description: z.string().optional(),
  }),
});
export type Operation = z.infer<typeof OperationSchema>;

export const ListOperationsResponseSchema = z.object({ value: z.array(OperationSchema).default([]) });
