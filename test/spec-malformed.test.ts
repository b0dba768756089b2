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
import { baseSpec, csvFiles, generateCases, type Case } from './fixtures/specs/malformed';
import { createDevServerEnv } from './helpers/temporal-env';

const ROOT = path.resolve(__dirname, '..');
const CONCURRENCY = 4;

let env: TestWorkflowEnvironment;
let dir: string;
let cliEnv: Record<string, string>;

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

/**
 * Specs the schema still accepts (or crashes on): reported to the schema's owners. They run last and only as dry
 * runs, since a start would really start them; the todo flips to a pass once they are refused.
 */
const KNOWN_GAPS = new Map<string, string>([
  ['shipping window "soon"', 'timing refinements run on an unparsed duration and throw ("not a duration"), exit 1'],
  ['key group not a multiple of 11', 'driveset CSV keys are checked for shape only, not with BitLockerKeySchema'],
  ['key group above 720896', 'driveset CSV keys are checked for shape only, not with BitLockerKeySchema'],
  ["another job's secret reference", 'refused, but the message says "drives.prepared: unknown field" instead of naming bitLockerKeyRef'],
]);
/** Cases per test: each test stays well inside the runner's per-test ceiling on a loaded machine. */
const CHUNK = 24;

const cases = generateCases(dirForCases());
const refusable = cases.filter((c) => !KNOWN_GAPS.has(c.name));
let untouched: string[];
let processes = 0;

function dirForCases(): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-malformed-'));
  return dir;
}

/** Writes every case's files up front, so that the tree compared afterwards is complete before any run. */
function writeCases(): void {
  cases.forEach((c, i) => {
    const caseDir = path.join(dir, 'cases', String(i));
    fs.mkdirSync(caseDir, { recursive: true });
    for (const [f, text] of Object.entries(c.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(caseDir, f)), { recursive: true });
      fs.writeFileSync(path.join(caseDir, f), text);
    }
    if (c.spec !== undefined) fs.writeFileSync(path.join(caseDir, 'job.yaml'), c.spec);
  });
  untouched = tree(dir, path.join(dir, 'base'));
}

/** Both entry points for one case; returns what was wrong (empty when refused as expected). */
async function refusal(c: Case, dryOnly = false): Promise<string[]> {
  const caseDir = path.join(dir, 'cases', String(cases.indexOf(c)));
  const problems: string[] = [];
  const dry = await importctl(caseDir, ['start', 'job.yaml', '--dry-run']);
  processes++;
  if (dry.code !== 2) problems.push(`--dry-run exited ${dry.code}: ${(dry.stderr || dry.stdout).slice(0, 300)}`);
  else if (!c.field.test(dry.stderr)) problems.push(`--dry-run message does not name ${c.field}: ${dry.stderr.slice(0, 300)}`);
  const outputs = [dry.stdout, dry.stderr];
  if (!dryOnly) {
    const real = await importctl(caseDir, ['start', 'job.yaml', '--json']);
    processes++;
    outputs.push(real.stdout, real.stderr);
    if (real.code !== 2) problems.push(`start exited ${real.code}: ${(real.stdout || real.stderr).slice(0, 300)}`);
    else {
      const body = JSON.parse(real.stdout) as { error?: { code: string; problems: { field: string; message: string }[] } };
      if (body.error?.code !== 'invalid-input') problems.push(`start --json: ${real.stdout.slice(0, 200)}`);
      else if (!c.field.test(body.error.problems.map((p) => `${p.field}: ${p.message}`).join('\n'))) problems.push(`start --json problems do not name ${c.field}: ${real.stdout.slice(0, 300)}`);
    }
  }
  if (outputs.some((o) => /\d{6}(-\d{6}){7}/.test(o))) problems.push('a BitLocker key in the output');
  return problems;
}

test(`${cases.length} generated malformed specs (${refusable.length} expected to be refused)`, () => {
  assert.ok(cases.length >= 150, `only ${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  for (const name of KNOWN_GAPS.keys()) assert.ok(cases.some((c) => c.name === name), `known gap "${name}" is a case`);
  writeCases();
});

for (let from = 0; from < refusable.length; from += CHUNK) {
  const chunk = refusable.slice(from, from + CHUNK);
  test(`malformed specs ${from + 1}-${from + chunk.length}: exit 2 naming the field, through start --dry-run and start --json`, async () => {
    const failures: string[] = [];
    await pool(chunk, CONCURRENCY, async (c) => {
      const problems = await refusal(c);
      if (problems.length > 0) failures.push(`${c.name}: ${problems.join('; ')}`);
    });
    assert.deepEqual(failures, []);
  });
}

test('after every refusal: no workflow was started and nothing was written (secrets, journal, drives, files)', async (t) => {
  t.diagnostic(`${refusable.length} specs refused through ${processes} importctl processes`);
  assert.deepEqual(tree(dir, path.join(dir, 'base')), untouched);
  const started: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${cliEnv.TASK_QUEUE}'` })) started.push(wf.workflowId);
  assert.deepEqual(started, []);
});

for (const [name, gap] of KNOWN_GAPS) {
  test(`still accepted: ${name}`, { todo: gap }, async () => {
    const c = cases.find((x) => x.name === name)!;
    assert.deepEqual(await refusal(c, true), []);
  });
}
