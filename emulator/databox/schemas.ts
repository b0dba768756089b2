import { z } from 'zod';

/**
 * Request-body schemas of Microsoft.DataBox (swagger 2025-02-01, same customer-disk schema as 2022-12-01): the
 * swagger's `required` lists and enums, plus the rules the service states in prose or that a customer-disk import
 * needs (applied in jobs.ts with field-named messages). Unknown properties are stripped, as ARM providers do;
 * read-only properties a client echoes back (`sku.model`, `status`, ...) are accepted and ignored.
 */

export const SKU_NAMES = ['DataBox', 'DataBoxDisk', 'DataBoxHeavy', 'DataBoxCustomerDisk'] as const;
export type SkuName = (typeof SKU_NAMES)[number];
export const TRANSFER_TYPES = ['ImportToAzure', 'ExportFromAzure'] as const;
const NOTIFICATION_STAGES = ['DevicePrepared', 'Dispatched', 'Delivered', 'PickedUp', 'AtAzureDC', 'DataCopy', 'Created', 'ShippedToCustomer'] as const;
export const RESOLUTION_CODES = ['None', 'MoveToCleanUpDevice', 'Resume', 'Restart', 'ReachOutToOperation'] as const;

/** A BitLocker recovery password: 8 groups of 6 digits, each a multiple of 11 below 720 896 (11 × 65 536). */
export const BITLOCKER_KEY_RE = /^\d{6}(-\d{6}){7}$/;
export function bitLockerKeyProblem(key: string): string | undefined {
  if (!BITLOCKER_KEY_RE.test(key)) return 'must be a BitLocker recovery password: 8 groups of 6 digits separated by dashes';
  const bad = key.split('-').findIndex((g) => Number(g) % 11 !== 0 || Number(g) >= 720_896);
  if (bad >= 0) return `group ${bad + 1} is not a valid BitLocker recovery password group (a multiple of 11 below 720896)`;
  return undefined;
}
/** Base16-encoded MD5 of the manifest file. */
export const MANIFEST_HASH_RE = /^[0-9A-Fa-f]{32}$/;
/** Disk serial numbers as WAImportExport reports them: no spaces, at most 64 characters. */
export const DISK_SERIAL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const str = () => z.string();
const nonEmpty = () => z.string().trim().min(1, 'must not be empty');
/** Printed on shipping labels: no control or bidirectional-override characters (they garble or disguise a label). */
const LABEL_UNSAFE_RE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const labelText = (required: boolean) =>
  (required ? nonEmpty() : str()).max(300, 'must be at most 300 characters').refine((v) => !LABEL_UNSAFE_RE.test(v), 'must not contain control or bidirectional-override characters');
const enumOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, `must be one of ${values.join(', ')}`);
const looseObject = () => z.record(z.string(), z.unknown());

export const ContactDetailsSchema = z.object({
  contactName: labelText(true),
  phone: labelText(true),
  phoneExtension: labelText(false).optional(),
  mobile: labelText(false).optional(),
  emailList: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')).min(1, 'must list at least one email address'),
  notificationPreference: z.array(z.object({ stageName: enumOf(NOTIFICATION_STAGES), sendNotification: z.boolean() })).optional(),
});

export const ShippingAddressSchema = z.object({
  streetAddress1: labelText(true),
  streetAddress2: labelText(false).optional(),
  streetAddress3: labelText(false).optional(),
  city: labelText(false).optional(),
  stateOrProvince: labelText(false).optional(),
  country: labelText(true),
  postalCode: labelText(false).optional(),
  zipExtendedCode: labelText(false).optional(),
  companyName: labelText(false).optional(),
  addressType: enumOf(['None', 'Residential', 'Commercial']).optional(),
  skipAddressValidation: z.boolean().optional(),
  taxIdentificationNumber: str().optional(),
});

export const PackageCarrierDetailsSchema = z.object({ carrierAccountNumber: str().optional(), carrierName: str().optional(), trackingId: str().optional() });

export const ImportDiskDetailsSchema = z.object({ manifestFile: str(), manifestHash: str(), bitLockerKey: str() });

const AccountDetailsSchema = z.object({
  dataAccountType: enumOf(['StorageAccount', 'ManagedDisk']).default('StorageAccount'),
  storageAccountId: str().optional(),
  resourceGroupId: str().optional(),
  stagingStorageAccountId: str().optional(),
  sharePassword: str().optional(),
});

export const DataImportDetailsSchema = z.object({ accountDetails: AccountDetailsSchema, logCollectionLevel: enumOf(['Error', 'Verbose']).optional() });
const DataExportDetailsSchema = z.object({ transferConfiguration: looseObject(), logCollectionLevel: enumOf(['Error', 'Verbose']).optional(), accountDetails: AccountDetailsSchema });

const TransportPreferencesSchema = z.object({ preferredShipmentType: enumOf(['CustomerManaged', 'MicrosoftManaged']) });
export const PreferencesSchema = z.object({
  preferredDataCenterRegion: z.array(str()).optional(),
  transportPreferences: TransportPreferencesSchema.optional(),
  reverseTransportPreferences: TransportPreferencesSchema.optional(),
  encryptionPreferences: looseObject().optional(),
  storageAccountAccessTierPreferences: z.array(str()).optional(),
});

export const KeyEncryptionKeySchema = z.object({
  kekType: enumOf(['MicrosoftManaged', 'CustomerManaged']),
  identityProperties: looseObject().optional(),
  kekUrl: str().optional(),
  kekVaultResourceID: str().optional(),
});

const ReverseShippingDetailsSchema = z.object({
  contactDetails: z.object({ contactName: nonEmpty(), phone: nonEmpty(), phoneExtension: str().optional(), mobile: str().optional() }).optional(),
  shippingAddress: ShippingAddressSchema.optional(),
});

