/**
 * The prepare step as Temporal runs it: the preparation-station worker is a real process (worker/main.ts, role
 * `prepare`) that is SIGKILLed part-way through copying. A new station process picks the retried activity up, resumes
 * from the journal without recopying finished files, and the manifests equal an uninterrupted preparation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { AzureConfigSchema } from '../activities/azure/config';
import { parseDatasetCsv, parseDrivesetCsv, prepareDrives } from '../activities/prepare';
import { workflowIdForJob } from '../common/ids';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { dataConverterFor } from '../security/payload-codec';
import { InMemorySecretStore, LocalFileSecretStore } from '../security/secret-store';
import { importJobWorkflow } from '../workflows/import-job';
import { statusQuery } from '../workflows/import-job-messages';
import { buildImportJobActivities, createOrchestratorWorker } from '../worker/create-workers';
import { createDevServerEnv } from './helpers/temporal-env';

const ROOT = path.resolve(__dirname, '..');
const SUB = '00000000-aaaa-bbbb-cccc-000000000002';
const MiB = 1024 * 1024;
const FILES = 150;
const key = crypto.randomBytes(32);
const payloadKeys = { currentKeyId: 'crash1', keys: { crash1: key } };
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let orchestrator: Worker;
let orchestratorRun: Promise<void>;
let dir: string;
const stations: ChildProcess[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prepare-worker-crash-'));
  const dataConverter = dataConverterFor({ payloadKeys });
  env = await createDevServerEnv({ searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES], dataConverter });
  emulator = await startEmulator({ httpPort: 0, httpsPort: null });
  const azure = AzureConfigSchema.parse({ endpoint: emulator.httpUrl, subscriptionId: SUB, credential: 'static-token', staticToken: 't', allowInsecureHttp: true, apiVersion: '2021-01-01' });
  orchestrator = await createOrchestratorWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue: 'crash-orchestrator',
    activities: buildImportJobActivities({ azure, secrets: new LocalFileSecretStore({ dir: path.join(dir, 'secrets'), keyRing: payloadKeys }) }),
    dataConverter,
  });
  orchestratorRun = orchestrator.run();
});

after(async () => {
  for (const s of stations) s.kill('SIGKILL');
  orchestrator?.shutdown();
  await orchestratorRun;
  await emulator?.close();
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

function startStation(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TEMPORAL_ADDRESS: env.address,
      WORKER_ROLES: 'prepare',
      PREPARE_TASK_QUEUE: 'crash-station',
      REGISTER_SEARCH_ATTRIBUTES: 'false',
      PAYLOAD_KEYS: `crash1:${key.toString('base64')}`,
      PAYLOAD_CURRENT_KEY_ID: 'crash1',
      SECRET_STORE_DIR: path.join(dir, 'secrets'),
      LOG_LEVEL: 'WARN',
      METRICS_BIND: 'off',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  stations.push(child);
  return child;
}

const segRecords = (file: string): { f: number }[] =>
  fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { t: string; f: number }).filter((r) => r.t === 'seg')
    : [];

test('SIGKILL of the preparing worker: the retried activity resumes on a new station process; manifests identical', { timeout: 240_000 }, async () => {
  const src = path.join(dir, 'src');
  // Enough data (300 MB) that the station is still copying when the kill lands, even on an idle machine.
  for (let i = 0; i < FILES; i++) {
    fs.mkdirSync(path.join(src, `d${i % 4}`), { recursive: true });
    fs.writeFileSync(path.join(src, `d${i % 4}`, `f${String(i).padStart(2, '0')}.bin`), crypto.randomBytes(2 * MiB + i));
  }
  for (const d of ['a', 'b', 'ref-a', 'ref-b']) fs.mkdirSync(path.join(dir, d));
  const bitLockerKey = (): string => Array.from({ length: 8 }, () => String(crypto.randomInt(0, 65_536) * 11).padStart(6, '0')).join('-');
  const keys = [bitLockerKey(), bitLockerKey()];
  const dataset = `BasePath,DstBlobPathOrPrefix\n${src}/,crash/\n`;
  const driveset = (a: string, b: string): string =>
    `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId,CapacityBytes\n${a},AlreadyFormatted,SilentMode,AlreadyEncrypted,${keys[0]},CRASHA,${200 * MiB}\n${b},AlreadyFormatted,SilentMode,AlreadyEncrypted,${keys[1]},CRASHB,${200 * MiB}\n`;
  const jobName = `crash-${crypto.randomUUID().slice(0, 6)}`;
  const secrets = new LocalFileSecretStore({ dir: path.join(dir, 'secrets'), keyRing: payloadKeys });
  const drives = await parseDrivesetCsv(driveset(path.join(dir, 'a'), path.join(dir, 'b')), 'driveset.csv', secrets, jobName);
  const journalDir = path.join(dir, 'journal');

  let station = startStation();
  const handle = await env.client.workflow.start(importJobWorkflow, {
    taskQueue: 'crash-orchestrator',
    workflowId: workflowIdForJob(jobName),
    args: [
      {
        spec: {
          jobName,
          subscriptionId: SUB,
          resourceGroup: 'rg-crash',
          storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-crash/providers/Microsoft.Storage/storageAccounts/crashdata`,
          region: 'westus',
          returnAddress: { recipientName: 'Ops', streetAddress1: '1 Way', city: 'Redmond', postalCode: '98052', countryOrRegion: 'USA', phone: '+1 425 555 0100', email: 'ops@example.com' },
          returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '1' },
          drives: { prepare: { dataset: parseDatasetCsv(dataset, 'dataset.csv'), drives, stationTaskQueue: 'crash-station', journalDir } },
          timing: { prepareHeartbeatTimeout: '5 seconds' },
        },
      },
    ],
  });

  // Kill the station once some files are durably journaled, well before all of them are.
  const journalFile = path.join(journalDir, jobName, 'journal.jsonl');
  const deadline = Date.now() + 120_000;
  while (segRecords(journalFile).length < 3) {
    assert.ok(Date.now() < deadline, 'preparation made progress');
    await new Promise((r) => setTimeout(r, 5));
  }
  station.kill('SIGKILL');
  await new Promise((r) => station.once('exit', r));
  const before = segRecords(journalFile);
  assert.ok(before.length < FILES, `killed part-way (${before.length} of ${FILES} files done)`);
  const plan = JSON.parse(fs.readFileSync(path.join(journalDir, jobName, 'plan.json'), 'utf8')) as { drives: { path: string }[]; files: { drive: number; rel: string }[] };
  const destOf = (f: number): string => path.join(plan.drives[plan.files[f]!.drive]!.path, ...plan.files[f]!.rel.split('/'));
  const mtimes = new Map(before.map((r) => [r.f, fs.statSync(destOf(r.f), { bigint: true }).mtimeNs]));

  // A new station process: Temporal retries the activity after the heartbeat timeout, and it resumes.
  station = startStation();
  const deadline2 = Date.now() + 120_000;
  for (;;) {
    const s = await handle.query(statusQuery);
    if (s.step === 'awaiting-shipping') break;
    assert.notEqual(s.step, 'failed', s.failure);
    assert.ok(Date.now() < deadline2, `still ${s.step}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const after = segRecords(journalFile);
  assert.equal(after.length, FILES, 'every file journaled exactly once: finished files were not copied again');
  for (const r of before) assert.equal(fs.statSync(destOf(r.f), { bigint: true }).mtimeNs, mtimes.get(r.f), `file ${r.f} was rewritten`);

  // The same preparation without any crash, into other folders, gives byte-identical manifests.
  const refDrives = await parseDrivesetCsv(driveset(path.join(dir, 'ref-a'), path.join(dir, 'ref-b')), 'driveset.csv', new InMemorySecretStore(), 'reference');
  await prepareDrives({ preparationId: 'reference', dataset: parseDatasetCsv(dataset, 'dataset.csv'), drives: refDrives, mode: 'copy', journalDir: path.join(dir, 'ref-journal') }, {});
  for (const [d, ref] of [['a', 'ref-a'], ['b', 'ref-b']] as const) {
    assert.deepEqual(fs.readFileSync(path.join(dir, d, 'DriveManifest.xml')), fs.readFileSync(path.join(dir, ref, 'DriveManifest.xml')), `drive ${d} manifest`);
  }
  await handle.terminate('test done');
});
