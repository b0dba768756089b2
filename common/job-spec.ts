import { z } from 'zod';
import { ReturnAddressSchema, ReturnShippingSchema } from './address';
import { BitLockerKeySchema } from './bitlocker-key';
import { DurationSchema, durationToMs, type Duration } from './duration';
import { ContainerNameSchema, JobNameSchema, RegionSchema, ResourceGroupSchema, StorageAccountIdSchema, SubscriptionIdSchema } from './ids';
import { DatasetEntrySchema, DriveSpecSchema, PreparedDriveSchema, driveSetProblems } from './prepare-contract';
import { textSchema } from './text';

/**
 * The import job spec, in two forms derived from one schema:
 * - `JobSpecFileSchema`, what a person writes (YAML/JSON): CSV file references or inline drives with their keys;
 * - `JobSpecSchema`, what the workflow receives: datasets and drives resolved, keys replaced by secret references.
 * Every rule names the field and says why; everything knowable up front is checked here, so a workflow never
 * starts from input that fails later.
 */

/** Which Azure API runs the job: Data Box (what Azure takes Import/Export orders through today) or the classic API. */
export const AzureApiSchema = z.enum(['databox', 'importexport']);
export type AzureApi = z.infer<typeof AzureApiSchema>;
/** New specs use the API real Azure accepts. */
export const DEFAULT_AZURE_API: AzureApi = 'databox';
/** Workflows started before the choice existed ran on the classic API and keep doing so. */
export const LEGACY_AZURE_API: AzureApi = 'importexport';

const MAX_DRIVES = 10;
/** Relative to the preparation station's working directory, which is the station's own. */
const STATION_JOURNAL_DIR = 'data/journal';

const WebhookUrlSchema = z
  .url({ protocol: /^https?$/, error: 'a webhook URL starting with http:// or https://' })
  .max(2000, 'webhook URLs have at most 2000 characters');

export const NotificationTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('log') }).strict(),
  /** A file name inside the worker's notification directory (the worker refuses anything outside it). */
  z
    .object({
      kind: z.literal('file'),
      path: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'a relative file name such as "jobs/photos.log"')
        .refine((p) => !p.split('/').includes('..'), 'must not contain ".."'),
    })
    .strict(),
  z.object({ kind: z.literal('webhook'), url: WebhookUrlSchema }).strict(),
]);
export type NotificationTarget = z.infer<typeof NotificationTargetSchema>;

export const TimingPolicySchema = z
  .object({
    /** Azure deletes a job left without shipping information after 2 weeks. */
    shippingWindow: DurationSchema.default('14 days'),
    /** Reminder points measured from job creation; the last one is an escalation. */
    reminders: z.array(DurationSchema).max(20, 'at most 20 reminders').default(['3 days', '7 days', '12 days']),
    /** How long to wait before asking again when no shipping site can take the job. */
    closedSiteRetryInterval: DurationSchema.default('6 hours'),
    /** Tracking polls start here and double up to trackingPollMax. */
    trackingPollInitial: DurationSchema.default('1 hour'),
    trackingPollMax: DurationSchema.default('1 day'),
    /** A preparation station that stops heartbeating this long is presumed dead; the prepare step resumes elsewhere. */
    prepareHeartbeatTimeout: DurationSchema.default('2 minutes'),
    /** Alert when shipped drives have not been received after this long. */
    notReceivedAlertAfter: DurationSchema.default('14 days'),
  })
  .strict()
  .superRefine((t, ctx) => {
    // Runs even when a field above was refused: only compare the durations that parsed.
    const msOf = (d: unknown): number | undefined => (DurationSchema.safeParse(d).success ? durationToMs(d as Duration) : undefined);
    const check = (field: string | (string | number)[], ok: boolean, message: string): void => {
      if (!ok) ctx.addIssue({ code: 'custom', path: Array.isArray(field) ? field : [field], message });
    };
    const window = msOf(t.shippingWindow);
    if (window !== undefined) {
      check('shippingWindow', window <= durationToMs('14 days'), 'at most 14 days: Azure deletes jobs without shipping information after 2 weeks');
      check('shippingWindow', window >= 60_000, 'at least 1 minute');
      const seen = new Set<number>();
      t.reminders.forEach((r, i) => {
        const at = msOf(r);
        if (at === undefined) return;
        check(['reminders', i], at < window, 'must come before the end of the shipping window');
        check(['reminders', i], !seen.has(at), 'repeats an earlier reminder');
        seen.add(at);
      });
    }
    const [pollInitial, pollMax] = [msOf(t.trackingPollInitial), msOf(t.trackingPollMax)];
    if (pollInitial !== undefined && pollMax !== undefined) check('trackingPollInitial', pollInitial <= pollMax, 'must not be longer than trackingPollMax');
    if (pollInitial !== undefined) check('trackingPollInitial', pollInitial >= 100, 'at least 100 ms');
    const heartbeat = msOf(t.prepareHeartbeatTimeout);
    if (heartbeat !== undefined) check('prepareHeartbeatTimeout', heartbeat >= 1000, 'at least 1 second');
    const closedRetry = msOf(t.closedSiteRetryInterval);
    if (closedRetry !== undefined) check('closedSiteRetryInterval', closedRetry >= 1000, 'at least 1 second');
  });
