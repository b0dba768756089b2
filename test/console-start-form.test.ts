/**
 * The console's "Start a job" goes through the same validation path as importctl: every generated malformed spec
 * (the importctl suite's cases, with their CSVs uploaded as a browser would) is refused with the field named, and
 * nothing is stored or started.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobsApi } from '../console/jobs';
import { checkStartForm } from '../console/start-form';
import { LocalFileSecretStore } from '../security/secret-store';
import { generateCases, type Case } from './fixtures/specs/malformed';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-start-form-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The uploaded text of the CSV the spec names in `drives.prepare.<key>`, when the case has such a file. */
function upload(c: Case, key: 'datasetCsv' | 'drivesetCsv'): string | undefined {
  const name = new RegExp(`"${key}":"([^"]+)"`).exec(c.spec ?? '')?.[1];
  return name === undefined ? undefined : c.files?.[name];
}

test('at least 150 malformed specs through the console start form: each refused naming the field, nothing stored or started', async () => {
  // Cases about files on the station's disk (no spec file, a spec argument elsewhere, a CSV reference to a missing
  // file or a folder) are importctl's own: the console takes uploads. A reference to another job's secret is refused
  // by ImportJobService.start, which this test replaces by a stub (importctl's tests cover it end to end).
  const importctlOnly = new Set(['missing dataset CSV file', 'missing driveset CSV file', 'driveset CSV is a folder', "another job's secret reference"]);
  const cases = generateCases(dir).filter((c) => c.spec !== undefined && c.specArg === undefined && !importctlOnly.has(c.name));
  // The data set and drives the base spec's CSVs name.
  fs.mkdirSync(path.join(dir, 'data', 'docs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'docs', 'a.txt'), 'alpha\n');
  for (const d of ['drive1', 'drive2']) fs.mkdirSync(path.join(dir, d));
  assert.ok(cases.length >= 150, `only ${cases.length} console cases`);
  for (const c of cases) {
    for (const [f, text] of Object.entries(c.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    }
  }
  const secretsDir = path.join(dir, 'secrets');
  const store = new LocalFileSecretStore({ dir: secretsDir, keyRing: { currentKeyId: 'k1', keys: { k1: Buffer.alloc(32, 7) } } });
  let starts = 0;
  const jobs = { start: async () => ((starts += 1), { ok: true as const, workflowId: 'never' }) } as unknown as JobsApi;
  const slipped: string[] = [];
  for (const c of cases) {
    const result = await checkStartForm(
      // Uploaded as a browser would: the CSVs the spec names, under those names.
      { spec: c.spec!, datasetCsv: upload(c, 'datasetCsv'), drivesetCsv: upload(c, 'drivesetCsv'), validateOnly: false },
      { jobs, secrets: { store, kind: 'local' }, startedBy: 'ops-test' },
    );
    if (result.ok) slipped.push(`${c.name}: accepted`);
    else {
      assert.ok(result.status >= 400 && result.status < 500, `${c.name}: HTTP ${result.status}`);
      const text = result.problems.map((p) => `${p.field}: ${p.message}`).join('\n');
      const expected = c.spec === '' ? /\(spec\)/ : c.field;
      if (!expected.test(text)) slipped.push(`${c.name}: ${text.split('\n')[0]} (wanted ${expected})`);
    }
  }
  assert.deepEqual(slipped, []);
  assert.equal(starts, 0, 'no job was started');
  assert.deepEqual(fs.existsSync(secretsDir) ? fs.readdirSync(secretsDir) : [], [], 'no secret was stored');
});
