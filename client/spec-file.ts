/**
 * Reads a job spec (YAML or JSON, the form people write) and turns it into the workflow's input: CSV references
 * are read and parsed, BitLocker keys are staged for the secret store and replaced by references. Every problem is
 * reported at once, each naming its field. Nothing is written anywhere here: the caller commits the staged secrets
 * only after every check has passed (and never in a dry run).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { PrepareInputError, PrepareInputErrors } from '../activities/prepare/errors';
import { JobSpecFileSchema, JobSpecSchema, type JobSpec, type JobSpecFile } from '../common/job-spec';
import type { DriveSpec, PreparedDrive } from '../common/prepare-contract';
import { problemsFromZodError, type Problem } from '../common/problems';
import type { SecretRef, SecretStore } from '../common/secret-ref';
import { StagedSecretStore } from './spec-secrets';

/** Far above any real spec (a spec lists at most 10 drives); a bigger file is a mistake, not a job. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** A dataset CSV lists at most 10,000 entries; this leaves room for long paths. */
export const MAX_CSV_BYTES = 16 * 1024 * 1024;

export type SpecResult = { ok: true; spec: JobSpec; secrets: StagedSecretStore } | { ok: false; problems: Problem[] };

export interface SpecSources {
  /** How the spec is named in messages (its file name, or "the uploaded spec"). */
  name: string;
  /** Text of a CSV the spec references (path as written in the spec); throws SpecSourceError when unavailable. */
  readCsv(reference: string): Promise<string>;
}

/** A referenced file that cannot be read, with a message fit for the user (no raw errno). */
export class SpecSourceError extends Error {
  override name = 'SpecSourceError';
}

export interface SecretTarget {
  store: SecretStore;
  kind: SecretRef['store'];
}

/** Reads `file` and the CSVs it names (relative to the spec's folder). */
export async function loadJobSpecFile(file: string, secrets: SecretTarget): Promise<SpecResult> {
  const text = await readLimited(file, MAX_SPEC_BYTES, 'job spec');
  if (typeof text !== 'string') return { ok: false, problems: [{ field: '(file)', message: text.problem }] };
  const baseDir = path.dirname(path.resolve(file));
  return parseJobSpecText(text, {
    name: file,
    readCsv: async (reference) => {
      const csv = await readLimited(path.resolve(baseDir, reference), MAX_CSV_BYTES, 'CSV file');
      if (typeof csv !== 'string') throw new SpecSourceError(csv.problem);
      return csv;
    },
  }, secrets);
}

async function readLimited(file: string, maxBytes: number, what: string): Promise<string | { problem: string }> {
  try {
    const st = await fs.stat(file);
    if (st.isDirectory()) return { problem: `${file} is a folder, not a ${what}` };
    if (st.size > maxBytes) return { problem: `${file} is ${st.size} bytes; a ${what} has at most ${maxBytes} bytes` };
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `${file}: no such file` };
    if (code === 'EACCES' || code === 'EPERM') return { problem: `${file}: not readable (permission denied)` };
    return { problem: `${file}: cannot be read (${code ?? 'error'})` };
  }
}

/** Parses and resolves spec text; `sources` supplies the CSVs it references. */
export async function parseJobSpecText(text: string, sources: SpecSources, secrets: SecretTarget): Promise<SpecResult> {
  if (Buffer.byteLength(text, 'utf8') > MAX_SPEC_BYTES) {
    return { ok: false, problems: [{ field: '(file)', message: `${sources.name}: a job spec has at most ${MAX_SPEC_BYTES} bytes` }] };
  }
  let raw: unknown;
  try {
    // Aliases are bounded so a "billion laughs" document cannot expand without limit.
    raw = YAML.parse(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    return { ok: false, problems: [{ field: '(file)', message: `${sources.name}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` }] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: [{ field: '(root)', message: 'a job spec is a mapping of fields (jobName, region, drives, …)' }] };
  }
  const reserved = reservedKeys(raw, []);
  if (reserved.length > 0) return { ok: false, problems: reserved };
  const parsed = JobSpecFileSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: problemsFromZodError(parsed.error, JobSpecFileSchema) };

  const file = parsed.data;
  const staged = new StagedSecretStore(secrets.store, secrets.kind, { jobName: file.jobName });
  const drives = await resolveDrives(file, sources, staged);
  if ('problems' in drives) return { ok: false, problems: drives.problems };
  const resolved = JobSpecSchema.safeParse({ ...file, drives: drives.value });
  if (!resolved.success) return { ok: false, problems: problemsFromZodError(resolved.error, JobSpecSchema) };
  return { ok: true, spec: resolved.data, secrets: staged };
}