export type TimingPolicy = z.infer<typeof TimingPolicySchema>;

const PrepareOptionsShape = {
  mode: z.enum(['copy', 'skip-write']).default('copy'),
  /** Task queue of the station where the drives are attached. */
  stationTaskQueue: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'a task queue name (letters, digits, ._-)').default('prepare-station'),
  /** The station's journal directory: an absolute path, or the station's own `data/journal`. */
  journalDir: z
    .string()
    .max(4096)
    .refine((p) => p === STATION_JOURNAL_DIR || p.startsWith('/'), 'an absolute path')
    .default(STATION_JOURNAL_DIR),
};

const PrepareSectionSchema = z
  .object({ dataset: z.array(DatasetEntrySchema).min(1).max(10_000), drives: z.array(DriveSpecSchema).min(1).max(MAX_DRIVES, `Azure accepts at most ${MAX_DRIVES} drives per job`), ...PrepareOptionsShape })
  .strict()
  .superRefine((p, ctx) => {
    for (const { field, message } of driveSetProblems(p.dataset, p.drives, p.journalDir)) {
      ctx.addIssue({ code: 'custom', path: field.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)), message });
    }
  });

const PreparedDrivesSchema = z
  .array(PreparedDriveSchema)
  .min(1)
  .max(MAX_DRIVES, `Azure accepts at most ${MAX_DRIVES} drives per job`)
  .superRefine((drives, ctx) => {
    const seen = new Set<string>();
    drives.forEach((d, i) => {
      if (seen.has(d.driveId)) ctx.addIssue({ code: 'custom', path: [i, 'driveId'], message: `drive ${d.driveId} is listed twice` });
      seen.add(d.driveId);
    });
  });

export const DrivesSpecSchema = z.union([
  /** Prepare drives on a preparation station: copy, hash and write manifests. */
  z.object({ prepare: PrepareSectionSchema }).strict(),
  /** Drives prepared earlier (e.g. with `importctl prepare`). */
  z.object({ prepared: PreparedDrivesSchema }).strict(),
]);
export type DrivesSpec = z.infer<typeof DrivesSpecSchema>;

/** Azure's tag rules: at most 50, names up to 512 characters (no <>%&\?/), values up to 256. */
const TagsSchema = z
  .record(
    z.string().min(1).max(512).regex(/^[^<>%&\\?/]+$/, 'tag names must not contain < > % & \\ ? /').refine((k) => k !== '__proto__', 'not a tag name'),
    textSchema(256, 'tag values'),
  )
  .refine((t) => Object.keys(t).length <= 50, 'Azure accepts at most 50 tags')
  .default({});

