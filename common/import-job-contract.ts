import { z } from 'zod';
import { PreparedDriveSchema } from './prepare-contract';
import { ReturnAddressSchema, ReturnShippingSchema } from './address';
import { NotificationTargetSchema } from './job-spec';
import { ShipmentSchema } from './shipping';

/**
 * What the import-job workflow and its REST activities exchange. Activities parse Azure's responses with the
 * client's swagger-derived schemas and hand the workflow these smaller, stable shapes.
 */

export const SiteAddressSchema = z.object({
  recipientName: z.string(),
  streetAddress1: z.string(),
  streetAddress2: z.string().optional(),
  city: z.string(),
  stateOrProvince: z.string().optional(),
  postalCode: z.string(),
  countryOrRegion: z.string(),
  phone: z.string().optional(),
  additionalShippingInformation: z.string().optional(),
});
export type SiteAddress = z.infer<typeof SiteAddressSchema>;

/** A shipping location (Azure datacenter) as Get Location reports it. */
export const SiteInfoSchema = z.object({
  /** Resource id, e.g. /providers/Microsoft.ImportExport/locations/westus */
  id: z.string(),
  /** Short name used in URLs and in the job's `location`, e.g. westus */
  locationName: z.string(),
  displayName: z.string(),
  /** Open iff alternateLocations contains the site itself. */
  isOpen: z.boolean(),
  alternateLocationNames: z.array(z.string()),
  supportedCarriers: z.array(z.string()),
  address: SiteAddressSchema,
});
export type SiteInfo = z.infer<typeof SiteInfoSchema>;

export const DriveStatusSnapshotSchema = z.object({
  driveId: z.string(),
  state: z.string(),
  copyStatus: z.string().optional(),
  percentComplete: z.number().optional(),
  bytesSucceeded: z.number().optional(),
  errorLogUri: z.string().optional(),
  verboseLogUri: z.string().optional(),
});
export type DriveStatusSnapshot = z.infer<typeof DriveStatusSnapshotSchema>;

export const PackageInfoSchema = z.object({
  carrierName: z.string(),
  trackingNumber: z.string(),
  driveCount: z.number().optional(),
  shipDate: z.string().optional(),
});

/** The Azure job as the workflow tracks it. */
export const JobSnapshotSchema = z.object({
  state: z.string(),
  cancelRequested: z.boolean(),
  percentComplete: z.number().optional(),
  drives: z.array(DriveStatusSnapshotSchema),
  deliveryPackage: PackageInfoSchema.optional(),
  returnPackage: PackageInfoSchema.optional(),
});
export type JobSnapshot = z.infer<typeof JobSnapshotSchema>;

export const AzureJobRefSchema = z.object({
  subscriptionId: z.string(),
  resourceGroup: z.string(),
  jobName: z.string(),
});
export type AzureJobRef = z.infer<typeof AzureJobRefSchema>;

export const CreateJobRequestSchema = AzureJobRefSchema.extend({
  locationName: z.string(),
  storageAccountId: z.string(),
  returnAddress: ReturnAddressSchema,
  returnShipping: ReturnShippingSchema,
  diagnosticsPath: z.string(),
  logLevel: z.enum(['Error', 'Verbose']),
  backupDriveManifest: z.boolean(),
  drives: z.array(PreparedDriveSchema).min(1).max(10),
  tags: z.record(z.string(), z.string()),
  /** Marks the job as ours, so a retried create recognises it (idempotency). */
  requestId: z.string(),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequestSchema>;

export const ShippingUpdateRequestSchema = AzureJobRefSchema.extend({
  shipment: ShipmentSchema,
  returnAddress: ReturnAddressSchema,
  returnShipping: ReturnShippingSchema,
});
export type ShippingUpdateRequest = z.infer<typeof ShippingUpdateRequestSchema>;

export const NotificationKindSchema = z.enum([
  'reminder',
  'escalation',
  'expired',
  'sites-closed',
  'site-changed',
  'not-received',
  'rejected-signal',
  'shipped',
  'completed',
  'failed',
]);
export const NotificationSchema = z.object({
  target: NotificationTargetSchema,
  jobName: z.string(),
  kind: NotificationKindSchema,
  message: z.string(),
});
export type Notification = z.infer<typeof NotificationSchema>;
