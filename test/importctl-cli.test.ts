/**
 * importctl as scripts and people meet it (real processes, a real dev server and the Azure emulator, no worker):
 * a finished job's spec is not started again without --rerun, finished jobs say they have ended, --json errors are
 * JSON with the same exit codes, misspellings get "did you mean", a refused spec stores no secret, and a
 * corrected key is accepted afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { dataConverterFor } from '../security/payload-codec';
import { LocalFileSecretStore, SecretBindingError } from '../security/secret-store';
import { createDevServerEnv } from './helpers/temporal-env';

const ROOT = path.resolve(__dirname, '..');
const SUB = '00000000-aaaa-bbbb-cccc-000000000002';
const key = crypto.randomBytes(32);
const payloadKeys = { currentKeyId: 'c1', keys: { c1: key } };
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let dir: string;
let cliEnv: Record<string, string>;

const goodKey = (): string => Array.from({ length: 8 }, () => String(crypto.randomInt(0, 65_536) * 11).padStart(6, '0')).join('-');

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'importctl-cli-'));
  env = await createDevServerEnv({ searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES], dataConverter: dataConverterFor({ payloadKeys }) });
  emulator = await startEmulator({ httpPort: 0, httpsPort: null });
  cliEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    USER: 'cli-tester',
    TEMPORAL_ADDRESS: env.address,
    TASK_QUEUE: `cli-${crypto.randomUUID()}`,
    PAYLOAD_KEYS: `c1:${key.toString('base64')}`,
    PAYLOAD_CURRENT_KEY_ID: 'c1',
    SECRET_STORE: 'local',
    SECRET_STORE_DIR: path.join(dir, 'secrets'),
    AZURE_ENDPOINT: emulator.httpUrl,
    AZURE_SUBSCRIPTION_ID: SUB,
    AZURE_CREDENTIAL: 'static-token',
    AZURE_ALLOW_INSECURE_HTTP: 'true',
  };
});

after(async () => {
  await emulator?.close();
  await env?.teardown();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
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

interface JsonError {
  error: { code: string; message: string; problems: { field: string; message: string }[] };
}
const jsonError = (stdout: string): JsonError['error'] => (JSON.parse(stdout) as JsonError).error;

/** A spec with two inline prepared drives (keys in the file, as people write them). */
function writeSpec(file: string, job: string, over: Record<string, unknown> = {}, keys: string[] = [goodKey(), goodKey()]): void {
  const spec = {
    jobName: job,
    azure: { api: 'importexport' },
    subscriptionId: SUB,
    resourceGroup: 'rg-cli',
    storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-cli/providers/Microsoft.Storage/storageAccounts/clidata`,
    region: 'westus',
    returnAddress: { recipientName: 'CLI Ops', streetAddress1: '3 Test Way', city: 'Redmond', postalCode: '98052', countryOrRegion: 'US', phone: '+1 425 555 0100', email: 'ops@example.com' },
    returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '11223344' },
    drives: {
      prepared: keys.map((k, i) => ({ driveId: `CLI${i}${job.length}`, drivePath: `/mnt/cli${i}`, bitLockerKey: k, manifestFile: '\\DriveManifest.xml', manifestHash: 'B'.repeat(32), fileCount: 1, byteCount: 10 })),
    },
    ...over,
  };
  fs.writeFileSync(path.join(dir, file), JSON.stringify(spec));
}

const secretFiles = (): string[] => (fs.existsSync(path.join(dir, 'secrets')) ? fs.readdirSync(path.join(dir, 'secrets')).sort() : []);

test('a refused spec and a dry run store nothing; the corrected spec is then accepted and its keys are bound to the job', async () => {
  const job = `cli-keys-${crypto.randomBytes(3).toString('hex')}`;
  const [k1, k2] = [goodKey(), goodKey()];
  writeSpec('keys.json', job, { region: 'nowhere' }, [k1, k2]);
  const refused = await importctl('start', 'keys.json');
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /region: Azure has no shipping location named "nowhere"/);
  assert.deepEqual(secretFiles(), [], 'a refused spec stores no secret');

  writeSpec('keys.json', job, {}, [k1, k2]);
  const dry = await importctl('start', 'keys.json', '--dry-run', '--json');
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.ok((JSON.parse(dry.stdout) as { checked: string[] }).checked.includes('Azure region and return carrier'));
  assert.deepEqual(secretFiles(), [], 'a dry run stores no secret');

  const corrected = goodKey();
  writeSpec('keys.json', job, {}, [corrected, k2]);
  const started = await importctl('start', 'keys.json', '--json');
  assert.equal(started.code, 0, started.stdout + started.stderr);
  assert.equal(secretFiles().length, 2);
  const store = new LocalFileSecretStore({ dir: path.join(dir, 'secrets'), keyRing: payloadKeys });
  const name = secretFiles()[0]!.replace(/\.secret\.json$/, '');
  const ref = { kind: 'secret-ref' as const, store: 'local' as const, name };
  assert.match(await store.get(ref, { jobName: job }), /^\d{6}(-\d{6}){7}$/);
  await assert.rejects(store.get(ref, { jobName: 'another-job' }), SecretBindingError);
  await env.client.workflow.getHandle(`import-job-${job}`).terminate('test cleanup');
});

test('a finished job: start refused without --rerun, ship/cancel/recreate say it ended, a rerun is marked and listed with its history', async () => {
  const job = `cli-rerun-${crypto.randomBytes(3).toString('hex')}`;
  writeSpec('rerun.json', job);
  const first = await importctl('start', 'rerun.json', '--json');
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const firstRun = (JSON.parse(first.stdout) as { runId: string }).runId;

  const running = await importctl('start', 'rerun.json', '--json');
  assert.equal(running.code, 3);
  assert.equal(jsonError(running.stdout).code, 'job-running');

  await env.client.workflow.getHandle(`import-job-${job}`).terminate('finished for the test');
  const again = await importctl('start', 'rerun.json');
  assert.equal(again.code, 3);
  assert.match(again.stderr, /already ran and ended \(terminated/);
  assert.match(again.stderr, /--rerun/);
  const againJson = await importctl('start', 'rerun.json', '--json');
  assert.equal(againJson.code, 3);
  assert.equal(jsonError(againJson.stdout).code, 'job-finished');

  for (const args of [
    ['ship', job, '--carrier', 'FedEx', '--tracking', '123456789012'],
    ['cancel', job],
    ['recreate', job],
  ]) {
    const r = await importctl(...args);
    assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`import job ${job} has ended \\(terminated`), args[0]);
    assert.doesNotMatch(r.stderr, /no import job named/);
    const j = await importctl(...args, '--json');
    assert.equal(j.code, 3);
    assert.equal(jsonError(j.stdout).code, 'job-ended');
  }

  const rerun = await importctl('start', 'rerun.json', '--rerun', '--json');
  assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  assert.equal((JSON.parse(rerun.stdout) as { rerunOf: string }).rerunOf, firstRun);

  let rows: { jobName: string; runId: string; rerun: boolean; executionStatus: string }[] = [];
  for (let i = 0; i < 40 && rows.length < 2; i++) {
    const listed = await importctl('list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    rows = (JSON.parse(listed.stdout) as typeof rows).filter((r) => r.jobName === job);
    if (rows.length < 2) await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(rows.length, 2, 'both runs are listed');
  assert.deepEqual(rows.map((r) => r.rerun).sort(), [false, true]);
  assert.equal(rows.find((r) => !r.rerun)?.runId, firstRun);
  const human = await importctl('list');
  assert.match(human.stdout, /\(rerun\)/);

  const status = await importctl('status', job, '--json');
  assert.equal(status.code, 0, status.stderr);
  const view = JSON.parse(status.stdout) as { runs: { runId: string; outcome: string; rerun: boolean }[]; execution: { rerun: boolean } };
  assert.equal(view.execution.rerun, true);
  assert.deepEqual(view.runs.map((r) => r.outcome), ['running', 'terminated']);
  await env.client.workflow.getHandle(`import-job-${job}`).terminate('test cleanup');
});

test('errors scripts can trust: JSON on stdout with the exit code, valid values listed, did-you-mean, no raw 404 or ENOENT', async () => {
  const missing = await importctl('status', 'no-such-job', '--json');
  assert.equal(missing.code, 4);
  assert.equal(jsonError(missing.stdout).code, 'job-not-found');
  assert.equal(missing.stderr, '');

  const state = await importctl('list', '--state', 'Bogus');
  assert.equal(state.code, 2);
  assert.match(state.stderr, /unknown Azure state "Bogus"; valid values: Creating, Shipping/);
  const stateJson = await importctl('list', '--state', 'Bogus', '--json');
  assert.equal(stateJson.code, 2);
  assert.equal(jsonError(stateJson.stdout).problems[0]?.field, 'state');
  const step = await importctl('list', '--step', 'shiping');
  assert.equal(step.code, 2);
  assert.match(step.stderr, /valid values: preparing, locating/);

  const option = await importctl('list', '--jsn');
  assert.equal(option.code, 2);
  assert.match(option.stderr, /Did you mean --json\?/);
  const command = await importctl('stauts', 'x');
  assert.equal(command.code, 2);
  assert.match(command.stderr, /Did you mean status\?/);
  const optionJson = await importctl('start', 'x.yaml', '--dryrun', '--json');
  assert.equal(optionJson.code, 2);
  assert.match(jsonError(optionJson.stdout).message, /--dryrun[\s\S]*Did you mean --dry-run\?/);

  const nowhere = await importctl('locations', 'nowhere');
  assert.equal(nowhere.code, 4, nowhere.stderr);
  assert.match(nowhere.stderr, /Azure has no shipping location named "nowhere"/);
  assert.doesNotMatch(nowhere.stderr, /404|HTTP/);
  const nowhereJson = await importctl('locations', 'nowhere', '--json');
  assert.equal(jsonError(nowhereJson.stdout).code, 'location-not-found');

  const noFile = await importctl('start', 'missing.yaml');
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /missing\.yaml: no such file/);
  assert.doesNotMatch(noFile.stderr, /ENOENT/);
  const noFileJson = await importctl('start', 'missing.yaml', '--json');
  assert.equal(noFileJson.code, 2);
  assert.deepEqual(jsonError(noFileJson.stdout).problems, [{ field: '(file)', message: 'missing.yaml: no such file' }]);

  const typo = path.join(dir, 'typo.json');
  writeSpec('typo.json', 'cli-typo-job', { regoin: 'westus' });
  const typoRun = await importctl('start', typo, '--dry-run');
  assert.equal(typoRun.code, 2);
  assert.match(typoRun.stderr, /regoin: unknown field \(did you mean "region"\?\)/);
});