/**
 * Keys that would reach an object's prototype in JavaScript (`__proto__`) or look like an attempt to: refused by
 * name instead of being silently dropped by whatever copies the object next.
 */
function reservedKeys(value: unknown, at: string[]): Problem[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => reservedKeys(v, [...at, String(i)]));
  return Object.keys(value).flatMap((k) =>
    k === '__proto__' || k === 'constructor' || k === 'prototype'
      ? [{ field: [...at, k].join('.'), message: `"${k}" is not a field name` }]
      : reservedKeys((value as Record<string, unknown>)[k], [...at, k]),
  );
}

type Resolved = { value: JobSpec['drives'] } | { problems: Problem[] };

async function resolveDrives(file: JobSpecFile, sources: SpecSources, secrets: StagedSecretStore): Promise<Resolved> {
  // The prepare step's parsers are large; a spec refused by the schema already is answered without them.
  const { bitLockerSecretName, parseDatasetCsv, parseDrivesetCsv } = await import('../activities/prepare/inputs');
  const jobName = file.jobName;
  if ('prepared' in file.drives) {
    const prepared: PreparedDrive[] = [];
    for (const written of file.drives.prepared) {
      // A reference stored earlier (importctl prepare) goes on as it is; its binding is checked before start.
      if (!('bitLockerKey' in written)) {
        prepared.push(written);
        continue;
      }
      const { bitLockerKey, ...drive } = written;
      prepared.push({ ...drive, bitLockerKeyRef: await secrets.put(bitLockerSecretName(jobName, drive.driveId), bitLockerKey) });
    }
    return { value: { prepared } };
  }
  const p = file.drives.prepare;
  if ('datasetCsv' in p) {
    const { datasetCsv, drivesetCsv, ...options } = p;
    const problems: Problem[] = [];
    const dataset = await fromCsv('drives.prepare.datasetCsv', datasetCsv, sources, problems, (text) => parseDatasetCsv(text, datasetCsv));
    const drives = await fromCsv('drives.prepare.drivesetCsv', drivesetCsv, sources, problems, (text) => parseDrivesetCsv(text, drivesetCsv, secrets, jobName));
    if (problems.length > 0 || !dataset || !drives) return { problems };
    return { value: { prepare: { ...options, dataset, drives } } };
  }
  const { dataset, drives: inline, ...options } = p;
  const drives: DriveSpec[] = [];
  for (const [i, { existingBitLockerKey, ...drive }] of inline.entries()) {
    drives.push({ ...drive, bitLockerKeyRef: await secrets.put(bitLockerSecretName(jobName, drive.driveId ?? `drive${i + 1}`), existingBitLockerKey) });
  }
  return { value: { prepare: { ...options, dataset, drives } } };
}

async function fromCsv<T>(field: string, reference: string, sources: SpecSources, problems: Problem[], parse: (text: string) => T | Promise<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await sources.readCsv(reference);
  } catch (err) {
    problems.push({ field, message: err instanceof SpecSourceError ? err.message : `${reference}: cannot be read` });
    return undefined;
  }
  try {
    return await parse(text);
  } catch (err) {
    if (!(err instanceof PrepareInputError)) throw err;
    const all = err instanceof PrepareInputErrors ? err.errors : [err];
    problems.push(...all.map((e) => ({ field, message: scrubKeys(e.message) })));
    return undefined;
  }
}

/**
 * CSV parser messages can quote the offending cell, which in a driveset may be a BitLocker key: anything shaped
 * like one (or a fragment of one) is masked, and parsers' "value is …" tails are cut.
 */
export function scrubKeys(message: string): string {
  return message.replace(/,?\s*value is .*$/i, '').replace(/\d{6}(?:-\d{1,6})+-?/g, '[key hidden]');
}
