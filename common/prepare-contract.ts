import { z } from 'zod';
import { SecretRefSchema } from './secret-ref';

/**
 * The contract between the import-job workflow and the prepare step (activities/prepare).
 * Inputs are the same information as WAImportExport v2's dataset.csv / driveset.csv.
 */

export const BlobTypeSchema = z.enum(['block', 'page']);
export const DispositionSchema = z.enum(['rename', 'no-overwrite', 'overwrite']);

export const DatasetEntrySchema = z
  .object({
    /** Absolute path of a file, or of a directory (copied recursively) when it ends with '/'. */
    basePath: z.string().min(1),
    /** `container/`, `container/vdir/` (prefix) or `container/blob` (single file). */
    dstBlobPathOrPrefix: z.string().min(1),
    blobType: BlobTypeSchema.default('block'),
    disposition: DispositionSchema.default('rename'),
    metadataFile: z.string().min(1).optional(),
    propertiesFile: z.string().min(1).optional(),
  })
  .strict();
export type DatasetEntry = z.infer<typeof DatasetEntrySchema>;

export const DriveSpecSchema = z
  .object({
    /** Mount path or directory of the drive. */
    path: z.string().min(1),
    formatOption: z.enum(['Format', 'AlreadyFormatted']).default('AlreadyFormatted'),
    encryption: z.enum(['Encrypt', 'AlreadyEncrypted']).default('AlreadyEncrypted'),
    /** The drive's BitLocker key, already stored as a secret (never the key itself). */
    bitLockerKeyRef: SecretRefSchema,
    /** Hardware serial; when absent it is read from the block device backing `path`. */
    driveId: z.string().min(1).optional(),
    /** Optional cap on the bytes used on this drive (default: the free space the file system reports). */
    capacityBytes: z.number().int().positive().optional(),
  })
  .strict();
export type DriveSpec = z.infer<typeof DriveSpecSchema>;

export const PrepareRequestSchema = z
  .object({
    /** Stable id of this preparation (journal key); the workflow uses its job name. */
    preparationId: z.string().regex(/^[A-Za-z0-9_#-]{3,80}$/),
    dataset: z.array(DatasetEntrySchema).min(1),
    drives: z.array(DriveSpecSchema).min(1).max(10),
    /** `copy`: copy + hash; `skip-write`: data already on the drives, only hash and write manifests. */
    mode: z.enum(['copy', 'skip-write']).default('copy'),
    /** Directory for the durable journal (never on a target drive). */
    journalDir: z.string().min(1),
  })
  .strict();
export type PrepareRequest = z.infer<typeof PrepareRequestSchema>;
export type PrepareRequestInput = z.input<typeof PrepareRequestSchema>;

export const PreparedDriveSchema = z
  .object({
    driveId: z.string().min(1),
    drivePath: z.string().min(1),
    bitLockerKeyRef: SecretRefSchema,
    /** Manifest path relative to the drive root, as the API wants it: `\DriveManifest.xml`. */
    manifestFile: z.string().min(1),
    /** Upper-case hex MD5 of the manifest file. */
    manifestHash: z.string().regex(/^[0-9A-F]{32}$/),
    fileCount: z.number().int().nonnegative(),
    byteCount: z.number().int().nonnegative(),
  })
  .strict();
export type PreparedDrive = z.infer<typeof PreparedDriveSchema>;

export const PrepareResultSchema = z.object({ drives: z.array(PreparedDriveSchema).min(1) }).strict();
export type PrepareResult = z.infer<typeof PrepareResultSchema>;

/** Heartbeat details of the prepare activity (also the progress the workflow reports). */
export const PrepareProgressSchema = z
  .object({
    filesDone: z.number().int().nonnegative(),
    filesTotal: z.number().int().nonnegative(),
    bytesDone: z.number().int().nonnegative(),
    bytesTotal: z.number().int().nonnegative(),
    currentFile: z.string().optional(),
  })
  .strict();
export type PrepareProgress = z.infer<typeof PrepareProgressSchema>;
