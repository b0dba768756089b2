import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KeyVaultSecret } from '@azure/keyvault-secrets';
import type { SecretRef } from '../common/secret-ref';
import type { PayloadKeyRing } from '../security/keys';
import {
  createSecretStore,
  InMemorySecretStore,
  KeyVaultSecretStore,
  type KeyVaultSecretsClient,
  LocalFileSecretStore,
  SecretBindingError,
  SecretConflictError,
  SecretNotFoundError,
} from '../security/secret-store';

const BITLOCKER = '123456-234567-345678-456789-567890-678901-789012-890123';
const OTHER = '654321-234567-345678-456789-567890-678901-789012-890123';
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ring1: PayloadKeyRing = { currentKeyId: 'k1', keys: { k1 } };

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-secrets-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? allFiles(path.join(dir, d.name)) : [path.join(dir, d.name)],
  );
}

void describe('LocalFileSecretStore', () => {
  void it('stores encrypted, mode 0600, and resolves the reference', async () => {
    const dir = path.join(tmp, 'a', 'secrets');
    const store = new LocalFileSecretStore({ dir, keyRing: ring1 });
    const ref = await store.put('bitlocker-prep1-drive1', BITLOCKER);
    assert.deepEqual(ref, { kind: 'secret-ref', store: 'local', name: 'bitlocker-prep1-drive1' });
    assert.equal(await store.get(ref), BITLOCKER);
    const files = allFiles(dir);
    assert.equal(files.length, 1, 'no temp files left behind');
    for (const f of files) {
      const raw = fs.readFileSync(f);
      assert.ok(!raw.includes(BITLOCKER), 'plaintext on disk');
      assert.ok(!raw.includes('123456'), 'part of the key on disk');
      if (process.platform !== 'win32') assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    }
    if (process.platform !== 'win32') assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  });

  void it('is idempotent for the same value and refuses a different one', async () => {
    const store = new LocalFileSecretStore({ dir: path.join(tmp, 'b'), keyRing: ring1 });
    const r1 = await store.put('bitlocker-x', BITLOCKER);
    const before = fs.readFileSync(store.fileFor('bitlocker-x'));
    const r2 = await store.put('bitlocker-x', BITLOCKER);
    assert.deepEqual(r1, r2);
    assert.deepEqual(fs.readFileSync(store.fileFor('bitlocker-x')), before, 'idempotent put must not rewrite');
    await assert.rejects(store.put('bitlocker-x', OTHER), (e: unknown) => {
      assert.ok(e instanceof SecretConflictError);
      assert.match(e.message, /"bitlocker-x"/);
      assert.ok(!e.message.includes(BITLOCKER) && !e.message.includes(OTHER), 'values in error message');
      return true;
    });
    assert.equal(await store.get(r1), BITLOCKER);
  });

  void it('concurrent puts of one name: same value all succeed, different values: exactly one wins', async () => {
    const store = new LocalFileSecretStore({ dir: path.join(tmp, 'c'), keyRing: ring1 });
    const same = await Promise.allSettled([1, 2, 3, 4].map(() => store.put('race-same', BITLOCKER)));
    assert.ok(same.every((r) => r.status === 'fulfilled'));
    const diff = await Promise.allSettled([BITLOCKER, OTHER].map((v) => store.put('race-diff', v)));
    assert.equal(diff.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(allFiles(path.join(tmp, 'c')).length, 2);
  });

  void it('reads files written under an older key after rotation, and errors clearly on unknown key / missing / bad refs', async () => {
    const dir = path.join(tmp, 'd');
    const ref = await new LocalFileSecretStore({ dir, keyRing: ring1 }).put('rotated', BITLOCKER);
    const rotated = new LocalFileSecretStore({ dir, keyRing: { currentKeyId: 'k2', keys: { k1, k2 } } });
    assert.equal(await rotated.get(ref), BITLOCKER);
    const onlyK2 = new LocalFileSecretStore({ dir, keyRing: { currentKeyId: 'k2', keys: { k2 } } });
    await assert.rejects(onlyK2.get(ref), /key id "k1"/);
    const wrongMaterial = new LocalFileSecretStore({ dir, keyRing: { currentKeyId: 'k1', keys: { k1: k2 } } });
    await assert.rejects(wrongMaterial.get(ref), /cannot decrypt secret "rotated"/);
    await assert.rejects(rotated.get({ kind: 'secret-ref', store: 'local', name: 'nope' }), SecretNotFoundError);
    await assert.rejects(rotated.get({ kind: 'secret-ref', store: 'keyvault', name: 'rotated' }), /"keyvault" store/);
    await assert.rejects(rotated.put('../escape', 'x'), /invalid secret name/);
    await assert.rejects(rotated.get({ kind: 'secret-ref', store: 'local', name: '../x' } as SecretRef), /invalid secret reference/);
  });

  void it('binds the name into the ciphertext: a file copied to another name does not decrypt', async () => {
    const dir = path.join(tmp, 'e');
    const store = new LocalFileSecretStore({ dir, keyRing: ring1 });
    await store.put('one', BITLOCKER);
    const text = fs.readFileSync(store.fileFor('one'), 'utf8').replace('"name":"one"', '"name":"two"');
    fs.writeFileSync(store.fileFor('two'), text, { mode: 0o600 });
    await assert.rejects(store.get({ kind: 'secret-ref', store: 'local', name: 'two' }), /cannot decrypt secret "two"/);
  });
});

void describe('bindings: a secret written for one job is never handed to another', () => {
  void it('local files record the job, bind it into the ciphertext, and refuse other jobs', async () => {
    const dir = path.join(tmp, 'bind');
    const store = new LocalFileSecretStore({ dir, keyRing: ring1 });
    const ref = await store.put('bitlocker-job-a-d1', BITLOCKER, { jobName: 'job-a' });
    assert.equal(await store.get(ref, { jobName: 'job-a' }), BITLOCKER);
    assert.equal(await store.get(ref), BITLOCKER, 'without a binding (tools, tests) the secret still resolves');
    await assert.rejects(store.get(ref, { jobName: 'job-b' }), (e: unknown) => e instanceof SecretBindingError && /belongs to another job/.test(e.message) && !e.message.includes(BITLOCKER));
    await assert.rejects(store.put('bitlocker-job-a-d1', BITLOCKER, { jobName: 'job-b' }), SecretConflictError);
    assert.deepEqual(await store.put('bitlocker-job-a-d1', BITLOCKER, { jobName: 'job-a' }), ref, 'same job, same value: a no-op');
    // Editing the recorded job in the file does not move the secret to another job: the AAD no longer matches.
    const file = store.fileFor('bitlocker-job-a-d1');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"jobName":"job-a"', '"jobName":"job-b"'));
    await assert.rejects(store.get(ref, { jobName: 'job-b' }), /cannot decrypt/);
  });

  void it('secrets written without a binding (tools that prepare drives before any job exists) resolve for any job', async () => {
    const dir = path.join(tmp, 'v1');
    const store = new LocalFileSecretStore({ dir, keyRing: ring1 });
    const ref = await store.put('legacy', BITLOCKER);
    const file = store.fileFor('legacy');
    const v2 = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
    assert.equal(v2.format, 'aio-secret/v2');
    assert.equal(v2.jobName, undefined);
    assert.equal(await store.get(ref, { jobName: 'any-job' }), BITLOCKER);
  });

  void it('in memory and in Key Vault (as a tag) alike', async () => {
    const mem = new InMemorySecretStore();
    const ref = await mem.put('n', BITLOCKER, { jobName: 'job-a' });
    await assert.rejects(mem.get(ref, { jobName: 'job-b' }), SecretBindingError);
    const tags = new Map<string, Record<string, string> | undefined>();
    const values = new Map<string, string>();
    const client: KeyVaultSecretsClient = {
      getSecret: async (name: string) => {
        const value = values.get(name);
        if (value === undefined) throw Object.assign(new Error('nf'), { statusCode: 404 });
        return { name, value, properties: { name, vaultUrl: 'https://v.vault.azure.net', tags: tags.get(name) } };
      },
      setSecret: async (name: string, value: string, opts?: { tags?: Record<string, string> }) => {
        values.set(name, value);
        tags.set(name, opts?.tags);
        return { name, value, properties: { name, vaultUrl: 'https://v.vault.azure.net' } };
      },
    };
    const kv = new KeyVaultSecretStore({ vaultUrl: 'https://v.vault.azure.net', client });
    const kref = await kv.put('kv-secret', BITLOCKER, { jobName: 'job-a' });
    assert.deepEqual(tags.get('kv-secret'), { 'import-job': 'job-a' });
    assert.equal(await kv.get(kref, { jobName: 'job-a' }), BITLOCKER);
    await assert.rejects(kv.get(kref, { jobName: 'job-b' }), SecretBindingError);
  });
});

void describe('InMemorySecretStore', () => {
  void it('has the same put/get semantics', async () => {
    const s = new InMemorySecretStore();
    const ref = await s.put('n1', BITLOCKER);
    assert.equal(await s.put('n1', BITLOCKER).then((r) => r.name), 'n1');
    await assert.rejects(s.put('n1', OTHER), SecretConflictError);
    assert.equal(await s.get(ref), BITLOCKER);
    await assert.rejects(s.get({ kind: 'secret-ref', store: 'local', name: 'missing' }), SecretNotFoundError);
    await assert.rejects(s.put('bad name', 'x'), /invalid secret name/);
    assert.equal(s.size, 1);
  });
});

void describe('KeyVaultSecretStore (fake client)', () => {
  function fakeClient(): KeyVaultSecretsClient & { sets: number; data: Map<string, string> } {
    const data = new Map<string, string>();
    const self = {
      sets: 0,
      data,
      async getSecret(name: string): Promise<KeyVaultSecret> {
        const value = data.get(name);
        if (value === undefined) throw Object.assign(new Error(`SecretNotFound ${name}`), { statusCode: 404, code: 'SecretNotFound' });
        return { name, value, properties: { name, vaultUrl: 'https://v.vault.azure.net' } };
      },
      async setSecret(name: string, value: string): Promise<KeyVaultSecret> {
        self.sets++;
        data.set(name, value);
        return { name, value, properties: { name, vaultUrl: 'https://v.vault.azure.net' } };
      },
    };
    return self;
  }

  void it('sets once, is idempotent, refuses conflicts by default, maps 404', async () => {
    const client = fakeClient();
    const s = new KeyVaultSecretStore({ vaultUrl: 'https://v.vault.azure.net', client });
    const ref = await s.put('bitlocker-1', BITLOCKER);
    assert.deepEqual(ref, { kind: 'secret-ref', store: 'keyvault', name: 'bitlocker-1' });
    await s.put('bitlocker-1', BITLOCKER);
    assert.equal(client.sets, 1, 'same value must not create a new version');
    await assert.rejects(s.put('bitlocker-1', OTHER), SecretConflictError);
    assert.equal(await s.get(ref), BITLOCKER);
    await assert.rejects(s.get({ kind: 'secret-ref', store: 'keyvault', name: 'gone' }), SecretNotFoundError);
    await assert.rejects(s.get({ kind: 'secret-ref', store: 'local', name: 'bitlocker-1' }), /"local" store/);
  });

  void it("onConflict: 'new-version' adds a version", async () => {
    const client = fakeClient();
    const s = new KeyVaultSecretStore({ vaultUrl: 'https://v.vault.azure.net', client, onConflict: 'new-version' });
    const ref = await s.put('n', BITLOCKER);
    await s.put('n', OTHER);
    assert.equal(client.sets, 2);
    assert.equal(await s.get(ref), OTHER);
  });

  void it('does not leak Azure error bodies', async () => {
    const client: KeyVaultSecretsClient = {
      getSecret: async () => {
        throw Object.assign(new Error(`Forbidden, body: ${BITLOCKER}`), { statusCode: 403, code: 'Forbidden' });
      },
      setSecret: async () => {
        throw new Error('unreachable');
      },
    };
    const s = new KeyVaultSecretStore({ vaultUrl: 'https://v.vault.azure.net', client });
    await assert.rejects(s.put('n', 'v'), (e: unknown) => e instanceof Error && /HTTP 403 Forbidden/.test(e.message) && !e.message.includes(BITLOCKER));
  });
});

void describe('createSecretStore', () => {
  void it('selects the store from config', () => {
    assert.ok(createSecretStore({ payloadKeys: ring1, secretStore: { kind: 'local', dir: tmp } }) instanceof LocalFileSecretStore);
    const kv = createSecretStore(
      { payloadKeys: ring1, secretStore: { kind: 'keyvault', vaultUrl: 'https://v.vault.azure.net' } },
      { credential: { getToken: async () => null } },
    );
    assert.ok(kv instanceof KeyVaultSecretStore);
  });
});
