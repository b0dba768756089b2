/**
 * End to end through the importctl CLI (real processes) against the real dev server, the Azure emulator and the
 * production worker wiring (orchestrator + preparation station, local encrypted secret store): a job spec with
 * dataset/driveset CSVs is prepared onto real directories, created, shipped, completed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { AzureConfigSchema } from '../activities/azure/config';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { dataConverterFor } from '../security/payload-codec';
import { LocalFileSecretStore } from '../security/secret-store';
import { buildImportJobActivities, createOrchestratorWorker } from '../worker/create-workers';
import { createPrepareWorker } from '../worker/prepare-worker';
import { createDevServerEnv } from './helpers/temporal-env';

const ROOT = path.resolve(__dirname, '..');
const SUB = '00000000-aaaa-bbbb-cccc-000000000001';
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let workers: Worker[];
let running: Promise<void>[];
let dir: string;
let cliEnv: Record<string, string>;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'importctl-e2e-'));
  const key = crypto.randomBytes(32);
  const payloadKeys = { currentKeyId: 'e2e1', keys: { e2e1: key } };
  const dataConverter = dataConverterFor({ payloadKeys });
  env = await createDevServerEnv({ searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES], dataConverter });
  emulator = await startEmulator({ httpPort: 0, httpsPort: null });
  const secrets = new LocalFileSecretStore({ dir: path.join(dir, 'secrets'), keyRing: payloadKeys });
  const azure = AzureConfigSchema.parse({ endpoint: emulator.httpUrl, subscriptionId: SUB, credential: 'static-token', staticToken: 't', allowInsecureHttp: true, apiVersion: '2021-01-01' });
  const taskQueue = `e2e-${crypto.randomUUID()}`;
  workers = [
    await createOrchestratorWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities: buildImportJobActivities({ azure, secrets, temporal: env.client }), dataConverter }),
    await createPrepareWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: `${taskQueue}-station`, secrets, dataConverter }),
  ];
  running = workers.map((w) => w.run());
  cliEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    USER: 'e2e-operator',
    TEMPORAL_ADDRESS: env.address,
    TASK_QUEUE: taskQueue,
    PAYLOAD_KEYS: `e2e1:${key.toString('base64')}`,
    PAYLOAD_CURRENT_KEY_ID: 'e2e1',
    SECRET_STORE: 'local',
    SECRET_STORE_DIR: path.join(dir, 'secrets'),
    AZURE_ENDPOINT: emulator.httpUrl,
    AZURE_SUBSCRIPTION_ID: SUB,
    AZURE_CREDENTIAL: 'static-token',
    AZURE_ALLOW_INSECURE_HTTP: 'true',
  };

  // A real data set and two drive folders, described by WAImportExport-style CSVs.
  const data = path.join(dir, 'data');
  fs.mkdirSync(path.join(data, 'docs', 'nested'), { recursive: true });
  fs.writeFileSync(path.join(data, 'docs', 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(data, 'docs', 'nested', 'b.bin'), crypto.randomBytes(300_000));
  fs.writeFileSync(path.join(data, 'docs', 'empty.txt'), '');
  for (const d of ['drive1', 'drive2']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'dataset.csv'), `BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile\n${data}/docs/,docs/,block,rename,None,None\n`);
  const keyOf = (): string => Array.from({ length: 8 }, () => String(crypto.randomInt(0, 65_536) * 11).padStart(6, '0')).join('-');
  fs.writeFileSync(
    path.join(dir, 'driveset.csv'),
    `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId\n${dir}/drive1,AlreadyFormatted,SilentMode,AlreadyEncrypted,${keyOf()},E2EDRIVE01\n${dir}/drive2,AlreadyFormatted,SilentMode,AlreadyEncrypted,${keyOf()},E2EDRIVE02\n`,
  );
});

after(async () => {
  for (const w of workers ?? []) w.shutdown();
  await Promise.all(running ?? []);
  await emulator?.close();
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

function importctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'importctl.cjs'), ...args], { env: cliEnv, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function statusOf(job: string): Promise<{ step: string; azureState?: string; drives: { driveId: string; manifestHash?: string }[] }> {
  const r = await importctl('status', job, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { step: string; azureState?: string; drives: { driveId: string }[] };
}

async function waitForStep(job: string, step: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(job);
    if (s.step === step) return;
    if (Date.now() > deadline) assert.fail(`job ${job} stuck at ${s.step}, wanted ${step}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('importctl drives a job from spec to Completed; bad input and refusals give clear errors and exit codes', async () => {
  const job = `e2e-${crypto.randomUUID().slice(0, 8)}`;
  const spec = {
    jobName: job,
    // This walkthrough follows the classic API's states (Creating → Completed through the emulator's advance).
    azure: { api: 'importexport' },
    subscriptionId: SUB,
    resourceGroup: 'rg-e2e',
    storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Storage/storageAccounts/e2edata`,
    region: 'westus',
    returnAddress: { recipientName: 'E2E Ops', streetAddress1: '2 Test Way', city: 'Redmond', postalCode: '98052', countryOrRegion: 'USA', phone: '+1 425 555 0100', email: 'ops@example.com' },
    returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '11223344' },
    drives: { prepare: { datasetCsv: 'dataset.csv', drivesetCsv: 'driveset.csv', stationTaskQueue: `${cliEnv.TASK_QUEUE}-station`, journalDir: path.join(dir, 'journal') } },
    timing: { trackingPollInitial: '1 second', trackingPollMax: '2 seconds' },
  };
  // An invalid spec: every problem listed, exit 2, nothing started.
  fs.writeFileSync(path.join(dir, 'bad.yaml'), `jobName: Bad_Name\nregion: westus\nreturnAddress: { city: x }\ndrives: { prepared: [] }\n`);
  const bad = await importctl('start', 'bad.yaml');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /jobName: job names use lowercase/);
  assert.match(bad.stderr, /subscriptionId/);
  assert.match(bad.stderr, /returnAddress\.recipientName/);

  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify(spec));
  const started = await importctl('start', 'job.json', '--json');
  assert.equal(started.code, 0, started.stderr);
  assert.equal(JSON.parse(started.stdout).workflowId, `import-job-${job}`);
  const again = await importctl('start', 'job.json');
  assert.equal(again.code, 3, 'a second start of the same job is refused');

  await waitForStep(job, 'awaiting-shipping');
  const waiting = await statusOf(job);
  assert.deepEqual(waiting.drives.map((d) => d.driveId).sort(), ['E2EDRIVE01', 'E2EDRIVE02']);
  for (const d of ['drive1', 'drive2']) assert.ok(fs.existsSync(path.join(dir, d, 'DriveManifest.xml')), `manifest written to ${d}`);
  // Keys live only in the encrypted secret store: never in the status output.
  assert.doesNotMatch(JSON.stringify(waiting), /\d{6}(-\d{6}){7}/);

  const human = await importctl('status', job);
  assert.match(human.stdout, /awaiting-shipping \(Azure: Creating\)/);
  assert.match(human.stdout, /ship to: West US/);

  const refused = await importctl('ship', job, '--carrier', 'DHL', '--tracking', '1234567890');
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /refused: carrierName: DHL is not accepted at this site \(accepted: FedEx\)/);
  // Every problem of a rejected shipment, each naming its field.
  const twoProblems = await importctl('ship', job, '--carrier', 'DHL', '--tracking', '1234567890', '--drives', '3', '--json');
  assert.equal(twoProblems.code, 3);
  const rejection = JSON.parse(twoProblems.stdout) as { error: { code: string; problems: { field: string }[] } };
  assert.equal(rejection.error.code, 'shipment-rejected');
  assert.deepEqual(rejection.error.problems.map((p) => p.field).sort(), ['carrierName', 'driveCount']);

  const shipped = await importctl('ship', job, '--carrier', 'FedEx', '--tracking', '987654321098', '--by', 'clerk-e2e', '--json');
  assert.equal(shipped.code, 0, shipped.stderr);
  assert.equal(JSON.parse(shipped.stdout).receipt.trackingNumber, '987654321098');

  await waitForStep(job, 'tracking');
  const listed = await importctl('list', '--tracking', '987654321098', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as { jobName: string }[]).map((r) => r.jobName), [job]);

  const cancelLate = await importctl('cancel', job);
  assert.equal(cancelLate.code, 3);
  assert.match(cancelLate.stderr, /Cannot cancel/);

  const advance = await fetch(`${emulator.httpUrl}/_emulator/jobs/${SUB}/rg-e2e/${job}/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'Completed' }) });
  assert.equal(advance.status, 200, await advance.text());
  await waitForStep(job, 'completed');
  const final = await importctl('status', job);
  assert.match(final.stdout, /completed \(Azure: Completed\)/);

  // A finished job says so: no "no import job named", no new run without --rerun.
  for (const args of [['ship', job, '--carrier', 'FedEx', '--tracking', '987654321099'], ['cancel', job]]) {
    const ended = await importctl(...args);
    assert.equal(ended.code, 3, ended.stderr);
    assert.match(ended.stderr, new RegExp(`import job ${job} has ended \\(completed`));
  }
  const rerun = await importctl('start', 'job.json');
  assert.equal(rerun.code, 3);
  assert.match(rerun.stderr, /already ran and ended \(completed.*--rerun/s);

  const locations = await importctl('locations', 'westus', '--json');
  assert.equal(locations.code, 0, locations.stderr);
  assert.equal(JSON.parse(locations.stdout)[0].isOpen, true);

  const missing = await importctl('status', 'no-such-job');
  assert.equal(missing.code, 4);
});

test('importctl runs a Data Box job (the default API) from spec to Completed, with per-disk copy results', async () => {
  const job = `db-${crypto.randomUUID().slice(0, 8)}`;
  for (const d of ['drive3', 'drive4']) fs.mkdirSync(path.join(dir, d));
  const keyOf = (): string => Array.from({ length: 8 }, () => String(crypto.randomInt(0, 65_536) * 11).padStart(6, '0')).join('-');
  fs.writeFileSync(
    path.join(dir, 'driveset-databox.csv'),
    `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId\n${dir}/drive3,AlreadyFormatted,SilentMode,AlreadyEncrypted,${keyOf()},E2EDISK03\n${dir}/drive4,AlreadyFormatted,SilentMode,AlreadyEncrypted,${keyOf()},E2EDISK04\n`,
  );
  // No `azure` field: new specs go to the Data Box API.
  const spec = [
    `jobName: ${job}`,
    `subscriptionId: "${SUB}"`,
    'resourceGroup: rg-e2e',
    `storageAccountId: /subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Storage/storageAccounts/e2edata`,
    'region: westus',
    'returnAddress: { recipientName: E2E Ops, streetAddress1: 2 Test Way, city: Redmond, postalCode: "98052", countryOrRegion: US, phone: "+1 425 555 0100", email: ops@example.com }',
    'returnShipping: { carrierName: FedEx, carrierAccountNumber: "11223344" }',
    `drives: { prepare: { datasetCsv: dataset.csv, drivesetCsv: driveset-databox.csv, stationTaskQueue: ${cliEnv.TASK_QUEUE}-station, journalDir: ${path.join(dir, 'journal-databox')} } }`,
    'timing: { trackingPollInitial: 1 second, trackingPollMax: 2 seconds }',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'databox.yaml'), `${spec}\n`);
  const dry = await importctl('start', 'databox.yaml', '--dry-run', '--json');
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  const started = await importctl('start', 'databox.yaml', '--json');
  assert.equal(started.code, 0, started.stdout + started.stderr);

  await waitForStep(job, 'awaiting-shipping');
  const human = await importctl('status', job);
  assert.match(human.stdout, /Santa Clara/, 'the datacenter address Data Box gives for the region');
  const shipped = await importctl('ship', job, '--carrier', 'UPS', '--tracking', '1Z999AA10123456784', '--json');
  assert.equal(shipped.code, 0, shipped.stdout + shipped.stderr);
  await waitForStep(job, 'tracking');

  // The datacenter copies both disks (the emulator's default for Completed: every disk Completed, 100 %).
  const advance = await fetch(`${emulator.httpUrl}/_emulator/databox/jobs/${SUB}/rg-e2e/${job}/advance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: 'Completed' }),
  });
  assert.equal(advance.status, 200, await advance.text());
  await waitForStep(job, 'completed');
  const final = await importctl('status', job, '--json');
  const status = JSON.parse(final.stdout) as { azureState?: string; drives: { driveId: string; copyStatus?: string }[] };
  assert.equal(status.azureState, 'Completed');
  assert.deepEqual(status.drives.map((d) => `${d.driveId}:${d.copyStatus}`).sort(), ['E2EDISK03:Completed', 'E2EDISK04:Completed']);
});
