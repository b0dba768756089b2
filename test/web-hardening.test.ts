/**
 * Both browser-facing servers (console, codec server) under hostile input, without Temporal: 600 generated malformed
 * HTTP requests each over raw sockets (odd targets such as `//a:b`, bad methods, versions, headers, bodies and
 * encodings), every answer a 4xx/5xx or a clean close, the server still up afterwards; a handler that throws gives
 * an error response; sign-in throttling with lockout (200 wrong passwords / tokens); Secure cookies behind https.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { startCodecServer, type RunningCodecServer } from '../codec-server/server';
import { hashPassword } from '../console/passwords';
import { startConsole, SESSION_COOKIE, type RunningConsole } from '../console/server';

const TOKEN = randomBytes(32).toString('base64url');
const REQUESTS_PER_SERVER = 600;

/** A codec whose decode throws an unexpected error: the handler's exception must become a 500, not a crash. */
class BrokenCodec implements PayloadCodec {
  async encode(p: Payload[]): Promise<Payload[]> {
    return p;
  }
  async decode(): Promise<Payload[]> {
    throw new TypeError('codec exploded');
  }
}

let consoleApp: RunningConsole;
let codec: RunningCodecServer;
const errors: string[] = [];

before(async () => {
  const users = [
    { username: 'ann', role: 'clerk' as const, passwordHash: await hashPassword('clerk-password-1') },
    { username: 'olga', role: 'operator' as const, passwordHash: await hashPassword('operator-password-1') },
  ];
  // A lazy client that never reaches a server: every page that asks Temporal fails inside its handler.
  consoleApp = await startConsole({ client: new Client({ connection: undefined }), taskQueue: 'unused', users, port: 0, log: (l) => errors.push(l) });
  codec = await startCodecServer({ codec: new BrokenCodec(), token: TOKEN, port: 0, onError: (l) => errors.push(l) });
});
after(async () => {
  await consoleApp?.close();
  await codec?.close();
});

// ---------- generated malformed requests ----------

/** Deterministic generator (xorshift), seed printed so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const BAD_METHODS = ['G ET', 'GE\u0000T', 'BREW', 'get', 'PØST', '', 'POST\t', '{}', 'CONNECT', 'TRACE', 'PROPFIND', 'M-SEARCH', 'GET\u0007'];
const ODD_TARGETS = [
  '//a:b', '//', '///', '//a:b/c?d', '/%', '/%zz', '/%E0%A4%A', '/%C0%AE%C0%AE/', '/..%2f..%2fpackage.json', '/static/../../package.json',
  '/static/%2e%2e/%2e%2e/package.json', '/static/..%5c..%5cpackage.json', '*', 'http://evil.example/', 'http://[::1', 'https://a:b@c/',
  '/jobs/import-job-abc/../../../x', `/${'a'.repeat(9000)}`, '/jobs/%00', '/jobs/import-job-%ff', `/jobs/import-job-${'x'.repeat(400)}`,
  '/\u00e9\u0301', '/a b', '/jobs/:id', '/decode/..', '/;', 'a', '/\\\\evil.example', '/%2F%2Fevil.example', '/static/%00.css',
];
const VERSIONS_BAD = ['HTTP/9.9', 'HTTP/1.1x', 'HTTP/0.9', 'HTTP/1', 'HTTPS/1.1', 'http/1.1', ''];
/** Headers HTTP/1.1 forbids or that contradict each other. */
const BAD_HEADER_SETS: readonly string[][] = [
  ['Content-Length: 5', 'Content-Length: 7'],
  ['Content-Length: 3', 'Transfer-Encoding: chunked'],
  ['Transfer-Encoding: gzip, chunked, identity'],
  ['Transfer-Encoding: chunkedx'],
  ['X-No-Colon'],
  ['X-Bad\u0000: a'],
  ['X-Ctrl: a\u0001b'],
  [`X-Huge: ${'h'.repeat(20_000)}`],
  ['Content-Length: -1'],
  ['Content-Length: 99999999999999999999'],
  [' Leading-Space: a'],
  ['Host: a', 'Host: b'],
  ['Expect: 100-banana'],
];
/** Well-formed but hostile or nonsensical headers, mixed into any request (they must not turn a bad request good). */
const ODD_HEADERS: readonly string[] = [
  'Cookie: console_session=%%%; console_session=; =; aio_codec_session=..',
  'Cookie: console_session=AAAA.BBBB; console_login=x',
  'Authorization: Bearer',
  'Authorization: Bearer \u00ff\u00fe',
  'Origin: null',
  'Origin: https://evil.example',
  'Content-Type: application/json; charset=utf-16',
  'Content-Type: multipart/form-data; boundary=',
  'Content-Encoding: gzip',
  'X-Forwarded-Proto: https',
  'X-Forwarded-For: 10.0.0.1, ::1',
  'Accept-Encoding: br;q=1e999',
];
const BAD_BODIES: readonly { type: string; body: Buffer }[] = [
  { type: 'application/json', body: Buffer.from('{"payloads": [') },
  { type: 'application/json', body: Buffer.from('{"__proto__": {"polluted": 1}, "payloads": "x"}') },
  { type: 'application/json', body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) },
  { type: 'application/x-www-form-urlencoded', body: Buffer.from('_csrf=%zz&token=%&username=' + '%00'.repeat(50)) },
  { type: 'multipart/form-data; boundary=XYZ', body: Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="spec"\r\n\r\nunterminated') },
  { type: 'multipart/form-data; boundary=XYZ', body: Buffer.from('garbage without boundaries') },
  { type: 'text/yaml', body: Buffer.from('jobName: &a [*a, *a]') },
  { type: 'application/octet-stream', body: randomBytes(300) },
  { type: 'application/json', body: Buffer.from('9'.repeat(5000)) },
];

