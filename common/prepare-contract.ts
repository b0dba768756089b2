import { z } from 'zod';
import { ContainerNameSchema } from './ids';
import type { Problem } from './problems';
import { SecretRefSchema } from './secret-ref';

/**
 * The contract between the import-job workflow and the prepare step (activities/prepare).
 * Inputs are the same information as WAImportExport v2's dataset.csv / driveset.csv.
 */

export const BlobTypeSchema = z.enum(['block', 'page']);
export const DispositionSchema = z.enum(['rename', 'no-overwrite', 'overwrite']);

/** Paths on the preparation station are absolute: a relative one would resolve against whatever the worker's cwd is. */
const AbsolutePathSchema = z
  .string()
  .min(1)
  .max(4096, 'paths have at most 4096 characters')
  .refine((p) => p.startsWith('/'), 'an absolute path (relative paths are resolved where the spec is read, not on the station)')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."')
  .refine((p) => !/[\u0000-\u001f]/.test(p), 'must not contain control characters');

/** `container/`, `container/vdir/` (prefix) or `container/blob`; the container must be a name Azure accepts. */
const BlobPathSchema = z
  .string()
  .min(1)
  .max(1024, 'blob paths have at most 1024 characters')
  .superRefine((p, ctx) => {
    const [container = '', ...rest] = p.replace(/^\/+/, '').split('/');
    const name = ContainerNameSchema.safeParse(container);
    if (!name.success) ctx.addIssue({ code: 'custom', message: `container "${container}": ${name.error.issues[0]?.message ?? 'invalid'}` });
    if (rest.some((seg) => seg === '..' || seg === '.')) ctx.addIssue({ code: 'custom', message: 'blob paths must not contain "." or ".." segments' });
    if (/[\u0000-\u001f\\]/.test(p)) ctx.addIssue({ code: 'custom', message: 'blob paths must not contain control characters or backslashes' });
  });

export const DatasetEntrySchema = z
  .object({
    /** Absolute path of a file, or of a directory (copied recursively) when it ends with '/'. */
    basePath: AbsolutePathSchema,
    dstBlobPathOrPrefix: BlobPathSchema,
    blobType: BlobTypeSchema.default('block'),
    disposition: DispositionSchema.default('rename'),
    metadataFile: AbsolutePathSchema.optional(),
    propertiesFile: AbsolutePathSchema.optional(),
  })
  .strict();
export type DatasetEntry = z.infer<typeof DatasetEntrySchema>;

/** Drive serials as Azure takes them (the disk map key on Data Box, driveId on Import/Export). */
export const DriveIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a drive serial number (1-64 letters, digits, _.-)');

export const DriveSpecSchema = z
  .object({
    /** Mount path or directory of the drive. */
    path: AbsolutePathSchema,
    formatOption: z.enum(['Format', 'AlreadyFormatted']).default('AlreadyFormatted'),
    encryption: z.enum(['Encrypt', 'AlreadyEncrypted']).default('AlreadyEncrypted'),
    /** The drive's BitLocker key, already stored as a secret (never the key itself). */
    bitLockerKeyRef: SecretRefSchema,
    /** Hardware serial; when absent it is read from the block device backing `path`. */
    driveId: DriveIdSchema.optional(),
    /** Optional cap on the bytes used on this drive (default: the free space the file system reports). */
    capacityBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();
export type DriveSpec = z.infer<typeof DriveSpecSchema>;

const trimSlash = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);
/** True when `inner` is `outer` or inside it (paths are absolute and free of `..`). */
const within = (inner: string, outer: string): boolean => {
  const a = trimSlash(inner);
  const b = trimSlash(outer);
  return a === b || a.startsWith(b === '/' ? '/' : `${b}/`);
};

/**
 * Problems between the drives and the data of one preparation that no single field shows: a drive listed
 * twice, a drive inside a source (the copy would be written into the data it copies) or a source inside a
 * drive, and a journal on a drive (it would be shipped, and wiped with the drive).
 */
export function driveSetProblems(dataset: readonly DatasetEntry[], drives: readonly DriveSpec[], journalDir?: string): Problem[] {
  const problems: Problem[] = [];
  const paths = new Map<string, number>();
  const ids = new Map<string, number>();
  drives.forEach((d, i) => {
    const p = trimSlash(d.path);
    const earlier = paths.get(p);
    if (earlier !== undefined) problems.push({ field: `drives.${i}.path`, message: `is also drive ${earlier}'s path` });
    else paths.set(p, i);
    for (const [other, j] of paths) {
      if (j !== i && other !== p && (within(p, other) || within(other, p))) {
        problems.push({ field: `drives.${i}.path`, message: `overlaps drive ${j} (${other})` });
      }
    }
    if (d.driveId !== undefined) {
      const prior = ids.get(d.driveId);
      if (prior !== undefined) problems.push({ field: `drives.${i}.driveId`, message: `drive ${d.driveId} is listed twice (also drive ${prior})` });
      else ids.set(d.driveId, i);
    }
    dataset.forEach((e, k) => {
      if (within(d.path, e.basePath)) problems.push({ field: `drives.${i}.path`, message: `is inside dataset entry ${k}'s source ${e.basePath}: the copy would be written into its own data` });
      else if (within(e.basePath, d.path)) problems.push({ field: `dataset.${k}.basePath`, message: `is on drive ${i} (${d.path}): a drive's contents are not a source` });
    });
    if (journalDir?.startsWith('/') && within(journalDir, d.path)) {
      problems.push({ field: 'journalDir', message: `is on drive ${i} (${d.path}): the journal must stay on the station` });
    }
  });
  return problems;
}

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
    driveId: DriveIdSchema,
    drivePath: z.string().min(1).max(4096),
    bitLockerKeyRef: SecretRefSchema,
    /** Manifest path relative to the drive root, as the API wants it: `\DriveManifest.xml`. */
    manifestFile: z.string().min(1).max(1024),
    /** Upper-case hex MD5 of the manifest file. */
    manifestHash: z.string().regex(/^[0-9A-F]{32}$/, 'an upper-case hex MD5 (32 characters)'),
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
