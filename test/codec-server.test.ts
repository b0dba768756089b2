import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { EncryptionCodec } from '../security/payload-codec';
import { payloadFromJson, payloadToJson, type RunningCodecServer, SESSION_COOKIE, startCodecServer, tokensEqual } from '../codec-server/server';

const TOKEN = randomBytes(32).toString('base64url');
const UI = 'http://localhost:8233';
const BITLOCKER = '123456-234567-345678-456789-567890-678901-789012-890123';

/** Counts codec calls so we can prove unauthenticated requests did no payload work. */
class CountingCodec implements PayloadCodec {
  calls = 0;
  constructor(private readonly inner: PayloadCodec) {}
  async encode(p: Payload[]): Promise<Payload[]> {
    this.calls++;
    return this.inner.encode(p);
  }
  async decode(p: Payload[]): Promise<Payload[]> {
    this.calls++;
    return this.inner.decode(p);
  }
}

const codec = new CountingCodec(new EncryptionCodec({ currentKeyId: 'k1', keys: { k1: randomBytes(32) } }));
let server: RunningCodecServer;

before(async () => {
  server = await startCodecServer({ codec, token: TOKEN, port: 0, corsOrigins: [UI, 'http://127.0.0.1:8233'] });
});
after(async () => server.close());

const plainBody = (): { payloads: ReturnType<typeof payloadToJson>[] } => ({
  payloads: [payloadToJson(defaultPayloadConverter.toPayload({ key: BITLOCKER, addr: 'Redmond' }))],
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

void describe('codec server', () => {
  void it('binds to 127.0.0.1 by default', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  void it('rejects missing, wrong and malformed credentials with 401 and does no payload work', async () => {
    const before = codec.calls;
    const cases: Array<Record<string, string>> = [
      {},
      { Authorization: `Bearer ${TOKEN}x` },
      { Authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { Authorization: TOKEN },
      { Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { Cookie: `${SESSION_COOKIE}=forged` },
    ];
    for (const headers of cases) {
      for (const op of ['/encode', '/decode']) {
        const r = await post(op, plainBody(), headers);
        assert.equal(r.status, 401, `${op} ${JSON.stringify(headers)}`);
        assert.match(r.headers.get('www-authenticate') ?? '', /Bearer/);
        const text = await r.text();
        assert.ok(!text.includes(BITLOCKER));
      }
    }
    assert.equal(codec.calls, before, 'codec ran for an unauthenticated request');
  });

  void it('answers CORS preflight for the UI origin with credentials and the needed headers', async () => {
    const r = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: UI,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), UI);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'content-type', 'x-namespace']) assert.ok(allowed.includes(h), h);
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(r.headers.get('vary') ?? '', /Origin/);
  });

  void it('refuses other origins (preflight and actual request)', async () => {
    const pre = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    const r = await post('/decode', plainBody(), { Origin: 'https://evil.example', Authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 403);
  });

  void it('encodes then decodes with the token (remote codec JSON, base64 fields, prefix paths, query strings)', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}`, Origin: UI, 'X-Namespace': 'default' };
    const original = plainBody();
    const enc = await post('/encode', original, auth);
    assert.equal(enc.status, 200);
    assert.equal(enc.headers.get('access-control-allow-origin'), UI);
    const encBody = (await enc.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    const first = encBody.payloads[0];
    assert.ok(first);
    assert.equal(Buffer.from(first.metadata.encoding ?? '', 'base64').toString(), 'binary/encrypted');
    assert.ok(!Buffer.from(first.data, 'base64').includes(BITLOCKER));
    assert.ok(!JSON.stringify(encBody).includes(Buffer.from(BITLOCKER).toString('base64').slice(0, 20)));

    const dec = await post('/some/prefix/decode?preserveStorageRefs=true', encBody, auth);
    assert.equal(dec.status, 200);
    const decBody = (await dec.json()) as { payloads: Parameters<typeof payloadFromJson>[0][] };
    assert.deepEqual(decBody, original);
    assert.deepEqual(defaultPayloadConverter.fromPayload(payloadFromJson(decBody.payloads[0] ?? {})), { key: BITLOCKER, addr: 'Redmond' });
  });

  void it('reports bad bodies and unknown keys as 400 without echoing payloads', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    assert.equal((await post('/decode', { nope: 1 }, auth)).status, 400);
    assert.equal((await post('/decode', { payloads: [{ data: '!!notbase64!!' }] }, auth)).status, 400);
    const foreign = await new EncryptionCodec({ currentKeyId: 'k9', keys: { k9: randomBytes(32) } }).encode([
      defaultPayloadConverter.toPayload(BITLOCKER),
    ]);
    const r = await post('/decode', { payloads: foreign.map(payloadToJson) }, auth);
    assert.equal(r.status, 400);
    const text = await r.text();
    assert.match(text, /k9/);
    assert.equal((await post('/other', { payloads: [] }, auth)).status, 404);
  });

  void it('lets a browser sign in at /login and then use the session cookie (Web UI "include credentials")', async () => {
    const bad = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'wrong-token-wrong-token-wrong' }).toString(),
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
    const ok = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: server.url },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    assert.equal(ok.status, 200);
    const setCookie = ok.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0] ?? '';
    assert.ok(!cookie.includes(TOKEN), 'cookie must not be the token');
    const r = await post('/encode', plainBody(), { Cookie: cookie, Origin: UI });
    assert.equal(r.status, 200);
    await fetch(`${server.url}/logout`, { method: 'POST', headers: { Cookie: cookie } });
    assert.equal((await post('/encode', plainBody(), { Cookie: cookie })).status, 401);
  });

  void it('refuses to start with a weak token', async () => {
    await assert.rejects(startCodecServer({ codec, token: 'short', port: 0 }), /at least 24/);
  });

  void it('tokensEqual is exact', () => {
    assert.ok(tokensEqual(TOKEN, TOKEN));
    assert.ok(!tokensEqual(`${TOKEN} `, TOKEN));
    assert.ok(!tokensEqual('', TOKEN));
  });
});