const JobSpecShape = {
  jobName: JobNameSchema,
  subscriptionId: SubscriptionIdSchema,
  resourceGroup: ResourceGroupSchema,
  storageAccountId: StorageAccountIdSchema,
  /** The storage account's region, e.g. "westus" or "West US": where the drives are shipped. */
  region: RegionSchema,
  returnAddress: ReturnAddressSchema,
  returnShipping: ReturnShippingSchema,
  /** The container Azure writes copy logs to. */
  diagnosticsPath: ContainerNameSchema.default('waimportexport'),
  logLevel: z.enum(['Error', 'Verbose']).default('Error'),
  backupDriveManifest: z.boolean().default(false),
  tags: TagsSchema,
  notification: NotificationTargetSchema.default({ kind: 'log' }),
  timing: TimingPolicySchema.default(TimingPolicySchema.parse({})),
};

/** Rules of one API that the other does not have. */
function apiSpecificProblems(spec: { jobName: string; azure?: { api: AzureApi } | undefined }, ctx: z.RefinementCtx): void {
  if (spec.azure?.api === 'databox' && spec.jobName.length > 24) {
    ctx.addIssue({ code: 'custom', path: ['jobName'], message: 'Data Box job names have at most 24 characters' });
  }
}

/** The workflow's input. `azure` is absent only in workflows started before the API could be chosen. */
export const JobSpecSchema = z
  .object({ ...JobSpecShape, azure: z.object({ api: AzureApiSchema }).strict().optional(), drives: DrivesSpecSchema })
  .strict()
  .superRefine(apiSpecificProblems);
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;

/** The Azure API of a parsed spec (the classic API for workflows that predate the choice). */
export function azureApiOf(spec: Pick<JobSpec, 'azure'>): AzureApi {
  return spec.azure?.api ?? LEGACY_AZURE_API;
}

/** A drive as a person writes it inline: the key itself (moved into the secret store at the door). */
const InlineDriveFileSchema = DriveSpecSchema.omit({ bitLockerKeyRef: true }).extend({ existingBitLockerKey: BitLockerKeySchema }).strict();
/** ...or, for drives prepared earlier, the key itself or the reference `importctl prepare` stored it under. */
const InlinePreparedDriveFileSchema = z.union([PreparedDriveSchema.omit({ bitLockerKeyRef: true }).extend({ bitLockerKey: BitLockerKeySchema }).strict(), PreparedDriveSchema]);

const CsvFileRefSchema = z.string().min(1).max(4096).refine((p) => p.toLowerCase().endsWith('.csv'), 'a .csv file');

/** The drives section as written in a spec file. */
export const DrivesFileSchema = z.union([
  z
    .object({
      prepare: z.union([
        /** WAImportExport's two CSVs, relative to the spec file (or uploaded with it). */
        z.object({ datasetCsv: CsvFileRefSchema, drivesetCsv: CsvFileRefSchema, ...PrepareOptionsShape }).strict(),
        z.object({ dataset: z.array(DatasetEntrySchema).min(1).max(10_000), drives: z.array(InlineDriveFileSchema).min(1).max(MAX_DRIVES), ...PrepareOptionsShape }).strict(),
      ]),
    })
    .strict(),
  z.object({ prepared: z.array(InlinePreparedDriveFileSchema).min(1).max(MAX_DRIVES) }).strict(),
]);

/** What a person writes. Everything but the drives is validated here exactly as the workflow will see it. */
export const JobSpecFileSchema = z
  .object({ ...JobSpecShape, azure: z.object({ api: AzureApiSchema.default(DEFAULT_AZURE_API) }).strict().default({ api: DEFAULT_AZURE_API }), drives: DrivesFileSchema })
  .strict()
  .superRefine(apiSpecificProblems);
export type JobSpecFile = z.infer<typeof JobSpecFileSchema>;