type Defect = 'method' | 'target' | 'version' | 'headers' | 'body' | 'chunked' | 'raw-bytes';
const DEFECTS: readonly Defect[] = ['method', 'target', 'version', 'headers', 'body', 'chunked', 'raw-bytes'];

/** One request with at least one defect, written as raw bytes. */
function malformedRequest(r: () => number, host: string): { bytes: Buffer; describe: string } {
  const defect = pick(r, DEFECTS);
  const method = defect === 'method' ? pick(r, BAD_METHODS) : defect === 'body' || defect === 'chunked' ? 'POST' : pick(r, METHODS);
  const target = defect === 'target' || r() < 0.5 ? pick(r, ODD_TARGETS) : pick(r, ['/login', '/decode', '/encode', '/start', '/jobs/import-job-abc/ship', '/static/console.css']);
  const version = defect === 'version' ? pick(r, VERSIONS_BAD) : 'HTTP/1.1';
  const headers = [`Host: ${host}`, 'Connection: close'];
  if (defect === 'headers') headers.push(...pick(r, BAD_HEADER_SETS));
  if (r() < 0.4) headers.push(pick(r, ODD_HEADERS));
  let body: Buffer = Buffer.alloc(0);
  if (defect === 'body') {
    const b = pick(r, BAD_BODIES);
    headers.push(`Content-Type: ${b.type}`, `Content-Length: ${b.body.length}`);
    body = b.body;
  } else if (defect === 'chunked') {
    headers.push('Content-Type: application/json', 'Transfer-Encoding: chunked');
    body = Buffer.from(pick(r, ['zz\r\n{}\r\n0\r\n\r\n', '5\r\n{"a"}\r\n0\r\n\r\n', '-1\r\n\r\n', 'ffffffffffffffff\r\nx\r\n', '3;ext="\r\n{}\r\n0\r\n\r\n']));
  }
  let head = `${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`;
  if (defect === 'raw-bytes') head = `GET /${pick(r, ['\u00ff', '\u0000', '\r', '\u001b[31m'])}x HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]), describe: `${defect}: ${JSON.stringify(`${method} ${target.slice(0, 60)} ${version}`)}` };
}

/** Sends raw bytes, returns the response's status (undefined when the server closed without answering). */
function send(url: string, bytes: Buffer): Promise<number | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host: hostname, port: Number(port) }, () => {
      sock.end(bytes);
    });
    sock.setTimeout(10_000, () => {
      sock.destroy();
      reject(new Error('no answer and no close within 10 s'));
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve(m ? Number(m[1]) : undefined);
    });
  });
}

async function fuzz(name: string, url: string, seed: number): Promise<void> {
  const r = rng(seed);
  const host = new URL(url).host;
  const requests = Array.from({ length: REQUESTS_PER_SERVER }, () => malformedRequest(r, host));
  const counts = new Map<string, number>();
  const bad: string[] = [];
  for (let i = 0; i < requests.length; i += 20) {
    const batch = requests.slice(i, i + 20);
    const statuses = await Promise.all(batch.map((q) => send(url, q.bytes)));
    statuses.forEach((s, j) => {
      const key = s === undefined ? 'closed' : String(s);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (s !== undefined && s < 400) bad.push(`${s} for ${batch[j]!.describe}`);
      if (process.env.WEB_FUZZ_SHOW === String(s)) console.log(`${s}: ${batch[j]!.describe} ${JSON.stringify(batch[j]!.bytes.toString('latin1').slice(0, 300))}`);
    });
  }
  console.log(`${name}: ${requests.length} malformed requests (seed ${seed}):`, Object.fromEntries([...counts].sort()));
  assert.deepEqual(bad, [], `${name} answered malformed requests with success or redirect`);
  if (process.env.WEB_FUZZ_SHOW) console.log(errors.splice(0).map((e) => e.slice(0, 300)));
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200, `${name} is still up`);
}

describe('malformed HTTP requests', () => {
  test(`console: ${REQUESTS_PER_SERVER} generated malformed requests, every answer 4xx/5xx or a close, still up`, async () => {
    await fuzz('console', consoleApp.url, 0xc0ffee);
  });

  test(`codec server: ${REQUESTS_PER_SERVER} generated malformed requests, every answer 4xx/5xx or a close, still up`, async () => {
    await fuzz('codec server', codec.url, 0xdec0de);
  });

  test('a handler that throws becomes an error response (console: Temporal unreachable; codec: codec throws)', async () => {
    const login = await fetch(`${consoleApp.url}/login`);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? '';
    const signIn = await fetch(`${consoleApp.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, username: 'ann', password: 'clerk-password-1', next: '/shipping' }).toString(),
    });
    assert.equal(signIn.status, 303);
    const session = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c?.startsWith(`${SESSION_COOKIE}=`));
    const page = await fetch(`${consoleApp.url}/shipping`, { headers: { cookie: session ?? '' } });
    assert.equal(page.status, 500);
    assert.match(await page.text(), /Something went wrong talking to Temporal/);
    const decode = await fetch(`${codec.url}/decode`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    assert.equal(decode.status, 500);
    assert.deepEqual(await decode.json(), { error: 'codec decode failed' });
    assert.ok(errors.some((e) => e.includes('codec exploded')), 'the unexpected error was reported');
    assert.equal((await fetch(`${codec.url}/healthz`)).status, 200);
  });
});

