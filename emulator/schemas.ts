import { z } from 'zod';
import { ArmError } from './errors';

/**
 * Request-body schemas of Microsoft.ImportExport (swagger 2021-01-01 definitions `PutJobParameters`,
 * `UpdateJobParameters`, `JobDetails`, `ReturnAddress`, `ReturnShipping`, `DeliveryPackageInformation`,
 * `ShippingInformation`, `DriveStatus`, `Export`, `EncryptionKeyDetails`, `IdentityDetails`).
 *
 * The swagger's `required` lists are enforced; types are checked; unknown properties are ignored
 * (stripped) like ARM resource providers do. Service-computed properties (state, percentComplete,
 * returnPackage, provisioningState, drive state/copyStatus/log URIs...) are accepted and ignored on PUT.
 * The service rules that the swagger only states in prose (8x6-digit BitLocker keys, hex manifest
 * hashes, 1..10 drives, state/cancel rules) are applied in `jobs.ts` / here with field-named messages.
 */

export const BITLOCKER_KEY_RE = /^\d{6}(-\d{6}){7}$/;
/** Hex MD5 (32) — the examples also use a SHA-256-sized (64) value. */
export const MANIFEST_HASH_RE = /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64})$/;

const str = () => z.string();
const nonEmpty = () => z.string().trim().min(1, 'must not be empty');

/** The postal-address properties `ReturnAddress` and `ShippingInformation` share, each as the swagger types it. */
const AddressPropertiesSchema = z
  .object({
    recipientName: str(),
    streetAddress1: str(),
    streetAddress2: str(),
    city: str(),
    stateOrProvince: str(),
    postalCode: str(),
    countryOrRegion: str(),
    phone: str(),
  })
  .partial();

/** `ReturnAddress`: the address properties and an email, its `required` ones non-empty. */
export const ReturnAddressSchema = AddressPropertiesSchema.extend({
  recipientName: nonEmpty(),
  streetAddress1: nonEmpty(),
  city: nonEmpty(),
  postalCode: nonEmpty(),
  countryOrRegion: nonEmpty(),
  phone: nonEmpty(),
  email: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address'),
});
export type ReturnAddress = z.infer<typeof ReturnAddressSchema>;

export const ReturnShippingSchema = z.object({
  carrierName: nonEmpty(),
  carrierAccountNumber: nonEmpty(),
});
export type ReturnShipping = z.infer<typeof ReturnShippingSchema>;

/** `ShippingInformation`: the datacenter's address, which the service fills in (what a client sends is ignored). */
export const ShippingInformationSchema = AddressPropertiesSchema.extend({
  additionalInformation: str().optional(), // readOnly
});
export type ShippingInformation = z.infer<typeof ShippingInformationSchema>;

export const DeliveryPackageSchema = z.object({
  carrierName: nonEmpty(),
  trackingNumber: nonEmpty(),
  driveCount: z.number().int('must be an integer').min(1, 'must be at least 1').max(10, 'must be at most 10').optional(),
  shipDate: str().optional(),
});
export type DeliveryPackage = z.infer<typeof DeliveryPackageSchema>;

/** DriveStatus as a client sends it: per-field rules are applied by `validateImportDrives`. */
export const DriveInputSchema = z.object({
  driveId: str().optional(),
  bitLockerKey: str().optional(),
  manifestFile: str().optional(),
  manifestHash: str().optional(),
  driveHeaderHash: str().optional(),
  // service-computed; accepted and ignored
  state: str().optional(),
  copyStatus: str().optional(),
  percentComplete: z.number().optional(),
  verboseLogUri: str().optional(),
  errorLogUri: str().optional(),
  manifestUri: str().optional(),
  bytesSucceeded: z.number().optional(),
});
export type DriveInput = z.infer<typeof DriveInputSchema>;

export const ExportSchema = z.object({
  blobList: z
    .object({
      blobPath: z.array(str()).optional(),
      blobPathPrefix: z.array(str()).optional(),
    })
    .optional(),
  blobListBlobPath: str().optional(),
});
export type ExportInfo = z.infer<typeof ExportSchema>;

export const EncryptionKeySchema = z.object({
  kekType: z.enum(['MicrosoftManaged', 'CustomerManaged'], 'must be MicrosoftManaged or CustomerManaged').optional(),
  kekUrl: str().optional(),
  kekVaultResourceID: str().optional(),
});
export type EncryptionKey = z.infer<typeof EncryptionKeySchema>;

