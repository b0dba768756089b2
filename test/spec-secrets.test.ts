/**
 * Secrets found in a job spec are staged, not stored: nothing reaches the store before commit(), the same value is
 * reused, a corrected value goes to a new revision name (never overwriting what a workflow may hold), and a
 * reference that belongs to another job is refused.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { JobSpec } from '../common/job-spec';
import { secretBindingProblems, StagedSecretStore } from '../client/spec-secrets';
import { InMemorySecretStore, LocalFileSecretStore, SecretBindingError } from '../security/secret-store';

const K1 = '111111-222222-333333-444444-555555-666666-777777-888888';
const K2 = '000011-000022-000033-000044-000055-000066-000077-000088';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-secrets-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const ring = { currentKeyId: 's1', keys: { s1: crypto.randomBytes(32) } };

const preparedSpec = (jobName: string, names: string[]): Pick<JobSpec, 'jobName' | 'drives'> => ({
  jobName,
  drives: {
    prepared: names.map((name, i) => ({
      driveId: `D${i}`,
      drivePath: `/mnt/d${i}`,
      bitLockerKeyRef: { kind: 'secret-ref', store: 'local', name },
      manifestFile: '\\DriveManifest.xml',
      manifestHash: 'C'.repeat(32),
      fileCount: 1,
      byteCount: 1,
    })),
  },
});

void describe('StagedSecretStore', () => {
  void it('writes nothing until commit, then writes bound secrets', async () => {
    const dir = path.join(tmp, 'a');
    const target = new LocalFileSecretStore({ dir, keyRing: ring });
    const staged = new StagedSecretStore(target, 'local', { jobName: 'job-a' });
    const ref = await staged.put('bitlocker-job-a-D0', K1);
    assert.equal(await staged.get(ref), K1, 'staged values resolve before commit');
    assert.equal(fs.existsSync(dir), false, 'nothing on disk before commit');
    assert.deepEqual(staged.pendingNames, ['bitlocker-job-a-D0']);
    await staged.commit();
    assert.equal(await target.get(ref, { jobName: 'job-a' }), K1);
    await assert.rejects(target.get(ref, { jobName: 'job-b' }), SecretBindingError);
  });

  void it('reuses a name holding the same value, and puts a corrected value under the next revision', async () => {
    const target = new InMemorySecretStore();
    await target.put('bitlocker-job-c-D0', K1, { jobName: 'job-c' });
    const again = new StagedSecretStore(target, 'local', { jobName: 'job-c' });
    assert.equal((await again.put('bitlocker-job-c-D0', K1)).name, 'bitlocker-job-c-D0');
    assert.deepEqual(again.pendingNames, [], 'an identical value is not written again');

    const corrected = new StagedSecretStore(target, 'local', { jobName: 'job-c' });
    const ref = await corrected.put('bitlocker-job-c-D0', K2);
    assert.equal(ref.name, 'bitlocker-job-c-D0-r2');
    await corrected.commit();
    assert.equal(await target.get({ kind: 'secret-ref', store: 'local', name: 'bitlocker-job-c-D0' }), K1, 'the first value is never overwritten');
    assert.equal(await target.get(ref, { jobName: 'job-c' }), K2);
    const third = new StagedSecretStore(target, 'local', { jobName: 'job-c' });
    assert.equal((await third.put('bitlocker-job-c-D0', K2)).name, 'bitlocker-job-c-D0-r2', 'the corrected value is found again');
  });

  void it("never reuses another job's secret, even with the same value", async () => {
    const target = new InMemorySecretStore();
    await target.put('bitlocker-shared-D0', K1, { jobName: 'owner-job' });
    const staged = new StagedSecretStore(target, 'local', { jobName: 'other-job' });
    assert.equal((await staged.put('bitlocker-shared-D0', K1)).name, 'bitlocker-shared-D0-r2');
  });

  void it('keeps revision names within 127 characters', async () => {
    const target = new InMemorySecretStore();
    const long = `bitlocker-${'x'.repeat(117)}`;
    await target.put(long, K1, { jobName: 'job-l' });
    const ref = await new StagedSecretStore(target, 'local', { jobName: 'job-l' }).put(long, K2);
    assert.equal(ref.name.length, 127);
    assert.match(ref.name, /-r2$/);
  });
});

void describe('secretBindingProblems', () => {
  void it('names every reference that is missing or belongs to another job', async () => {
    const store = new InMemorySecretStore();
    await store.put('bitlocker-mine-D0', K1, { jobName: 'mine' });
    await store.put('bitlocker-theirs-D0', K2, { jobName: 'theirs' });
    await store.put('prepared-before-any-job', K2);
    const problems = await secretBindingProblems(preparedSpec('mine', ['bitlocker-mine-D0', 'bitlocker-theirs-D0', 'nope', 'prepared-before-any-job']), store);
    assert.deepEqual(problems, [
      { field: 'drives.prepared.1.bitLockerKeyRef', message: 'secret "bitlocker-theirs-D0" belongs to another job' },
      { field: 'drives.prepared.2.bitLockerKeyRef', message: 'no secret named "nope" in the local secret store' },
    ]);
  });
});
