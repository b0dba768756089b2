/**
 * "Start a job": the same spec language as importctl (YAML or JSON, `drives.prepare.datasetCsv`/`drivesetCsv`
 * uploaded with the form or given as absolute paths on the station) through the same validation path
 * (`parseJobSpecText`, then the station checks), so the console accepts and refuses exactly what importctl does.
 * Nothing is written until every check passes; "Validate only" writes nothing at all.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { Problem } from '../common/problems';
import { MAX_CSV_BYTES, SpecSourceError, parseJobSpecText, type SecretTarget } from '../client/spec-file';
import { stationProblems } from '../client/station-checks';
import { InMemorySecretStore } from '../security/secret-store';
import type { JobsApi } from './jobs';

export interface StartForm {
  spec: string;
  /** Uploaded CSV texts, used for the spec's `drives.prepare.datasetCsv` / `drivesetCsv` references. */
  datasetCsv?: string;
  drivesetCsv?: string;
  validateOnly: boolean;
}

export type StartFormResult =
  | { ok: false; status: number; problems: Problem[] }
  | { ok: true; summary: string; started?: string };

/** A template to download: every field a spec needs, with the CSV form of the drives section. */
export const SPEC_TEMPLATE = `# An import job spec (the same language as \`importctl start\`). Upload it with its two CSVs, or give
# absolute paths on the preparation station for datasetCsv / drivesetCsv.
jobName: photos-2026-12
subscriptionId: "00000000-0000-0000-0000-000000000000"
resourceGroup: rg-imports
storageAccountId: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-imports/providers/Microsoft.Storage/storageAccounts/importsample
region: westus
azure: { api: databox }
returnAddress:
  recipientName: Your Name
  streetAddress1: 1 Sample Street
  city: Seattle
  stateOrProvince: WA
  postalCode: "98101"
  countryOrRegion: USA
  phone: "+1 206 555 0100"
  email: you@example.com
returnShipping: { carrierName: FedEx, carrierAccountNumber: "123456789" }
drives:
  prepare:
    datasetCsv: dataset.csv      # BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile
    drivesetCsv: driveset.csv    # DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId
notification: { kind: log }
`;

/** The CSV references the spec names, read without validating anything else (that is parseJobSpecText's job). */
function csvReferences(text: string): { dataset?: string; driveset?: string } {
  try {
    const raw = YAML.parse(text, { maxAliasCount: 100 }) as { drives?: { prepare?: { datasetCsv?: unknown; drivesetCsv?: unknown } } } | null;
    const p = raw?.drives?.prepare;
    return {
      ...(typeof p?.datasetCsv === 'string' ? { dataset: p.datasetCsv } : {}),
      ...(typeof p?.drivesetCsv === 'string' ? { driveset: p.drivesetCsv } : {}),
    };
  } catch {
    return {};
  }
}

async function readStationCsv(reference: string): Promise<string> {
  // Relative paths would resolve against the console's working directory, which is nobody's intention.
  if (!path.isAbsolute(reference)) throw new SpecSourceError(`${reference}: upload the file with the form, or give an absolute path on the station`);
  try {
    const st = await fs.stat(reference);
    if (!st.isFile()) throw new SpecSourceError(`${reference} is not a file`);
    if (st.size > MAX_CSV_BYTES) throw new SpecSourceError(`${reference} is ${st.size} bytes; a CSV file has at most ${MAX_CSV_BYTES} bytes`);
    return await fs.readFile(reference, 'utf8');
  } catch (err) {
    if (err instanceof SpecSourceError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecSourceError(code === 'ENOENT' ? `${reference}: no such file on the station` : `${reference}: cannot be read (${code ?? 'error'})`);
  }
}

export async function checkStartForm(form: StartForm, deps: { jobs: JobsApi; secrets: SecretTarget | undefined; startedBy: string }): Promise<StartFormResult> {
  if (form.spec.trim() === '') return { ok: false, status: 422, problems: [{ field: '(spec)', message: 'paste a job spec or upload one' }] };
  const refs = csvReferences(form.spec);
  const problems: Problem[] = [];
  if (form.datasetCsv !== undefined && refs.dataset === undefined) problems.push({ field: 'datasetCsvFile', message: 'a dataset CSV was uploaded, but the spec has no drives.prepare.datasetCsv' });
  if (form.drivesetCsv !== undefined && refs.driveset === undefined) problems.push({ field: 'drivesetCsvFile', message: 'a driveset CSV was uploaded, but the spec has no drives.prepare.drivesetCsv' });
  const parsed = await parseJobSpecText(
    form.spec,
    {
      name: 'the spec',
      readCsv: async (reference) => {
        if (reference === refs.dataset && form.datasetCsv !== undefined) return form.datasetCsv;
        if (reference === refs.driveset && form.drivesetCsv !== undefined) return form.drivesetCsv;
        return readStationCsv(reference);
      },
    },
    // Without a store of its own the console can still validate: keys are staged in memory and never kept.
    deps.secrets ?? { store: new InMemorySecretStore(), kind: 'local' },
  );
  if (!parsed.ok) return { ok: false, status: 422, problems: [...problems, ...parsed.problems] };
  problems.push(...stationProblems(parsed.spec));
  if (problems.length > 0) return { ok: false, status: 422, problems };
  const drives = 'prepared' in parsed.spec.drives ? `${parsed.spec.drives.prepared.length} prepared drive(s)` : `${parsed.spec.drives.prepare.drives.length} drive(s) to prepare`;
  const summary = `${parsed.spec.jobName}: valid (${drives}, region ${parsed.spec.region}).`;
  if (form.validateOnly) return { ok: true, summary };
  if (!deps.secrets) return { ok: false, status: 503, problems: [{ field: '(console)', message: 'this console has no secret store configured, so it cannot start jobs' }] };
  const started = await deps.jobs.start(parsed.spec, deps.startedBy, parsed.secrets);
  if (!started.ok) return { ok: false, status: 409, problems: started.problems };
  return { ok: true, summary, started: started.workflowId };
}
