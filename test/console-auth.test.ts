/**
 * Console sign-in, sessions, CSRF and roles, without a browser and without Temporal: every refusal happens in the
 * server's gate before a handler talks to Temporal (the client here is lazy and never connects).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@temporalio/client';
import { ConsoleConfigError, loadConsoleConfig, loadUsersFile, parseUsers, type ConsoleUser } from '../console/config';
import { escapeHtml, html } from '../console/html';
import { searchTerm } from '../console/jobs';
import { hashPassword, verifyPassword } from '../console/passwords';
import { startConsole, SESSION_COOKIE, type RunningConsole } from '../console/server';
import { shipProblemsByField } from '../console/shipping-views';

let app: RunningConsole;
let clock = Date.now();
const TTL = 60 * 60_000;
let users: ConsoleUser[];

before(async () => {
  users = [
    { username: 'ann', role: 'clerk', passwordHash: await hashPassword('clerk-password-1') },
    { username: 'olga', role: 'operator', passwordHash: await hashPassword('operator-password-1'), displayName: 'Olga <Ops>' },
  ];
  app = await startConsole({ client: new Client(), taskQueue: 'unused', users, port: 0, sessionTtlMs: TTL, now: () => clock });
});
after(async () => {
  await app.close();
});

interface Res {
  status: number;
  body: string;
  location: string | null;
  setCookies: string[];
}

async function request(path: string, init: { method?: string; cookie?: string; form?: Record<string, string> } = {}): Promise<Res> {
  const res = await fetch(app.url + path, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    redirect: 'manual',
    headers: {
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: init.form ? new URLSearchParams(init.form).toString() : undefined,
  });
  return { status: res.status, body: await res.text(), location: res.headers.get('location'), setCookies: res.headers.getSetCookie() };
}

const hidden = (body: string, name: string): string => {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(body);
  assert.ok(m, `hidden field ${name} present`);
  return m[1]!;
};
const cookieValue = (setCookies: string[], name: string): string | undefined =>
  setCookies.map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

/** Signs in through the login form; returns the session cookie header and the page's CSRF token. */
async function signIn(username: string, password: string): Promise<{ cookie: string; csrf: string; res: Res }> {
  const form = await request('/login');
  const loginCookie = cookieValue(form.setCookies, 'console_login');
  assert.ok(loginCookie);
  const res = await request('/login', { cookie: `console_login=${loginCookie}`, form: { _csrf: hidden(form.body, '_csrf'), username, password, next: '/start' } });
  const sid = cookieValue(res.setCookies, SESSION_COOKIE);
  if (!sid) return { cookie: '', csrf: '', res };
  const cookie = `${SESSION_COOKIE}=${sid}`;
  const page = await request('/start', { cookie });
  const csrf = page.status === 200 ? hidden(page.body, '_csrf') : '';
  return { cookie, csrf, res };
}

