import { z } from 'zod';

/**
 * Zod schemas for what this client reads from Microsoft.DataBox (api-versions 2022-12-01 and 2025-02-01; the
 * customer-disk schema is the same in both), in the WIRE shape (`properties.details`, not the SDK's flattening).
 * Only the parts the orchestrator uses are modelled; extra properties are accepted and stripped, and every
 * `modelAsString` enum is a plain string so a new value never breaks a running workflow.
 */

const CloudErrorSchema = z.object({
  code: z.string().optional(),
  message: z.string().optional(),
  target: z.string().optional(),
});

/** `DatacenterAddressResponse`, discriminated by `datacenterAddressType` (Location or Instruction). */
export const DatacenterAddressSchema = z
  .object({
    datacenterAddressType: z.string(),
    supportedCarriersForReturnShipment: z.array(z.string()).optional(),
    dataCenterAzureLocation: z.string().optional(),
    // DatacenterAddressLocation
    contactPersonName: z.string().optional(),
    company: z.string().optional(),
    street1: z.string().optional(),
    street2: z.string().optional(),
    street3: z.string().optional(),
    city: z.string().optional(),
    state: z.string().optional(),
    zip: z.string().optional(),
    country: z.string().optional(),
    phone: z.string().optional(),
    phoneExtension: z.string().optional(),
    addressType: z.string().optional(),
    additionalShippingInformation: z.string().optional(),
    // DatacenterAddressInstruction
    communicationInstruction: z.string().optional(),
  })
  .superRefine((a, ctx) => {
    // What the clerk is shown must be a usable address or a usable instruction, never an empty one.
    if (a.datacenterAddressType === 'DatacenterAddressInstruction') {
      if ((a.communicationInstruction ?? '').trim() === '') {
        ctx.addIssue({ code: 'custom', path: ['communicationInstruction'], message: 'an instruction-only datacenter address without an instruction' });
      }
      return;
    }
    for (const field of ['street1', 'city', 'country'] as const) {
      if ((a[field] ?? '').trim() === '') ctx.addIssue({ code: 'custom', path: [field], message: 'a datacenter address without it' });
    }
  });
export type DatacenterAddress = z.infer<typeof DatacenterAddressSchema>;

export const RegionConfigurationResponseSchema = z.object({
  datacenterAddressResponse: DatacenterAddressSchema.optional(),
});

export const SkuInformationSchema = z.object({
  sku: z.object({ name: z.string() }),
  enabled: z.boolean().optional(),
  properties: z
    .object({
      disabledReason: z.string().optional(),
      disabledReasonMessage: z.string().optional(),
    })
    .optional(),
});
export type SkuInformation = z.infer<typeof SkuInformationSchema>;

export const AvailableSkusResultSchema = z.object({
  value: z.array(SkuInformationSchema).default([]),
  nextLink: z.string().nullish(),
});

/** `PackageCarrierInfo`, and the readable part of `PackageCarrierDetails` (its account number is a secret). */
const PackageCarrierInfoSchema = z.object({
  carrierName: z.string().optional(),
  trackingId: z.string().optional(),
});

/** `PackageShippingDetails`: the carrier's package with a link to follow it. */
const PackageShippingDetailsSchema = PackageCarrierInfoSchema.extend({
  trackingUrl: z.string().optional(),
});

const ImportDiskDetailsSchema = z.object({
  manifestFile: z.string().optional(),
  manifestHash: z.string().optional(),
  backupManifestCloudPath: z.string().optional(),
});

const CopyProgressSchema = z.object({
  serialNumber: z.string().optional(),
  copyStatus: z.string().optional(),
  bytesProcessed: z.number().optional(),
  totalBytesToProcess: z.number().optional(),
  filesProcessed: z.number().optional(),
  totalFilesToProcess: z.number().optional(),
  filesErroredOut: z.number().optional(),
  error: CloudErrorSchema.optional(),
});

const CopyLogDetailsSchema = z.object({
  copyLogDetailsType: z.string().optional(),
  serialNumber: z.string().optional(),
  errorLogLink: z.string().optional(),
  verboseLogLink: z.string().optional(),
});

const JobStageSchema = z.object({
  stageName: z.string().optional(),
  displayName: z.string().optional(),
  stageStatus: z.string().optional(),
  stageTime: z.string().optional(),
});

export const CustomerDiskJobDetailsSchema = z.object({
  jobDetailsType: z.string(),
  jobStages: z.array(JobStageSchema).optional(),
  contactDetails: z
    .object({
      contactName: z.string().optional(),
      phone: z.string().optional(),
      emailList: z.array(z.string()).optional(),
    })
    .optional(),
  shippingAddress: z
    .object({
      streetAddress1: z.string().optional(),
      streetAddress2: z.string().optional(),
      city: z.string().optional(),
      stateOrProvince: z.string().optional(),
      postalCode: z.string().optional(),
      country: z.string().optional(),
      companyName: z.string().optional(),
    })
    .optional(),
  deliveryPackage: PackageShippingDetailsSchema.optional(),
  returnPackage: PackageShippingDetailsSchema.optional(),
  dataImportDetails: z
    .array(
      z.object({
        accountDetails: z.object({ dataAccountType: z.string().optional(), storageAccountId: z.string().optional() }),
        logCollectionLevel: z.string().optional(),
      }),
    )
    .optional(),
  copyLogDetails: z.array(CopyLogDetailsSchema).optional(),
  datacenterAddress: DatacenterAddressSchema.optional(),
  dataCenterCode: z.string().optional(),
  importDiskDetailsCollection: z.record(z.string(), ImportDiskDetailsSchema).optional(),
  copyProgress: z.array(CopyProgressSchema).optional(),
  deliverToDcPackageDetails: PackageCarrierInfoSchema.optional(),
  returnToCustomerPackageDetails: PackageCarrierInfoSchema.optional(),
  enableManifestBackup: z.boolean().optional(),
});
export type CustomerDiskJobDetails = z.infer<typeof CustomerDiskJobDetailsSchema>;

/**
 * `JobResource`. Keys and account numbers are `x-ms-secret` and never echoed; the schema does not model them, so
 * zod strips them if a service ever did, and they cannot travel on into workflow histories.
 */
export const DataBoxJobSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string().optional(),
  location: z.string(),
  tags: z.record(z.string(), z.string()).optional(),
  sku: z.object({ name: z.string() }),
  properties: z.object({
    transferType: z.string(),
    isCancellable: z.boolean().optional(),
    isDeletable: z.boolean().optional(),
    isShippingAddressEditable: z.boolean().optional(),
    status: z.string().optional(),
    startTime: z.string().optional(),
    error: CloudErrorSchema.nullish(),
    cancellationReason: z.string().optional(),
    details: CustomerDiskJobDetailsSchema.optional(),
  }),
});
export type DataBoxJob = z.infer<typeof DataBoxJobSchema>;

/** `UnencryptedCredentialsList` for customer-disk jobs. Holds secrets: never log it. */
export const CredentialsListSchema = z.object({
  value: z
    .array(
      z.object({
        jobName: z.string().optional(),
        jobSecrets: z
          .object({
            jobSecretsType: z.string(),
            diskSecrets: z.array(z.object({ diskSerialNumber: z.string(), bitLockerKey: z.string() })).optional(),
          })
          .optional(),
      }),
    )
    .default([]),
  nextLink: z.string().nullish(),
});