export const IdentitySchema = z.object({
  type: z.enum(['None', 'SystemAssigned', 'UserAssigned'], 'must be None, SystemAssigned or UserAssigned').optional(),
  principalId: str().optional(),
  tenantId: str().optional(),
});

const TagsSchema = z
  .record(z.string(), z.string())
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags are allowed');

export const JobDetailsSchema = z.object({
  storageAccountId: str().optional(),
  jobType: str().optional(),
  returnAddress: ReturnAddressSchema.optional(),
  returnShipping: ReturnShippingSchema.optional(),
  shippingInformation: ShippingInformationSchema.optional(),
  deliveryPackage: DeliveryPackageSchema.optional(),
  returnPackage: z.unknown().optional(), // service-computed
  diagnosticsPath: str().optional(),
  logLevel: str().optional(),
  backupDriveManifest: z.boolean().optional(),
  state: str().optional(), // service-computed on PUT
  cancelRequested: z.boolean().optional(),
  percentComplete: z.number().optional(),
  incompleteBlobListUri: str().optional(),
  driveList: z.array(DriveInputSchema).optional(),
  export: ExportSchema.optional(),
  provisioningState: str().optional(),
  encryptionKey: EncryptionKeySchema.optional(),
});
export type JobDetailsInput = z.infer<typeof JobDetailsSchema>;

export const PutJobParametersSchema = z.object({
  location: str().optional(),
  tags: TagsSchema.optional(),
  properties: JobDetailsSchema.optional(),
  identity: IdentitySchema.optional(),
});
export type PutJobParameters = z.infer<typeof PutJobParametersSchema>;

export const UpdateJobParametersSchema = z.object({
  tags: TagsSchema.optional(),
  properties: z
    .object({
      cancelRequested: z.boolean().optional(),
      state: str().optional(),
      returnAddress: ReturnAddressSchema.optional(),
      returnShipping: ReturnShippingSchema.optional(),
      deliveryPackage: DeliveryPackageSchema.optional(),
      logLevel: str().optional(),
      backupDriveManifest: z.boolean().optional(),
      driveList: z.array(DriveInputSchema).optional(),
    })
    .optional(),
});
export type UpdateJobParameters = z.infer<typeof UpdateJobParametersSchema>;

/** A field-level problem: `path` is like `properties.driveList[1].bitLockerKey`. */
export interface FieldIssue {
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? 'body' : out;
}

const MAX_DEPTH = 64;

/**
 * Problems zod would not report: `__proto__` keys (JSON.parse makes them own properties; zod drops them without a
 * word) and nesting deeper than any request of these APIs needs (walked without recursion, so depth costs no stack).
 */
function structureIssues(input: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  const stack: Array<{ v: unknown; at: PropertyKey[] }> = [{ v: input, at: [] }];
  while (stack.length > 0 && out.length < 10) {
    const { v, at } = stack.pop() ?? { v: undefined, at: [] };
    if (typeof v !== 'object' || v === null) continue;
    if (at.length > MAX_DEPTH) {
      out.push({ path: formatPath(at.slice(0, 3)), message: `is nested more than ${MAX_DEPTH} levels deep` });
      break;
    }
    const entries: Array<[PropertyKey, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      if (k === '__proto__') out.push({ path: formatPath([...at, k]), message: "'__proto__' is not an allowed property name" });
      else stack.push({ v: x, at: [...at, k] });
    }
  }
  return out;
}

/** Parses with messages like `is required` / `must be a string` instead of zod's defaults. */
export function parseBody<T>(schema: z.ZodType<T>, input: unknown): { ok: true; value: T } | { ok: false; issues: FieldIssue[] } {
  const structural = structureIssues(input);
  if (structural.length > 0) return { ok: false, issues: structural };
  const result = schema.safeParse(input, {
    error: (iss) => {
      if (iss.code === 'invalid_type') {
        if (iss.input === undefined) return 'is required';
        const expected = String(iss.expected);
        const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
        return `must be ${article} ${expected}`;
      }
      return undefined;
    },
  });
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
  };
}

/** The parsed body, or the 400 (`code`) that names every field in error. */
export function validBody<T>(schema: z.ZodType<T>, input: unknown, code?: string): T {
  const parsed = parseBody(schema, input);
  if (!parsed.ok) throw ArmError.validation(parsed.issues, code);
  return parsed.value;
}