describe('console: sign-in and sessions', () => {
  test('passwords: scrypt hashes verify, wrong passwords and malformed hashes do not', async () => {
    const h = await hashPassword('correct horse');
    assert.match(h, /^scrypt\$16384\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('correct horsf', h), false);
    assert.equal(await verifyPassword('x', 'plain'), false);
    assert.notEqual(await hashPassword('correct horse'), h, 'salted');
  });

  test('users file and env are validated with messages naming the problem', () => {
    assert.throws(() => parseUsers({ users: [{ username: 'x', role: 'admin', passwordHash: 'nope' }] }), (e: unknown) => {
      assert.ok(e instanceof ConsoleConfigError);
      assert.match(e.message, /users\.0\.role/);
      assert.match(e.message, /users\.0\.passwordHash: a scrypt hash/);
      return true;
    });
    assert.throws(() => loadConsoleConfig({}), /CONSOLE_USERS_FILE: is required/);
    assert.throws(() => loadConsoleConfig({ CONSOLE_USERS_FILE: 'u', CONSOLE_PUBLIC_URL: 'console.example.com' }), /CONSOLE_PUBLIC_URL/);
    assert.equal(loadConsoleConfig({ CONSOLE_USERS_FILE: 'u', CONSOLE_PUBLIC_URL: 'https://console.example.com/' }).publicUrl, 'https://console.example.com');
    const c = loadConsoleConfig({ CONSOLE_USERS_FILE: '/tmp/u.json' });
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.sessionTtlMs, 8 * 3600_000);
    assert.equal(c.taskQueue, 'import-jobs');
    assert.throws(() => loadConsoleConfig({ CONSOLE_USERS_FILE: 'u', CONSOLE_PORT: 'eighty' }), /CONSOLE_PORT/);
  });

  test('hash-password.ts prints a users-file entry that loads and verifies', async () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'console', 'hash-password.ts'), '--user', 'bea', '--role', 'operator'], {
      input: 'a-long-password\n',
      encoding: 'utf8',
    });
    const entry = JSON.parse(out) as ConsoleUser;
    assert.equal(entry.username, 'bea');
    assert.equal(entry.role, 'operator');
    assert.equal(await verifyPassword('a-long-password', entry.passwordHash), true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-users-'));
    try {
      const file = path.join(dir, 'users.json');
      fs.writeFileSync(file, JSON.stringify({ users: [entry] }));
      assert.deepEqual(loadUsersFile(file), [entry]);
      fs.writeFileSync(file, JSON.stringify({ users: [entry, entry] }));
      assert.throws(() => loadUsersFile(file), /duplicate user name bea/);
      fs.writeFileSync(file, '{');
      assert.throws(() => loadUsersFile(file), /is not JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unauthenticated: pages redirect to sign-in, POSTs get 401', async () => {
    const page = await request('/shipping');
    assert.equal(page.status, 303);
    assert.equal(page.location, '/login?next=%2Fshipping');
    const post = await request('/start', { form: { spec: '{}' } });
    assert.equal(post.status, 401);
  });

  test('wrong password and unknown user: 401 with one message, no session cookie', async () => {
    for (const [u, p] of [
      ['ann', 'wrong-password'],
      ['nobody', 'clerk-password-1'],
    ] as const) {
      const { res } = await signIn(u, p);
      assert.equal(res.status, 401);
      assert.match(res.body, /Wrong user name or password/);
      assert.equal(cookieValue(res.setCookies, SESSION_COOKIE), undefined);
    }
  });

  test('sign-in without the login form token is refused', async () => {
    const res = await request('/login', { form: { username: 'ann', password: 'clerk-password-1' } });
    assert.equal(res.status, 403);
    assert.equal(cookieValue(res.setCookies, SESSION_COOKIE), undefined);
  });

  test('a good sign-in sets an HttpOnly SameSite=Strict random session cookie that expires', async () => {
    const { res, cookie } = await signIn('olga', 'operator-password-1');
    assert.equal(res.status, 303);
    assert.equal(res.location, '/start');
    const set = res.setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Strict/);
    const expires = Date.parse(/Expires=([^;]+)/.exec(set)?.[1] ?? '');
    assert.ok(Math.abs(expires - (Date.now() + TTL)) < 5_000, `cookie expires with the session (${set})`);
    // @fastify/session signs the cookie: a 256-bit random id (43 base64url characters), a dot, the signature.
    assert.match(decodeURIComponent(cookie), new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}\\.[A-Za-z0-9+/_-]{20,}$`));
    const again = await signIn('olga', 'operator-password-1');
    assert.notEqual(again.cookie, cookie, 'every sign-in gets a fresh id');

    const page = await request('/start', { cookie });
    assert.equal(page.status, 200);
    assert.match(page.body, /Olga &lt;Ops&gt;/, 'display name escaped');

    clock += TTL + 1;
    try {
      const expired = await request('/start', { cookie });
      assert.equal(expired.status, 303);
      assert.match(expired.location ?? '', /^\/login\?next=%2Fstart&expired=1$/);
      const login = await request(expired.location!);
      assert.match(login.body, /Your session expired/);
      const post = await request('/start', { cookie, form: { _csrf: 'x', spec: '{}' } });
      assert.equal(post.status, 401);
    } finally {
      clock -= TTL + 1;
    }
    // Expired sessions are gone for good, even when the clock is back.
    assert.equal((await request('/start', { cookie })).status, 303);
  });

  test('sign-out ends the session', async () => {
    const { cookie, csrf } = await signIn('olga', 'operator-password-1');
    const out = await request('/logout', { cookie, form: { _csrf: csrf } });
    assert.equal(out.status, 303);
    assert.equal((await request('/start', { cookie })).status, 303);
  });
});

describe('console: CSRF and roles', () => {
  test('POST without or with a wrong CSRF token: 403, nothing happens', async () => {
    const { cookie, csrf } = await signIn('olga', 'operator-password-1');
    assert.ok(csrf);
    const missing = await request('/start', { cookie, form: { spec: 'jobName: x' } });
    assert.equal(missing.status, 403);
    assert.match(missing.body, /did not come from this console/);
    const wrong = await request('/jobs/import-job-abc/cancel', { cookie, form: { _csrf: csrf.slice(1) + 'A', reason: 'r', confirm: 'yes' } });
    assert.equal(wrong.status, 403);
    const other = await signIn('olga', 'operator-password-1');
    const crossSession = await request('/start', { cookie, form: { _csrf: other.csrf, spec: 'jobName: x' } });
    assert.equal(crossSession.status, 403, "another session's token does not work");
    // With the right token the operator gets through the gate (the spec is then validated: 422).
    const ok = await request('/start', { cookie, form: { _csrf: csrf, spec: 'jobName: X' } });
    assert.equal(ok.status, 422);
    assert.match(ok.body, /jobName: job names use lowercase/);
    assert.match(ok.body, /subscriptionId: /);
  });

  test('a cross-site Origin is refused even with a token', async () => {
    const { cookie, csrf } = await signIn('olga', 'operator-password-1');
    const res = await fetch(`${app.url}/start`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, spec: '{}' }).toString(),
    });
    assert.equal(res.status, 403);
  });

  test('clerks cannot use operator pages or actions (server-side 403, valid CSRF)', async () => {
    const clerk = await signIn('ann', 'clerk-password-1');
    assert.equal(clerk.res.status, 303);
    // Clerk has no operator page to take a token from; use the sign-out form's token on an allowed page-less route.
    const forbidden = await request('/start', { cookie: clerk.cookie });
    assert.equal(forbidden.status, 403);
    const csrf = hidden(forbidden.body, '_csrf'); // the layout's sign-out form carries the session's token
    for (const [path, form] of [
      ['/start', { _csrf: csrf, spec: '{}' }],
      ['/jobs/import-job-abc/cancel', { _csrf: csrf, reason: 'no', confirm: 'yes' }],
    ] as const) {
      const res = await request(path, { cookie: clerk.cookie, form });
      assert.equal(res.status, 403, path);
      assert.match(res.body, /needs the operator role/);
    }
    for (const path of ['/jobs', '/jobs/import-job-abc', '/jobs/import-job-abc/cancel', '/start']) {
      assert.equal((await request(path, { cookie: clerk.cookie })).status, 403, path);
    }
    const home = await request('/', { cookie: clerk.cookie });
    assert.equal(home.location, '/shipping');
  });

  test('security headers and escaping', async () => {
    const res = await fetch(`${app.url}/login`);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const login = await request('/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E');
    assert.doesNotMatch(login.body, /<script>alert/);
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
    assert.equal(html`<p>${'<b>'}${html`<i>${'&'}</i>`}</p>`.value, '<p>&lt;b&gt;<i>&amp;</i></p>');
  });

  test('structured problems map to fields; search terms cannot inject queries', () => {
    const m = shipProblemsByField([
      { field: 'carrierName', message: 'DHL is not accepted at this site (accepted: FedEx)' },
      { field: 'trackingNumber', message: '1Z9 is not a FedEx tracking number (e.g. 123456789012)' },
      { field: '(shipment)', message: 'The shipping site West US has closed.' },
    ]);
    assert.deepEqual(m.fieldErrors.carrierName, ['DHL is not accepted at this site (accepted: FedEx)']);
    assert.deepEqual(m.fieldErrors.trackingNumber, ['1Z9 is not a FedEx tracking number (e.g. 123456789012)']);
    assert.deepEqual(m.generalErrors, ['The shipping site West US has closed.']);
    // The visibility query itself is built (and quoted) by the job service; the console refuses what no id can be.
    assert.ok('error' in searchTerm("x' OR WorkflowId != '"));
    assert.ok('error' in searchTerm('a'.repeat(81)));
    assert.deepEqual(searchTerm('1z999 aa1'), { term: '1z999 aa1' });
    assert.deepEqual(searchTerm('  '), {});
  });
});
