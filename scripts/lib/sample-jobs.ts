/**
 * The sample jobs `npm start` offers: one on the Data Box API (what real Azure takes today, the default) and one on
 * the classic Import/Export API. Each has a dataset CSV over samples/data/, a driveset CSV with two drive folders and
 * freshly generated BitLocker-style keys, so no key is ever committed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AzureApi } from '../../common/job-spec';

export const EMULATOR_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const root = path.resolve(__dirname, '..', '..');

/** A recovery-password-shaped key: each group a multiple of 11 below 720896, like real ones. */
function sampleBitLockerKey(): string {
  return Array.from({ length: 8 }, () => String(crypto.randomInt(0, 65_536) * 11).padStart(6, '0')).join('-');
}

export interface SampleJob {
  api: AzureApi;
  specFile: string;
}

function writeSample(dataDir: string, api: AzureApi, name: string): SampleJob {
  const dir = path.join(dataDir, 'sample', api);
  const specFile = path.join(dir, `${name}.yaml`);
  if (fs.existsSync(specFile)) return { api, specFile };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const drives = [1, 2].map((i) => path.join(dataDir, 'sample-drives', api, `drive${i}`));
  for (const d of drives) fs.mkdirSync(d, { recursive: true });
  const sampleData = path.join(root, 'samples', 'data');
  fs.writeFileSync(
    path.join(dir, 'dataset.csv'),
    ['BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile', `"${sampleData}/photos/",photos/,block,rename,None,None`, `"${sampleData}/logs/",logs/2026/,block,overwrite,None,None`].join('\n') + '\n',
  );
  const serial = (i: number): string => `SAMPLE${api === 'databox' ? 'DB' : 'IE'}${i + 1}WD${crypto.randomInt(1000, 9999)}`;
  fs.writeFileSync(
    path.join(dir, 'driveset.csv'),
    ['DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId', ...drives.map((d, i) => `${d},AlreadyFormatted,SilentMode,AlreadyEncrypted,${sampleBitLockerKey()},${serial(i)}`)].join('\n') + '\n',
    { mode: 0o600 },
  );
  const about =
    api === 'databox'
      ? '# On the Data Box API (Microsoft.DataBox, sku DataBoxCustomerDisk): how Azure takes Import/Export orders today.'
      : '# On the classic Import/Export API (Microsoft.ImportExport), with its alternate-location fallback.';
  fs.writeFileSync(
    specFile,
    `${about}
# Start it with: npx importctl start ${path.relative(root, specFile)}
jobName: sample-${api === 'databox' ? 'databox' : 'import'}-${crypto.randomInt(1000, 9999)}
azure: { api: ${api} }
subscriptionId: "${EMULATOR_SUBSCRIPTION}"
resourceGroup: rg-imports
storageAccountId: /subscriptions/${EMULATOR_SUBSCRIPTION}/resourceGroups/rg-imports/providers/Microsoft.Storage/storageAccounts/importsample
region: westus
returnAddress:
  recipientName: Sample Operator
  streetAddress1: 1 Sample Street
  city: Seattle
  stateOrProvince: WA
  postalCode: "98101"
  countryOrRegion: US
  phone: "+1 206 555 0100"
  email: operator@example.com
returnShipping: { carrierName: FedEx, carrierAccountNumber: "123456789" }
drives:
  prepare:
    datasetCsv: dataset.csv
    drivesetCsv: driveset.csv
    journalDir: ${path.join(dataDir, 'journal')}
notification: { kind: file, path: ${name}.jsonl }
# Short polls so the walkthrough finishes in seconds (defaults: 1 hour doubling to 1 day).
timing: { trackingPollInitial: 5 seconds, trackingPollMax: 30 seconds }
`,
  );
  return { api, specFile };
}

/** Writes the sample jobs once (kept across restarts); `reset` replaces them with fresh ones (new names, empty drives). */
export function ensureSampleJobs(dataDir: string, opts: { reset?: boolean } = {}): SampleJob[] {
  if (opts.reset) {
    fs.rmSync(path.join(dataDir, 'sample'), { recursive: true, force: true });
    fs.rmSync(path.join(dataDir, 'sample-drives'), { recursive: true, force: true });
  }
  return [writeSample(dataDir, 'databox', 'sample-job'), writeSample(dataDir, 'importexport', 'sample-job-importexport')];
}
