import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureLocalKeyFile, ensureLocalSecurityFiles, loadSecurityConfig, SecurityConfigError } from '../security/config';

const b64 = (): string => randomBytes(32).toString('base64');
const k1 = b64();
const k2 = b64();
const TOKEN = 'x'.repeat(40);
const posix = process.platform !== 'win32';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-config-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const quiet = {};

function writeKeyFile(name: string, content: unknown, mode = 0o600): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, JSON.stringify(content), { mode });
  fs.chmodSync(f, mode);
  return f;
}

void describe('loadSecurityConfig', () => {
  void it('parses PAYLOAD_KEYS in id:base64 form with PAYLOAD_CURRENT_KEY_ID and applies defaults', () => {
    const c = loadSecurityConfig({ PAYLOAD_KEYS: `k1:${k1}, k2:${k2}`, PAYLOAD_CURRENT_KEY_ID: 'k2' }, { baseDir: tmp, ...quiet });
    assert.equal(c.payloadKeys.currentKeyId, 'k2');
    assert.deepEqual(Buffer.from(c.payloadKeys.keys.k1 ?? []), Buffer.from(k1, 'base64'));
    assert.equal(c.payloadKeys.keys.k2?.length, 32);
    assert.deepEqual(c.secretStore, { kind: 'local', dir: path.join(tmp, 'data/secrets') });
    assert.equal(c.codecServer.host, '127.0.0.1');
    assert.equal(c.codecServer.port, 8888);
    assert.equal(c.codecServer.token, undefined);
    assert.deepEqual(c.codecServer.corsOrigins, ['http://127.0.0.1:8233'], 'one host name everywhere');
    assert.equal(c.codecServer.publicUrl, undefined);
  });

  void it('parses PAYLOAD_KEYS as JSON', () => {
    const c = loadSecurityConfig({ PAYLOAD_KEYS: JSON.stringify({ current: 'k1', keys: { k1, k2 } }) }, quiet);
    assert.equal(c.payloadKeys.currentKeyId, 'k1');
    const single = loadSecurityConfig({ PAYLOAD_KEYS: JSON.stringify({ only: k1 }) }, quiet);
    assert.equal(single.payloadKeys.currentKeyId, 'only');
  });

  void it('reads a 0600 key file and rejects a group/world-readable one, naming the file', { skip: !posix }, () => {
    const good = writeKeyFile('good.json', { current: 'k2', keys: { k1, k2 } });
    assert.equal(loadSecurityConfig({ PAYLOAD_KEY_FILE: good }, quiet).payloadKeys.currentKeyId, 'k2');
    const loose = writeKeyFile('loose.json', { current: 'k1', keys: { k1 } }, 0o644);
    assert.throws(() => loadSecurityConfig({ PAYLOAD_KEY_FILE: loose }, quiet), (e: unknown) => {
      assert.ok(e instanceof SecurityConfigError);
      assert.match(e.message, /PAYLOAD_KEY_FILE/);
      assert.ok(e.message.includes(loose));
      assert.match(e.message, /0644/);
      return true;
    });
  });

  void it('names the variable in errors and never echoes key material', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PAYLOAD_KEYS: `k1:${k1},k2:${k2}` }, /PAYLOAD_CURRENT_KEY_ID/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, PAYLOAD_CURRENT_KEY_ID: 'k7' }, /PAYLOAD_CURRENT_KEY_ID="k7"/],
      [{ PAYLOAD_KEYS: 'k1:c2hvcnQ=' }, /PAYLOAD_KEYS: .*32 bytes/],
      [{ PAYLOAD_KEYS: 'nonsense' }, /PAYLOAD_KEYS entries/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, PAYLOAD_KEY_FILE: '/x' }, /either PAYLOAD_KEYS or PAYLOAD_KEY_FILE/],
      [{ PAYLOAD_KEY_FILE: path.join(tmp, 'missing.json') }, /PAYLOAD_KEY_FILE .*missing\.json/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, SECRET_STORE: 'vault' }, /SECRET_STORE/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, SECRET_STORE: 'keyvault' }, /KEY_VAULT_URL/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, SECRET_STORE: 'keyvault', KEY_VAULT_URL: 'http://v' }, /KEY_VAULT_URL/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, CODEC_SERVER_PORT: '99999' }, /CODEC_SERVER_PORT/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, CODEC_SERVER_TOKEN: 'short' }, /CODEC_SERVER_TOKEN/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, CODEC_CORS_ORIGINS: 'http://a.example/path' }, /CODEC_CORS_ORIGINS/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, CODEC_CORS_ORIGINS: '*' }, /CODEC_CORS_ORIGINS/],
      [{ SECRET_STORE: 'keyvault', KEY_VAULT_URL: 'https://v.vault.azure.net' }, /PAYLOAD_KEYS .*PAYLOAD_KEY_FILE/],
      [{}, /PAYLOAD_KEYS .*PAYLOAD_KEY_FILE.*npm start/],
      [{ PAYLOAD_KEYS: `k1:${k1}`, CODEC_SERVER_PUBLIC_URL: 'ftp://codec.example.com' }, /CODEC_SERVER_PUBLIC_URL/],
    ];
    for (const [env, re] of cases) {
      assert.throws(() => loadSecurityConfig(env, { baseDir: tmp }), (e: unknown) => {
        assert.ok(e instanceof SecurityConfigError, `${JSON.stringify(env)}: ${String(e)}`);
        assert.match(e.message, re, JSON.stringify(env));
        assert.ok(!e.message.includes(k1) && !e.message.includes(k2), 'key material in error');
        return true;
      });
    }
  });

  void it('accepts the keyvault store, token and origins', () => {
    const c = loadSecurityConfig(
      {
        PAYLOAD_KEYS: `k1:${k1}`,
        SECRET_STORE: 'keyvault',
        KEY_VAULT_URL: 'https://v.vault.azure.net',
        CODEC_SERVER_TOKEN: TOKEN,
        CODEC_SERVER_PORT: '0',
        CODEC_CORS_ORIGINS: 'https://temporal.example.com, http://localhost:8080/',
      },
      quiet,
    );
    assert.deepEqual(c.secretStore, { kind: 'keyvault', vaultUrl: 'https://v.vault.azure.net' });
    assert.equal(c.codecServer.token, TOKEN);
    assert.equal(c.codecServer.port, 0);
    assert.deepEqual(c.codecServer.corsOrigins, ['https://temporal.example.com', 'http://localhost:8080']);
  });

  void it('reads CODEC_SERVER_TOKEN_FILE (must be 0600)', { skip: !posix }, () => {
    const f = path.join(tmp, 'token');
    fs.writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
    assert.equal(loadSecurityConfig({ PAYLOAD_KEYS: `k1:${k1}`, CODEC_SERVER_TOKEN_FILE: f }, quiet).codecServer.token, TOKEN);
    fs.chmodSync(f, 0o640);
    assert.throws(() => loadSecurityConfig({ PAYLOAD_KEYS: `k1:${k1}`, CODEC_SERVER_TOKEN_FILE: f }, quiet), /CODEC_SERVER_TOKEN_FILE/);
  });

  void it('loading writes nothing; the explicit ensure step creates the local files once and loading then finds them', { skip: !posix }, () => {
    const base = path.join(tmp, 'proj');
    fs.mkdirSync(base);
    assert.throws(() => loadSecurityConfig({}, { baseDir: base }), /npm start/);
    assert.deepEqual(fs.readdirSync(base), [], 'a failed load created nothing');
    const first = ensureLocalSecurityFiles(path.join(base, 'data'));
    assert.equal(first.keyFile.created, true);
    assert.equal(first.tokenFile.created, true);
    const file = path.join(base, 'data/keys/payload-keys.json');
    assert.equal(first.keyFile.path, file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(first.tokenFile.path).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const again = ensureLocalSecurityFiles(path.join(base, 'data'));
    assert.equal(again.keyFile.created, false, 'second ensure reuses the file');
    assert.equal(again.tokenFile.created, false);
    const c1 = loadSecurityConfig({}, { baseDir: base });
    const c2 = loadSecurityConfig({}, { baseDir: base });
    assert.deepEqual(c1.payloadKeys, c2.payloadKeys);
    assert.equal(c1.payloadKeys.currentKeyId, 'k1');
    assert.equal(loadSecurityConfig({ CODEC_SERVER_TOKEN_FILE: first.tokenFile.path }, { baseDir: base }).codecServer.token?.length, 43);
    assert.equal(loadSecurityConfig({ PAYLOAD_KEYS: `k1:${k1}`, CODEC_SERVER_PUBLIC_URL: 'https://codec.example.com/' }).codecServer.publicUrl, 'https://codec.example.com');
  });
});

void describe('ensureLocalKeyFile', () => {
  void it('refuses a path git would track and accepts an ignored one', { skip: !posix }, (t) => {
    const repo = path.join(tmp, 'repo');
    fs.mkdirSync(repo);
    try {
      execFileSync('git', ['init', '-q', repo], { stdio: 'ignore' });
    } catch {
      t.skip('git not available');
      return;
    }
    fs.writeFileSync(path.join(repo, '.gitignore'), 'data/\n');
    assert.throws(() => ensureLocalKeyFile(path.join(repo, 'keys.json')), /not gitignored/);
    assert.ok(!fs.existsSync(path.join(repo, 'keys.json')));
    const r = ensureLocalKeyFile(path.join(repo, 'data/keys/payload-keys.json'));
    assert.equal(r.created, true);
    const parsed = JSON.parse(fs.readFileSync(r.path, 'utf8')) as { current: string; keys: Record<string, string> };
    assert.equal(Buffer.from(parsed.keys[parsed.current] ?? '', 'base64').length, 32);
    assert.equal(ensureLocalKeyFile(r.path).created, false);
  });
});
