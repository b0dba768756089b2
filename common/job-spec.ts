import { z } from 'zod';
import { DatasetEntrySchema, DriveSpecSchema, PreparedDriveSchema } from './prepare-contract';

/**
 * The import job spec: the input of the import-job workflow, of `importctl start` and of the console.
 * Every rule says which field is wrong and why; types are inferred from these schemas.
 */

/** Portal rule: lowercase letters, digits and hyphens, starting with a letter; ARM names are at most 64 characters. */
export const JobNameSchema = z
  .string()
  .min(3, 'job names have at least 3 characters')
  .max(64, 'job names have at most 64 characters')
  .regex(/^[a-z][a-z0-9-]*$/, 'job names use lowercase letters, digits and hyphens and start with a letter')
  .refine((s) => !s.endsWith('-') && !s.includes('--'), 'job names do not end with a hyphen or contain "--"');

/** Durations as Temporal understands them ("3 days", "12h", "90 seconds") or milliseconds. */
export const DurationSchema = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$/i, 'a duration such as "3 days", "12h" or "90 seconds"'),
]);
export type Duration = z.infer<typeof DurationSchema>;

export const ReturnAddressSchema = z
  .object({
    recipientName: z.string().min(1),
    streetAddress1: z.string().min(1),
    streetAddress2: z.string().optional(),
    city: z.string().min(1),
    stateOrProvince: z.string().optional(),
    postalCode: z.string().min(1),
    countryOrRegion: z.string().min(1),
    phone: z.string().regex(/^\+?[0-9 ()./-]{5,25}$/, 'a phone number'),
    email: z.email('an email address'),
  })
  .strict();
export type ReturnAddress = z.infer<typeof ReturnAddressSchema>;

export const ReturnShippingSchema = z
  .object({ carrierName: z.string().min(1), carrierAccountNumber: z.string().min(1) })
  .strict();
export type ReturnShipping = z.infer<typeof ReturnShippingSchema>;

export const NotificationTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('log') }).strict(),
  z.object({ kind: z.literal('file'), path: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('webhook'), url: z.url() }).strict(),
]);
export type NotificationTarget = z.infer<typeof NotificationTargetSchema>;

export const TimingPolicySchema = z
  .object({
    /** Azure deletes a job left in Creating without shipping information after 2 weeks. */
    shippingWindow: DurationSchema.default('14 days'),
    /** Reminder points measured from job creation; the last one is an escalation. */
    reminders: z.array(DurationSchema).default(['3 days', '7 days', '12 days']),
    /** How long to wait before asking again when every candidate shipping site is closed. */
    closedSiteRetryInterval: DurationSchema.default('6 hours'),
    /** Tracking polls start here and double up to trackingPollMax. */
    trackingPollInitial: DurationSchema.default('1 hour'),
    trackingPollMax: DurationSchema.default('1 day'),
    /** A preparation station that stops heartbeating this long is presumed dead; the prepare step resumes elsewhere. */
    prepareHeartbeatTimeout: DurationSchema.default('2 minutes'),
    /** Alert when shipped drives have not been received after this long. */
    notReceivedAlertAfter: DurationSchema.default('14 days'),
  })
  .strict();
export type TimingPolicy = z.infer<typeof TimingPolicySchema>;

export const DrivesSpecSchema = z.union([
  z
    .object({
      /** Prepare drives on a preparation station: copy, hash and write manifests. */
      prepare: z
        .object({
          dataset: z.array(DatasetEntrySchema).min(1),
          drives: z.array(DriveSpecSchema).min(1).max(10, 'Azure accepts at most 10 drives per job'),
          mode: z.enum(['copy', 'skip-write']).default('copy'),
          /** Task queue of the station where the drives are attached. */
          stationTaskQueue: z.string().min(1).default('prepare-station'),
          journalDir: z.string().min(1).default('data/journal'),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      /** Drives prepared earlier (e.g. with `importctl prepare`). */
      prepared: z.array(PreparedDriveSchema).min(1).max(10, 'Azure accepts at most 10 drives per job'),
    })
    .strict(),
]);
export type DrivesSpec = z.infer<typeof DrivesSpecSchema>;

const StorageAccountIdSchema = z
  .string()
  .regex(
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.(ClassicStorage|Storage)\/storageAccounts\/[a-z0-9]{3,24}$/i,
    'an ARM id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>',
  );

export const JobSpecSchema = z
  .object({
    jobName: JobNameSchema,
    subscriptionId: z.string().regex(/^[0-9a-fA-F-]{36}$/, 'a subscription GUID'),
    resourceGroup: z.string().regex(/^[-\w._()]{1,90}$/, 'a resource group name (letters, digits, -_.() up to 90)'),
    storageAccountId: StorageAccountIdSchema,
    /** The storage account's region, e.g. "westus" or "West US": the starting point for Get Location. */
    region: z.string().min(1),
    returnAddress: ReturnAddressSchema,
    returnShipping: ReturnShippingSchema,
    diagnosticsPath: z.string().min(1).default('waimportexport'),
    logLevel: z.enum(['Error', 'Verbose']).default('Error'),
    backupDriveManifest: z.boolean().default(false),
    drives: DrivesSpecSchema,
    tags: z.record(z.string(), z.string()).default({}),
    notification: NotificationTargetSchema.default({ kind: 'log' }),
    timing: TimingPolicySchema.default(TimingPolicySchema.parse({})),
  })
  .strict();
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;

/** Workflow ids are business ids: one workflow per Azure job name. */
export function workflowIdForJob(jobName: string): string {
  return `import-job-${jobName}`;
}

/** Flattens zod issues into "field.path: message" lines, the form every entry point prints. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
}