// ---------- sign-in throttling and cookie attributes ----------

async function consoleLoginForm(url: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/login`);
  return { cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; '), csrf: /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? '' };
}

async function consoleSignIn(url: string, form: { cookie: string; csrf: string }, username: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ _csrf: form.csrf, username, password, next: '/' }).toString(),
  });
}

describe('sign-in throttling', () => {
  test('console: 200 wrong passwords are throttled with Retry-After; the right password during the lockout is refused', async () => {
    const users = [{ username: 'vic', role: 'clerk' as const, passwordHash: await hashPassword('the-right-password') }];
    let clock = Date.now();
    const app = await startConsole({ client: new Client({ connection: undefined }), taskQueue: 'unused', users, port: 0, now: () => clock });
    try {
      const form = await consoleLoginForm(app.url);
      const statuses: number[] = [];
      let lastRetryAfter = 0;
      const started = Date.now();
      for (let i = 0; i < 200; i++) {
        const res = await consoleSignIn(app.url, form, 'vic', `wrong-${i}`);
        statuses.push(res.status);
        if (res.status === 429) {
          lastRetryAfter = Number(res.headers.get('retry-after'));
          assert.match(await res.text(), /Too many failed sign-ins for vic from your address\. Try again in \d+ (seconds?|minutes?)\./);
        } else await res.body?.cancel();
      }
      const elapsed = Date.now() - started;
      assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'the first failures cost nothing');
      assert.equal(statuses[5], 401, 'the sixth failure is checked, and starts the lockout');
      assert.ok(statuses.slice(6).every((s) => s === 429), `every later attempt is throttled: ${[...new Set(statuses.slice(6))].join(',')}`);
      assert.ok(lastRetryAfter >= 1, 'Retry-After names the wait');
      console.log(`console: 200 wrong passwords in ${elapsed} ms, 194 throttled without hashing, Retry-After ${lastRetryAfter} s`);

      const during = await consoleSignIn(app.url, form, 'vic', 'the-right-password');
      assert.equal(during.status, 429, 'the right password is refused during the lockout');
      assert.equal(during.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`)), false, 'no session during the lockout');

      // Back-off: after the lockout, one more failure locks out for twice as long.
      clock += 31_000;
      const failAgain = await consoleSignIn(app.url, form, 'vic', 'wrong-again');
      assert.equal(failAgain.status, 401);
      assert.ok(Number(failAgain.headers.get('retry-after')) >= 60, `doubled lockout: ${failAgain.headers.get('retry-after')}`);
      clock += 61_000;
      const ok = await consoleSignIn(app.url, form, 'vic', 'the-right-password');
      assert.equal(ok.status, 303, 'after the lockout the right password works');
      // Another user from the same address was never locked.
      assert.equal((await consoleSignIn(app.url, form, 'nobody', 'x')).status, 401);
    } finally {
      await app.close();
    }
  });

  test('codec server: 200 wrong tokens are throttled; the right token during the lockout is refused', async () => {
    let clock = Date.now();
    const server = await startCodecServer({ codec: new BrokenCodec(), token: TOKEN, port: 0, now: () => clock });
    const signIn = (token: string): Promise<Response> =>
      fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) {
        const res = await signIn(`wrong-token-${i}-${'x'.repeat(24)}`);
        statuses.push(res.status);
        await res.text();
      }
      assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401]);
      assert.ok(statuses.slice(6).every((s) => s === 429), 'every later attempt is throttled');
      const during = await signIn(TOKEN);
      assert.equal(during.status, 429);
      assert.ok(Number(during.headers.get('retry-after')) >= 1);
      assert.match(await during.text(), /Too many failed sign-ins from your address/);
      assert.equal(during.headers.getSetCookie().length, 0, 'no session during the lockout');
      clock += 31_000;
      assert.equal((await signIn(TOKEN)).status, 200, 'after the lockout the right token works');
    } finally {
      await server.close();
    }
  });
});

