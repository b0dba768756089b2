/**
 * Reads a job spec file (YAML or JSON) the way operators write it and turns it into the workflow's input:
 * BitLocker keys found in it (or in the driveset CSV it names) go into the secret store, and only references
 * go on to Temporal. Every problem is reported as "file: field: reason", all at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseDatasetCsv, parseDrivesetCsv, parsePrepareSpecText } from '../activities/prepare/inputs';
import { PrepareInputError } from '../activities/prepare/errors';
import { JobSpecSchema, describeIssues, type JobSpecInput } from '../common/job-spec';
import { BITLOCKER_KEY_PATTERN, type SecretStore } from '../common/secret-ref';

export type SpecFileResult = { ok: true; spec: JobSpecInput } | { ok: false; problems: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function loadJobSpecFile(file: string, secrets: SecretStore): Promise<SpecFileResult> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    return { ok: false, problems: [`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (!isObj(raw)) return { ok: false, problems: [`${file}: a job spec is a mapping of fields (jobName, region, drives, ...)`] };

  // Check everything but the drives first, so no secret is stored for a spec that is invalid anyway.
  const problems: string[] = [];
  const probe = JobSpecSchema.safeParse({ ...raw, drives: { prepared: [placeholderDrive] } });
  if (!probe.success) problems.push(...describeIssues(probe.error).map((p) => `${file}: ${p}`));
  const jobName = typeof raw.jobName === 'string' ? raw.jobName : 'job';
  const baseDir = path.dirname(path.resolve(file));

  let drives: unknown = raw.drives;
  try {
    drives = await resolveDrives(raw.drives, { file, baseDir, jobName, secrets, problems, specText: text });
  } catch (err) {
    problems.push(err instanceof PrepareInputError ? err.message : `${file}: drives: ${(err as Error).message}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const spec = { ...raw, drives } as JobSpecInput;
  const full = JobSpecSchema.safeParse(spec);
  if (!full.success) return { ok: false, problems: describeIssues(full.error).map((p) => `${file}: ${p}`) };
  return { ok: true, spec };
}

const placeholderDrive = {
  driveId: 'PLACEHOLDER',
  drivePath: '/',
  bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name: 'placeholder' },
  manifestFile: '\\DriveManifest.xml',
  manifestHash: '0'.repeat(32),
  fileCount: 0,
  byteCount: 0,
};

async function resolveDrives(
  drives: unknown,
  ctx: { file: string; baseDir: string; jobName: string; secrets: SecretStore; problems: string[]; specText: string },
): Promise<unknown> {
  if (!isObj(drives)) {
    ctx.problems.push(`${ctx.file}: drives: give either "prepare" (data to copy onto drives) or "prepared" (drives prepared earlier)`);
    return drives;
  }
  if (Array.isArray(drives.prepared)) {
    // Prepared drives may carry their key in the spec file; it is moved into the secret store here.
    const out = [];
    for (const [i, d] of drives.prepared.entries()) {
      if (isObj(d) && typeof d.bitLockerKey === 'string') {
        if (!BITLOCKER_KEY_PATTERN.test(d.bitLockerKey)) {
          ctx.problems.push(`${ctx.file}: drives.prepared.${i}.bitLockerKey: must be 8 groups of 6 digits separated by dashes`);
          out.push(d);
          continue;
        }
        const { bitLockerKey, ...rest } = d;
        const ref = await ctx.secrets.put(`bitlocker-${ctx.jobName}-${String(d.driveId ?? i).replace(/[^A-Za-z0-9-]/g, '')}`, bitLockerKey);
        out.push({ ...rest, bitLockerKeyRef: ref });
      } else out.push(d);
    }
    return { prepared: out };
  }
  if (isObj(drives.prepare)) {
    const p = drives.prepare;
    const rel = (f: unknown): string => path.resolve(ctx.baseDir, String(f));
    const { datasetCsv, drivesetCsv, ...rest } = p;
    if (datasetCsv !== undefined || drivesetCsv !== undefined) {
      if (typeof datasetCsv !== 'string' || typeof drivesetCsv !== 'string') {
        ctx.problems.push(`${ctx.file}: drives.prepare: give both datasetCsv and drivesetCsv (file paths)`);
        return drives;
      }
      const dataset = parseDatasetCsv(fs.readFileSync(rel(datasetCsv), 'utf8'), datasetCsv);
      const driveSpecs = await parseDrivesetCsv(fs.readFileSync(rel(drivesetCsv), 'utf8'), drivesetCsv, ctx.secrets, ctx.jobName);
      return { prepare: { ...rest, dataset, drives: driveSpecs } };
    }
    if (Array.isArray(p.drives) && p.drives.some((d) => isObj(d) && 'bitLockerKeyRef' in d)) return drives;
    // Inline dataset/drives (keys as existingBitLockerKey): parsed by the prepare step's own spec parser.
    const section = await parsePrepareSpecText(YAML.stringify({ dataset: p.dataset, drives: p.drives }), `${ctx.file} (drives.prepare)`, ctx.secrets, ctx.jobName, null);
    return { prepare: { ...rest, dataset: section.dataset, drives: section.drives } };
  }
  return drives;
}