/** JobDetails and the writable properties of every sku's subtype (the discriminator is checked in jobs.ts). */
export const JobDetailsInputSchema = z.object({
  jobDetailsType: enumOf(SKU_NAMES),
  contactDetails: ContactDetailsSchema,
  shippingAddress: ShippingAddressSchema.optional(),
  dataImportDetails: z.array(DataImportDetailsSchema).optional(),
  dataExportDetails: z.array(DataExportDetailsSchema).optional(),
  preferences: PreferencesSchema.optional(),
  reverseShippingDetails: ReverseShippingDetailsSchema.optional(),
  keyEncryptionKey: KeyEncryptionKeySchema.optional(),
  expectedDataSizeInTeraBytes: z.number().int().min(0).optional(),
  // DataBoxCustomerDisk
  importDiskDetailsCollection: z.record(z.string(), ImportDiskDetailsSchema).optional(),
  returnToCustomerPackageDetails: PackageCarrierDetailsSchema.optional(),
  enableManifestBackup: z.boolean().optional(),
  // DataBox / DataBoxHeavy (secret), DataBoxDisk
  devicePassword: str().optional(),
  preferredDisks: z.record(z.string(), z.number()).optional(),
  passkey: str().optional(),
});
export type JobDetailsInput = z.infer<typeof JobDetailsInputSchema>;

const IdentitySchema = z.object({ type: str().optional(), userAssignedIdentities: z.record(z.string(), looseObject()).optional() });
const TagsSchema = z.record(z.string(), z.string()).refine((t) => Object.keys(t).length <= 50, 'at most 50 tags are allowed');

export const JobResourceInputSchema = z.object({
  location: nonEmpty(),
  tags: TagsSchema.optional(),
  sku: z.object({ name: enumOf(SKU_NAMES), displayName: str().optional(), family: str().optional() }),
  identity: IdentitySchema.optional(),
  properties: z.object({
    transferType: enumOf(TRANSFER_TYPES),
    details: JobDetailsInputSchema,
    deliveryType: enumOf(['NonScheduled', 'Scheduled']).optional(),
    deliveryInfo: z.object({ scheduledDateTime: str().optional() }).optional(),
  }),
});
export type JobResourceInput = z.infer<typeof JobResourceInputSchema>;

export const JobUpdateInputSchema = z.object({
  tags: TagsSchema.optional(),
  identity: IdentitySchema.optional(),
  properties: z
    .object({
      details: z
        .object({
          contactDetails: ContactDetailsSchema.optional(),
          shippingAddress: ShippingAddressSchema.optional(),
          reverseShippingDetails: ReverseShippingDetailsSchema.optional(),
          preferences: PreferencesSchema.optional(),
          keyEncryptionKey: KeyEncryptionKeySchema.optional(),
          returnToCustomerPackageDetails: PackageCarrierDetailsSchema.optional(),
        })
        .optional(),
    })
    .optional(),
});
export type JobUpdateInput = z.infer<typeof JobUpdateInputSchema>;

export const MarkDevicesShippedSchema = z.object({
  deliverToDcPackageDetails: z.object({ carrierName: nonEmpty(), trackingId: nonEmpty() }),
});
export const CancellationReasonSchema = z.object({ reason: nonEmpty() });
export const MitigateSchema = z.object({
  customerResolutionCode: enumOf(RESOLUTION_CODES).optional(),
  serialNumberCustomerResolutionMap: z.record(z.string(), enumOf(RESOLUTION_CODES)).optional(),
});
export const ShipmentPickUpSchema = z.object({ startTime: nonEmpty(), endTime: nonEmpty(), shipmentLocation: nonEmpty() });

export const AvailableSkuRequestSchema = z.object({
  transferType: enumOf(TRANSFER_TYPES),
  country: nonEmpty(),
  location: nonEmpty(),
  skuNames: z.array(enumOf(SKU_NAMES)).optional(),
});

const skuRequest = () => z.object({ skuName: enumOf(SKU_NAMES) });
export const RegionConfigurationRequestSchema = z.object({
  scheduleAvailabilityRequest: z.object({ storageLocation: nonEmpty(), skuName: enumOf(SKU_NAMES), country: str().optional() }).optional(),
  transportAvailabilityRequest: skuRequest().partial().optional(),
  datacenterAddressRequest: z.object({ storageLocation: nonEmpty(), skuName: enumOf(SKU_NAMES) }).optional(),
  deviceCapabilityRequest: skuRequest().partial().optional(),
});

const VALIDATION_TYPES = [
  'ValidateAddress',
  'ValidateSubscriptionIsAllowedToCreateJob',
  'ValidatePreferences',
  'ValidateCreateOrderLimit',
  'ValidateSkuAvailability',
  'ValidateDataTransferDetails',
] as const;
export const ValidationInputSchema = z.object({
  validationType: enumOf(VALIDATION_TYPES),
  deviceType: enumOf(SKU_NAMES).optional(),
  transferType: enumOf(TRANSFER_TYPES).optional(),
  country: str().optional(),
  location: str().optional(),
  shippingAddress: ShippingAddressSchema.optional(),
  dataImportDetails: z.array(DataImportDetailsSchema).optional(),
});
export type ValidationInput = z.infer<typeof ValidationInputSchema>;
export const ValidationRequestSchema = z.object({
  validationCategory: enumOf(['JobCreationValidation']),
  individualRequestDetails: z.array(ValidationInputSchema).min(1, 'must have at least one validation'),
});
export const ValidateAddressSchema = z.object({
  validationType: enumOf(['ValidateAddress']),
  shippingAddress: ShippingAddressSchema,
  deviceType: enumOf(SKU_NAMES),
});
