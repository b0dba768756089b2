/**
 * Generated malformed job specs through real importctl processes, both `start --dry-run` and `start --json`, against
 * a real Temporal dev server: each is refused with exit 2 and a message naming the field, no workflow starts, and
 * nothing is written (the secret store, the journal, the drives and every other file stay exactly as they were).
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
import { createDevServerEnv } from './helpers/temporal-env';

const ROOT = path.resolve(__dirname, '..');
const SUB = '00000000-aaaa-bbbb-cccc-000000000001';
const CONCURRENCY = 4;

let env: TestWorkflowEnvironment;
let dir: string;
let cliEnv: Record<string, string>;

/** A recovery password whose groups are multiples of 11 below 720896, as real ones are. */
const goodKey = (): string => Array.from({ length: 8 }, () => String(crypto.randomInt(0, 65_536) * 11).padStart(6, '0')).join('-');

type Json = Record<string, unknown>;
interface Case {
  name: string;
  /** Text of job.yaml (JSON is YAML); `undefined` = no spec file at all. */
  spec?: string;
  files?: Record<string, string>;
  /** The field the message must name (a regex over importctl's output). */
  field: RegExp;
  /** Path of the spec argument, relative to the case folder. */
  specArg?: string;
}

function baseSpec(job: string, d: string): Json {
  return {
    jobName: job,
    subscriptionId: SUB,
    resourceGroup: 'rg-e2e',
    storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Storage/storageAccounts/e2edata`,
    region: 'westus',
    returnAddress: { recipientName: 'E2E Ops', streetAddress1: '2 Test Way', city: 'Redmond', postalCode: '98052', countryOrRegion: 'US', phone: '+1 425 555 0100', email: 'ops@example.com' },
    returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '11223344' },
    drives: { prepare: { datasetCsv: 'dataset.csv', drivesetCsv: 'driveset.csv', journalDir: path.join(d, 'journal') } },
  };
}

const DATASET_HEADER = 'BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile';
const DRIVESET_HEADER = 'DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId';

function csvFiles(d: string, over: { dataset?: string; driveset?: string } = {}): Record<string, string> {
  return {
    'dataset.csv': over.dataset ?? `${DATASET_HEADER}\n${d}/data/docs/,docs/,block,rename,None,None\n`,
    'driveset.csv': over.driveset ?? `${DRIVESET_HEADER}\n${d}/drive1,AlreadyFormatted,SilentMode,AlreadyEncrypted,${goodKey()},DRIVE01\n${d}/drive2,AlreadyFormatted,SilentMode,AlreadyEncrypted,${goodKey()},DRIVE02\n`,
  };
}

const set = (obj: Json, dotted: string, value: unknown): Json => {
  const copy = structuredClone(obj);
  const keys = dotted.split('.');
  let at: Json = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Json;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
};
const rename = (obj: Json, dotted: string, to: string): Json => {
  const keys = dotted.split('.');
  const parentPath = keys.slice(0, -1).join('.');
  const copy = structuredClone(obj);
  const parent = (parentPath ? parentPath.split('.').reduce<Json>((o, k) => o[k] as Json, copy) : copy) as Json;
  parent[to] = parent[keys[keys.length - 1]!];
  delete parent[keys[keys.length - 1]!];
  return copy;
};
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every malformed spec, named by what is wrong with it. */
function generateCases(d: string): Case[] {
  const cases: Case[] = [];
  let n = 0;
  const job = (): string => `bad-${++n}-${crypto.randomBytes(3).toString('hex')}`;
  const add = (name: string, mutate: (s: Json) => Json, field: string | RegExp, files?: Record<string, string>): void => {
    cases.push({ name, spec: JSON.stringify(mutate(baseSpec(job(), d))), files: files ?? csvFiles(d), field: typeof field === 'string' ? new RegExp(esc(field)) : field });
  };

  // Missing required fields.
  for (const f of ['jobName', 'subscriptionId', 'resourceGroup', 'storageAccountId', 'region', 'returnAddress', 'returnShipping', 'drives']) add(`missing ${f}`, (s) => set(s, f, undefined), f);
  for (const f of ['recipientName', 'streetAddress1', 'city', 'postalCode', 'countryOrRegion', 'phone', 'email']) add(`missing returnAddress.${f}`, (s) => set(s, `returnAddress.${f}`, undefined), `returnAddress.${f}`);
  for (const f of ['carrierName', 'carrierAccountNumber']) add(`missing returnShipping.${f}`, (s) => set(s, `returnShipping.${f}`, undefined), `returnShipping.${f}`);

  // Wrong types.
  const wrongTypes: [string, unknown][] = [
    ['a number', 42],
    ['a list', ['an', 'array']],
    ['a mapping', { an: 'object' }],
    ['a boolean', true],
  ];
  for (const f of ['jobName', 'subscriptionId', 'resourceGroup', 'storageAccountId', 'region']) {
    for (const [label, v] of wrongTypes) add(`${f} as ${label}`, (s) => set(s, f, v), f);
  }
  for (const f of ['returnAddress', 'returnShipping', 'drives', 'timing', 'tags', 'notification']) add(`${f} as a string`, (s) => set(s, f, 'text'), f);
  add('backupDriveManifest as "yes"', (s) => set(s, 'backupDriveManifest', 'yes'), 'backupDriveManifest');
  add('logLevel Debug', (s) => set(s, 'logLevel', 'Debug'), 'logLevel');
  add('azure.api unknown', (s) => set(s, 'azure', { api: 'snowball' }), 'azure.api');

  // Malformed ids.
  for (const v of ['Bad_Name', 'UPPER', 'ab', '9starts-with-digit', 'ends-with-', 'double--dash', 'x'.repeat(65), 'has space', 'ünïcode']) add(`jobName "${v.slice(0, 20)}"`, (s) => set(s, 'jobName', v), 'jobName');
  for (const v of ['-'.repeat(36), '1234', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', `{${SUB}}`, `${SUB}0`]) add(`subscriptionId "${v.slice(0, 12)}"`, (s) => set(s, 'subscriptionId', v), 'subscriptionId');
  for (const v of ['rg.', 'r'.repeat(91), 'rg/slash', 'rg space', '']) add(`resourceGroup "${v.slice(0, 12)}"`, (s) => set(s, 'resourceGroup', v), 'resourceGroup');
  for (const v of [
    `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Storage/storageAccounts/E2EDATA`,
    `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Storage/storageAccounts/ab`,
    `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Compute/storageAccounts/e2edata`,
    `/subscriptions/${SUB}/storageAccounts/e2edata`,
    'e2edata',
    `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.Storage/storageAccounts/${'a'.repeat(25)}`,
  ]) add(`storageAccountId "${v.slice(-20)}"`, (s) => set(s, 'storageAccountId', v), 'storageAccountId');

  // Oversize, control and bidirectional characters.
  add('region of 100k characters', (s) => set(s, 'region', 'w'.repeat(100_000)), 'region');
  add('empty region', (s) => set(s, 'region', ''), 'region');
  add('region with a newline', (s) => set(s, 'region', 'west\nus'), 'region');
  for (const f of ['recipientName', 'streetAddress1', 'city', 'postalCode', 'countryOrRegion']) {
    add(`returnAddress.${f} with a BEL`, (s) => set(s, `returnAddress.${f}`, 'a\u0007b'), `returnAddress.${f}`);
    add(`returnAddress.${f} with a bidi override`, (s) => set(s, `returnAddress.${f}`, 'ab\u202ecd'), `returnAddress.${f}`);
    add(`returnAddress.${f} of 100k characters`, (s) => set(s, `returnAddress.${f}`, 'x'.repeat(100_000)), `returnAddress.${f}`);
  }
  add('returnAddress.streetAddress2 with NUL', (s) => set(s, 'returnAddress.streetAddress2', 'a\u0000b'), 'returnAddress.streetAddress2');
  add('returnAddress.email not an email', (s) => set(s, 'returnAddress.email', 'ops-at-example'), 'returnAddress.email');
  add('returnAddress.phone letters', (s) => set(s, 'returnAddress.phone', 'call me'), 'returnAddress.phone');
  add('returnShipping.carrierName with an isolate', (s) => set(s, 'returnShipping.carrierName', 'Fed\u2066Ex'), 'returnShipping.carrierName');
  add('returnShipping.carrierAccountNumber with spaces', (s) => set(s, 'returnShipping.carrierAccountNumber', 'acc 123 <x>'), 'returnShipping.carrierAccountNumber');
  add('10,000 tags', (s) => set(s, 'tags', Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`t${i}`, 'v']))), 'tags');
  add('a megabyte tag value', (s) => set(s, 'tags', { big: 'v'.repeat(300_000) }), 'tags.big');
  add('tag name with <', (s) => set(s, 'tags', { 'a<b': 'v' }), 'tags');
  add('tag value with a bidi override', (s) => set(s, 'tags', { team: 'ab\u202ecd' }), 'tags.team');

  // Durations and timing.
  const timing: [string, Json, string][] = [
    ['shipping window 99999999999999999999 days', { shippingWindow: '99999999999999999999 days' }, 'timing.shippingWindow'],
    ['shipping window 0 s', { shippingWindow: '0 s' }, 'timing.shippingWindow'],
    ['shipping window negative', { shippingWindow: -5 }, 'timing.shippingWindow'],
    ['shipping window 30 days', { shippingWindow: '30 days' }, 'timing.shippingWindow'],
    ['shipping window "soon"', { shippingWindow: 'soon' }, 'timing.shippingWindow'],
    ['shipping window Infinity-like', { shippingWindow: 1e308 }, 'timing.shippingWindow'],
    ['reminder after the window', { reminders: ['3 days', '20 days'] }, 'timing.reminders'],
    ['repeated reminders', { reminders: ['3 days', '3 days'] }, 'timing.reminders'],
    ['25 reminders', { reminders: Array.from({ length: 25 }, (_, i) => `${i + 1} h`) }, 'timing.reminders'],
    ['poll initial above max', { trackingPollInitial: '2 days', trackingPollMax: '1 day' }, 'timing.trackingPollInitial'],
    ['1 ms heartbeats', { prepareHeartbeatTimeout: '1 ms' }, 'timing.prepareHeartbeatTimeout'],
    ['closed-site retry of 1 ms', { closedSiteRetryInterval: 1 }, 'timing.closedSiteRetryInterval'],
    ['duration of 41 characters', { notReceivedAlertAfter: `${'1'.repeat(35)} days` }, 'timing.notReceivedAlertAfter'],
  ];
  for (const [name, t, field] of timing) add(name, (s) => set(s, 'timing', t), field);

  // Notifications and diagnostics.
  add('notification file with an absolute path', (s) => set(s, 'notification', { kind: 'file', path: '/etc/cron.d/x' }), 'notification.path');
  add('notification file with ..', (s) => set(s, 'notification', { kind: 'file', path: '../../x.log' }), 'notification.path');
  add('webhook to file:', (s) => set(s, 'notification', { kind: 'webhook', url: 'file:///etc/passwd' }), 'notification.url');
  add('webhook to javascript:', (s) => set(s, 'notification', { kind: 'webhook', url: 'javascript:alert(1)' }), 'notification.url');
  add('notification kind email', (s) => set(s, 'notification', { kind: 'email', to: 'x@example.com' }), 'notification');
  for (const v of ['UPPER', 'a', 'x'.repeat(70), 'has space']) add(`diagnosticsPath "${v.slice(0, 10)}"`, (s) => set(s, 'diagnosticsPath', v), 'diagnosticsPath');

  // Unknown fields get "did you mean".
  // [field as the base spec has it, the misspelling written instead]
  const typos: [string, string][] = [
    ['region', 'regon'],
    ['jobName', 'jobname'],
    ['returnAddress', 'returnAdress'],
    ['returnAddress.city', 'cty'],
    ['returnShipping.carrierName', 'carrier'],
    ['drives.prepare.datasetCsv', 'datasetCSV'],
    ['drives.prepare.journalDir', 'journalDirectory'],
  ];
  for (const [from, wrong] of typos) {
    const right = from.split('.').pop()!;
    add(`typo ${wrong} for ${right}`, (s) => rename(s, from, wrong), new RegExp(`${esc(wrong)}[^\n]*did you mean "${esc(right)}"`));
  }
  add('typo shippingWindo', (s) => set(s, 'timing', { shippingWindo: '7 days' }), /shippingWindo[^\n]*did you mean "shippingWindow"/);
  add('unknown top-level field', (s) => ({ ...s, colour: 'blue' }), /colour/);

  // Keys that would reach the prototype.
  const withProto = (s: Json, at: string): string => {
    const text = JSON.stringify(s);
    return at === '' ? text.replace(/^\{/, '{"__proto__":{"polluted":true},') : text.replace(`"${at}":{`, `"${at}":{"__proto__":{"polluted":true},`);
  };
  cases.push({ name: '__proto__ at the top', spec: withProto(baseSpec(job(), d), ''), files: csvFiles(d), field: /__proto__/ });
  cases.push({ name: '__proto__ in returnAddress', spec: withProto(baseSpec(job(), d), 'returnAddress'), files: csvFiles(d), field: /returnAddress\.__proto__/ });
  cases.push({ name: '__proto__ in tags', spec: withProto(set(baseSpec(job(), d), 'tags', { team: 'a' }), 'tags'), files: csvFiles(d), field: /tags\.__proto__/ });
  add('constructor key', (s) => ({ ...s, constructor: { prototype: {} } }), /constructor/);

  // Drives: CSV content.
  const drive = (p: string, key: string, id: string): string => `${p},AlreadyFormatted,SilentMode,AlreadyEncrypted,${key},${id}`;
  const drivesCsv = (...rows: string[]): string => `${DRIVESET_HEADER}\n${rows.join('\n')}\n`;
  const csvCase = (name: string, over: { dataset?: string; driveset?: string }, field: RegExp | string): void =>
    add(name, (s) => s, field, csvFiles(d, over));
  csvCase('same drive path twice', { driveset: drivesCsv(drive(`${d}/drive1`, goodKey(), 'A1'), drive(`${d}/drive1`, goodKey(), 'A2')) }, 'drivesetCsv');
  csvCase('same drive id twice', { driveset: drivesCsv(drive(`${d}/drive1`, goodKey(), 'SAME'), drive(`${d}/drive2`, goodKey(), 'SAME')) }, /drives?\.1\.driveId|driveId|listed twice/);
  csvCase('eleven drives', { driveset: drivesCsv(...Array.from({ length: 11 }, (_, i) => drive(`${d}/many${i}`, goodKey(), `M${i}`))) }, /drivesetCsv|drives/);
  csvCase('key of 7 groups', { driveset: drivesCsv(drive(`${d}/drive1`, goodKey().split('-').slice(0, 7).join('-'), 'K1')) }, 'ExistingBitLockerKey');
  csvCase('key group not a multiple of 11', { driveset: drivesCsv(drive(`${d}/drive1`, '000001-000011-000022-000033-000044-000055-000066-000077', 'K1')) }, /ExistingBitLockerKey|drives\.0\.bitLocker|BitLocker/);
  csvCase('key group above 720896', { driveset: drivesCsv(drive(`${d}/drive1`, '720907-000011-000022-000033-000044-000055-000066-000077', 'K1')) }, /ExistingBitLockerKey|BitLocker/);
  csvCase('key missing', { driveset: drivesCsv(drive(`${d}/drive1`, '', 'K1')) }, 'ExistingBitLockerKey');
  csvCase('key with a stray quote', { driveset: drivesCsv(drive(`${d}/drive1`, `${goodKey()}"`, 'K1')) }, 'drivesetCsv');
  csvCase('driveset without a header', { driveset: `${drive(`${d}/drive1`, goodKey(), 'K1')}\n` }, 'drivesetCsv');
  csvCase('driveset with only a header', { driveset: `${DRIVESET_HEADER}\n` }, 'drivesetCsv');
  csvCase('driveset with an unknown column', { driveset: `${DRIVESET_HEADER},Colour\n${drive(`${d}/drive1`, goodKey(), 'K1')},blue\n` }, 'drivesetCsv');
  csvCase('relative drive path', { driveset: drivesCsv(drive('drive1', goodKey(), 'K1')) }, 'drivesetCsv');
  csvCase('drive inside the source folder', { driveset: drivesCsv(drive(`${d}/data/docs/inner`, goodKey(), 'K1')) }, /drives\.0\.path|inside|drivesetCsv/);
  csvCase('drive id with spaces inside', { driveset: drivesCsv(drive(`${d}/drive1`, goodKey(), 'has"quote')) }, /DriveId|driveId|drivesetCsv/);
  csvCase('relative BasePath', { dataset: `${DATASET_HEADER}\ndata/docs/,docs/,block,rename,None,None\n` }, 'datasetCsv');
  csvCase('.. in the blob prefix', { dataset: `${DATASET_HEADER}\n${d}/data/docs/,docs/../x/,block,rename,None,None\n` }, /datasetCsv|dstBlobPathOrPrefix/);
  csvCase('upper-case container', { dataset: `${DATASET_HEADER}\n${d}/data/docs/,Docs/,block,rename,None,None\n` }, 'datasetCsv');
  csvCase('$root with a folder', { dataset: `${DATASET_HEADER}\n${d}/data/docs/,$root/a/b/,block,rename,None,None\n` }, 'datasetCsv');
  csvCase('blob type "append"', { dataset: `${DATASET_HEADER}\n${d}/data/docs/,docs/,append,rename,None,None\n` }, 'datasetCsv');
  csvCase('dataset without rows', { dataset: `${DATASET_HEADER}\n` }, 'datasetCsv');
  csvCase('dataset row with too few fields', { dataset: `${DATASET_HEADER}\n${d}/data/docs/,docs/\n` }, 'datasetCsv');
  add('journal on a drive', (s) => set(s, 'drives.prepare.journalDir', `${d}/drive1/journal`), /journalDir|journal/);
  add('relative journal directory', (s) => set(s, 'drives.prepare.journalDir', 'journal'), 'journalDir');
  add('datasetCsv not a .csv', (s) => set(s, 'drives.prepare.datasetCsv', '../../../../etc/passwd'), 'datasetCsv');
  add('only datasetCsv', (s) => set(s, 'drives.prepare.drivesetCsv', undefined), 'drives');
  add('missing dataset CSV file', (s) => set(s, 'drives.prepare.datasetCsv', 'no-such.csv'), /datasetCsv[^\n]*no such file/);
  add('missing driveset CSV file', (s) => set(s, 'drives.prepare.drivesetCsv', 'gone.csv'), /drivesetCsv[^\n]*no such file/);
  add('driveset CSV is a folder', (s) => set(s, 'drives.prepare.drivesetCsv', 'folder.csv'), /drivesetCsv[^\n]*folder/, { ...csvFiles(d), 'folder.csv/x': 'x' });
  add('station task queue with spaces', (s) => set(s, 'drives.prepare.stationTaskQueue', 'a queue'), 'stationTaskQueue');
  add('mode "fast"', (s) => set(s, 'drives.prepare.mode', 'fast'), 'drives.prepare.mode');
  add('prepare and prepared together', (s) => set(s, 'drives.prepared', []), 'drives');
  add('empty drives object', (s) => set(s, 'drives', {}), 'drives');

  // Inline drives.
  const inlinePrepare = (drives: Json[]): ((s: Json) => Json) => (s) => set(s, 'drives', { prepare: { dataset: [{ basePath: `${d}/data/docs/`, dstBlobPathOrPrefix: 'docs/' }], drives, journalDir: path.join(d, 'journal') } });
  add('inline drive with a bad key', inlinePrepare([{ path: `${d}/drive1`, existingBitLockerKey: '123' }]), 'drives.prepare.drives.0.existingBitLockerKey');
  add('inline drive with a relative path', inlinePrepare([{ path: 'drive1', existingBitLockerKey: goodKey() }]), 'drives.prepare.drives.0.path');
  add('inline drives sharing a path', inlinePrepare([{ path: `${d}/drive1`, existingBitLockerKey: goodKey() }, { path: `${d}/drive1`, existingBitLockerKey: goodKey() }]), /drives\.1\.path/);
  add('inline drive with a secret reference', inlinePrepare([{ path: `${d}/drive1`, bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name: 'bitlocker-other-job-D1' } }]), /bitLockerKeyRef|existingBitLockerKey/);
  add('inline drive capacity -1', inlinePrepare([{ path: `${d}/drive1`, existingBitLockerKey: goodKey(), capacityBytes: -1 }]), 'capacityBytes');
  const prepared = (over: Json, count = 1): ((s: Json) => Json) => (s) =>
    set(s, 'drives', {
      prepared: Array.from({ length: count }, (_, i) => ({ driveId: `P${i}`, drivePath: `${d}/drive1`, bitLockerKey: goodKey(), manifestFile: '\\DriveManifest.xml', manifestHash: 'A'.repeat(32), fileCount: 1, byteCount: 10, ...over })),
    });
  add('prepared drive with a bad key', prepared({ bitLockerKey: '111111-111111' }), 'drives.prepared.0.bitLockerKey');
  add('prepared drive with a lower-case hash', prepared({ manifestHash: 'a'.repeat(32) }), 'drives.prepared.0.manifestHash');
  add('prepared drive with a negative file count', prepared({ fileCount: -1 }), 'drives.prepared.0.fileCount');
  add('prepared drives sharing an id', prepared({ driveId: 'SAME' }, 2), /drives\.prepared\.1\.driveId|listed twice/);
  add('eleven prepared drives', (s) => prepared({}, 11)(s), 'drives.prepared');
  add("another job's secret reference", prepared({ bitLockerKey: undefined, bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name: 'bitlocker-other-job-P0' } }), /bitLockerKeyRef/);
  add('prepared drive id with a slash', prepared({ driveId: 'A/B' }), 'drives.prepared.0.driveId');

  // The file itself.
  cases.push({ name: 'no spec file', field: /job\.yaml[^\n]*no such file/ });
  cases.push({ name: 'spec is a folder', files: { 'job.yaml/inner': 'x' }, field: /folder/ });
  cases.push({ name: 'empty spec file', spec: '', files: {}, field: /\(root\)|mapping/ });
  cases.push({ name: 'YAML syntax error', spec: 'jobName: [unclosed\n', files: {}, field: /YAML/ });
  cases.push({ name: 'top-level list', spec: '- a\n- b\n', files: {}, field: /mapping/ });
  cases.push({ name: 'top-level scalar', spec: 'just text\n', files: {}, field: /mapping/ });
  cases.push({ name: 'two megabytes', spec: `${JSON.stringify(baseSpec(job(), d)).slice(0, -1)},"pad":"${'p'.repeat(2 * 1024 * 1024)}"}`, files: csvFiles(d), field: /bytes/ });
  cases.push({ name: 'billion laughs', spec: `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`, files: {}, field: /YAML|alias|\(file\)/ });
  cases.push({ name: 'duplicate keys', spec: `jobName: a-job\njobName: b-job\n`, files: {}, field: /YAML|unique|duplicate/i });
  return cases;
}

function importctl(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'importctl.cjs'), ...args], { env: cliEnv, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Every file and folder under `root` with size and modification time: any write shows up as a difference. */
function tree(root: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const full = path.join(p, e.name);
      if (full === skip) continue;
      const st = fs.lstatSync(full);
      out.push(`${path.relative(root, full)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out.sort();
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-malformed-'));
  env = await createDevServerEnv({ searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES] });
  fs.mkdirSync(path.join(dir, 'data', 'docs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'docs', 'a.txt'), 'alpha\n');
  for (const d of ['drive1', 'drive2', 'secrets', 'journal']) fs.mkdirSync(path.join(dir, d));
  cliEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    USER: 'spec-tester',
    TEMPORAL_ADDRESS: env.address,
    TASK_QUEUE: `malformed-${crypto.randomUUID()}`,
    PAYLOAD_KEYS: `m1:${crypto.randomBytes(32).toString('base64')}`,
    PAYLOAD_CURRENT_KEY_ID: 'm1',
    SECRET_STORE: 'local',
    SECRET_STORE_DIR: path.join(dir, 'secrets'),
    // No Azure here: the checks under test are the ones that need none.
    LOCAL_AZURE_FILE: path.join(dir, 'no-local-azure.json'),
  };
});

after(async () => {
  await env?.teardown();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the well-formed base spec passes a dry run (so every refusal below is the mutation’s doing)', async () => {
  const caseDir = path.join(dir, 'base');
  fs.mkdirSync(caseDir);
  for (const [f, text] of Object.entries(csvFiles(dir))) fs.writeFileSync(path.join(caseDir, f), text);
  fs.writeFileSync(path.join(caseDir, 'job.yaml'), JSON.stringify(baseSpec('base-job', dir)));
  const r = await importctl(caseDir, ['start', 'job.yaml', '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(JSON.parse(r.stdout).dryRun, true);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'secrets')), [], 'a dry run stores no secret');
});

test('generated malformed specs: exit 2 naming the field, through --dry-run and start; no workflow, nothing written', async (t) => {
  const cases = generateCases(dir);
  assert.ok(cases.length >= 150, `only ${cases.length} cases`);
  const casesRoot = path.join(dir, 'cases');
  cases.forEach((c, i) => {
    const caseDir = path.join(casesRoot, String(i));
    fs.mkdirSync(caseDir, { recursive: true });
    for (const [f, text] of Object.entries(c.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(caseDir, f)), { recursive: true });
      fs.writeFileSync(path.join(caseDir, f), text);
    }
    if (c.spec !== undefined) fs.writeFileSync(path.join(caseDir, 'job.yaml'), c.spec);
  });
  const untouched = tree(dir, path.join(dir, 'base'));
  const failures: string[] = [];
  let processes = 0;
  await pool(cases.map((c, i) => ({ c, i })), CONCURRENCY, async ({ c, i }) => {
    const caseDir = path.join(casesRoot, String(i));
    const dry = await importctl(caseDir, ['start', c.specArg ?? 'job.yaml', '--dry-run']);
    const real = await importctl(caseDir, ['start', c.specArg ?? 'job.yaml', '--json']);
    processes += 2;
    const problems: string[] = [];
    if (dry.code !== 2) problems.push(`--dry-run exited ${dry.code}`);
    else if (!c.field.test(dry.stderr)) problems.push(`--dry-run message does not name ${c.field}: ${dry.stderr.slice(0, 300)}`);
    if (real.code !== 2) problems.push(`start exited ${real.code}`);
    else {
      const body = JSON.parse(real.stdout) as { error?: { code: string; problems: { field: string; message: string }[] } };
      if (body.error?.code !== 'invalid-input') problems.push(`start --json: ${real.stdout.slice(0, 200)}`);
      else if (!c.field.test(body.error.problems.map((p) => `${p.field}: ${p.message}`).join('\n'))) problems.push(`start --json problems do not name ${c.field}: ${real.stdout.slice(0, 300)}`);
    }
    for (const out of [dry.stdout, dry.stderr, real.stdout, real.stderr]) if (/\d{6}(-\d{6}){7}/.test(out)) problems.push('a BitLocker key in the output');
    if (problems.length > 0) failures.push(`${c.name}: ${problems.join('; ')}`);
  });
  t.diagnostic(`${cases.length} malformed specs, ${processes} importctl processes, ${failures.length} not refused as expected`);
  assert.deepEqual(tree(dir, path.join(dir, 'base')), untouched, 'something was written');
  const started: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${cliEnv.TASK_QUEUE}'` })) started.push(wf.workflowId);
  assert.deepEqual(started, [], 'no workflow starts from a refused spec');
  assert.deepEqual(failures, []);
});