describe('cookie attributes', () => {
  test('console: Secure, HttpOnly and SameSite=Strict on every cookie when the public URL is https; no Secure over plain http', async () => {
    const users = [{ username: 'ann', role: 'clerk' as const, passwordHash: await hashPassword('clerk-password-1') }];
    const app = await startConsole({ client: new Client({ connection: undefined }), taskQueue: 'unused', users, port: 0, publicUrl: 'https://console.example.com' });
    try {
      const form = await fetch(`${app.url}/login`);
      const loginCookie = form.headers.getSetCookie();
      assert.equal(loginCookie.length, 1);
      for (const attr of [/; Secure/i, /HttpOnly/i, /SameSite=Strict/i]) assert.match(loginCookie[0]!, attr);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
      // As the TLS proxy in front (on this host) forwards it: the browser used https.
      const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'console.example.com' };
      const res = await consoleSignIn(app.url, { cookie: loginCookie[0]!.split(';')[0]!, csrf }, 'ann', 'clerk-password-1', viaProxy);
      assert.equal(res.status, 303);
      const session = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
      assert.ok(session);
      for (const attr of [/; Secure/i, /HttpOnly/i, /SameSite=Strict/i]) assert.match(session, attr);
      // Behind the https proxy the browser's Origin is the public one; anything else is cross-site.
      const cross = await fetch(`${app.url}/login`, { method: 'POST', headers: { cookie: loginCookie[0]!.split(';')[0]!, origin: app.url, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, username: 'ann', password: 'clerk-password-1' }).toString() });
      assert.equal(cross.status, 403);
    } finally {
      await app.close();
    }
    const plain = await fetch(`${consoleApp.url}/login`);
    assert.doesNotMatch(plain.headers.getSetCookie()[0] ?? '', /Secure/i);
  });

  test('codec server: Secure session cookie when CODEC_SERVER_PUBLIC_URL is https', async () => {
    const server = await startCodecServer({ codec: new BrokenCodec(), token: TOKEN, port: 0, publicUrl: 'https://codec.example.com' });
    try {
      const res = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' }, body: new URLSearchParams({ token: TOKEN }).toString() });
      assert.equal(res.status, 200);
      const cookie = res.headers.getSetCookie()[0] ?? '';
      for (const attr of [/; Secure/i, /HttpOnly/i, /SameSite=Strict/i]) assert.match(cookie, attr);
    } finally {
      await server.close();
    }
  });
});
