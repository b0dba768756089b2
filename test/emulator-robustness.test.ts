/**
 * Generated malformed HTTP requests over raw sockets at the HTTP and the HTTPS port: bad targets, methods, headers,
 * bodies, encodings and truncated requests. Every one gets a 4xx in the ARM error envelope (or, where HTTP cannot
 * answer, a clean close), never a 5xx, a hang or a reset before the answer, and the server keeps serving afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { startEmulator, type RunningEmulator } from '../emulator/server';

const SUB = '12121212-3434-5656-7878-909090909090';
const DB_JOB = `/subscriptions/${SUB}/resourceGroups/rg-robust/providers/Microsoft.DataBox/jobs`;
const IE_JOB = `/subscriptions/${SUB}/resourceGroups/rg-robust/providers/Microsoft.ImportExport/jobs`;
const KEY = '238810-662376-448998-450120-652806-203390-606320-483076';

interface Case {
  name: string;
  /** Bytes to write; a function gets the Host header value. */
  chunks: Array<string | Buffer>;
  /** Unparseable or truncated: a clean close without an answer is acceptable. */
  mayClose?: boolean;
  /** HEAD: answers have no body. */
  head?: boolean;
}

/** Deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function request(method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const h: Record<string, string> = { Host: 'emulator.test', Authorization: 'Bearer robust', ...headers };
  if (b && h['Content-Length'] === undefined && h['Transfer-Encoding'] === undefined) h['Content-Length'] = String(b.length);
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(h)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : Buffer.from(head, 'latin1');
}

function validCustomerDiskJob(): Record<string, unknown> {
  return {
    location: 'westus',
    sku: { name: 'DataBoxCustomerDisk' },
    properties: {
      transferType: 'ImportToAzure',
      details: {
        jobDetailsType: 'DataBoxCustomerDisk',
        contactDetails: { contactName: 'Ops', phone: '1', emailList: ['ops@contoso.com'] },
        shippingAddress: { streetAddress1: '1 Main St', country: 'US' },
        dataImportDetails: [{ accountDetails: { dataAccountType: 'StorageAccount', storageAccountId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct` } }],
        importDiskDetailsCollection: { DISK1: { manifestFile: '\\m.xml', manifestHash: '109B21108597EF36D5785F08303F3638', bitLockerKey: KEY } },
        returnToCustomerPackageDetails: { carrierName: 'FedEx', carrierAccountNumber: '1' },
      },
    },
  };
}

/** Paths into the valid create body, each with a replacement that makes it invalid. */
const INVALIDATIONS: Array<[string[], unknown]> = [
  [['location'], 42],
  [['location'], ''],
  [['location'], 'x'.repeat(100_000)],
  [['location'], 'nowhere'],
  [['sku'], null],
  [['sku', 'name'], 'DataBoxUltra'],
  [['properties'], []],
  [['properties', 'transferType'], 'Sideways'],
  [['properties', 'details'], 'details'],
  [['properties', 'details', 'jobDetailsType'], 'DataBox'],
  [['properties', 'details', 'contactDetails'], undefined],
  [['properties', 'details', 'contactDetails', 'emailList'], []],
  [['properties', 'details', 'contactDetails', 'emailList'], ['not-an-email']],
  [['properties', 'details', 'contactDetails', 'phone'], 5],
  [['properties', 'details', 'shippingAddress'], undefined],
  [['properties', 'details', 'shippingAddress', 'country'], ''],
  [['properties', 'details', 'returnToCustomerPackageDetails'], undefined],
  [['properties', 'details', 'returnToCustomerPackageDetails', 'carrierName'], 'PigeonPost'],
  [['properties', 'details', 'returnToCustomerPackageDetails', 'carrierAccountNumber'], ''],
  [['properties', 'details', 'dataImportDetails'], []],
  [['properties', 'details', 'dataImportDetails', '0', 'accountDetails', 'storageAccountId'], '/not/an/id'],
  [['properties', 'details', 'importDiskDetailsCollection'], {}],
  [['properties', 'details', 'importDiskDetailsCollection', 'DISK1', 'bitLockerKey'], '111111-222222-333333-444444-555555-666666-777777-888888'],
  [['properties', 'details', 'importDiskDetailsCollection', 'DISK1', 'bitLockerKey'], '123'],
  [['properties', 'details', 'importDiskDetailsCollection', 'DISK1', 'manifestHash'], 'xyz'],
  [['properties', 'details', 'importDiskDetailsCollection', 'DISK1', 'manifestFile'], undefined],
  [['properties', 'details', 'importDiskDetailsCollection', 'bad serial'], { manifestFile: 'm', manifestHash: '109B21108597EF36D5785F08303F3638', bitLockerKey: KEY }],
  [['tags'], Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`t${i}`, 'v']))],
];

function withChange(path: string[], value: unknown): Record<string, unknown> {
  const body = validCustomerDiskJob();
  let cur = body as Record<string, unknown>;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string, unknown>;
  const last = path[path.length - 1] ?? '';
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return body;
}

function generateCases(): Case[] {
  const rnd = prng(20261201);
  const cases: Case[] = [];
  const add = (name: string, chunks: Array<string | Buffer>, opts: Partial<Case> = {}) => cases.push({ name, chunks, ...opts });

  // 1. Request targets, under every prefix.
  const prefixes = ['', DB_JOB, IE_JOB, '/providers/Microsoft.DataBox', '/_emulator', '/_emulator/databox/jobs'];
  const targets = [
    '//a:b', '//', '///x//y', '/%', '/%zz', '/%E0%A4%A', '/%00', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc', `/${'a'.repeat(9000)}`,
    `/?${'q'.repeat(8000)}`, '/?api-version=%zz', '/?api-version=2025-02-01&api-version=x', '/%F0%9F%92%A9', '/caf%C3%A9', '/x?$expand=%', '/x#frag', '/x;y=z',
    '/x?%=&&==', '/%u0041',
  ];
  // (A list request with a trailing or doubled slash is valid: not generated under the Data Box jobs prefix.)
  for (const p of prefixes) for (const t of targets) if (!(p === DB_JOB && (t === '//' || t.startsWith('/?api-version')))) add(`target ${p}${t.slice(0, 40)}`, [request('GET', `${p}${t}?api-version=2025-02-01`.replace('??', '?'))]);
  for (const t of ['*', 'a:b', 'http://[::1', 'http://x:99999/', 'https://h/subscriptions', 'mailto:x', '\\\\share', 'http://emulator.test//a:b', '?x']) {
    add(`odd target ${t}`, [request('GET', t)]);
  }
  // Raw bytes Node's parser refuses in a target: non-ASCII, control characters, spaces.
  for (const raw of ['é', '中文', '💩', '\x01', '\x7f', 'a b', '\t', '\u00ff']) {
    add(`raw target byte ${JSON.stringify(raw)}`, [Buffer.concat([Buffer.from('GET /subscriptions/'), Buffer.from(raw, 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n\r\n')])]);
  }

  // 2. Methods.
  for (const m of ['FOO', 'BREW', 'get', 'Get', 'PROPFIND', 'MKCOL', 'M-SEARCH', 'PURGE', 'TRACE', 'OPTIONS', 'LINK', 'UNLOCK', 'REPORT', 'SEARCH', 'CONNECT', 'PRI', 'G\x00T', 'GETT', 'POSTX', '']) {
    for (const p of [`${DB_JOB}/j1?api-version=2025-02-01`, '/_emulator/health', '/providers/Microsoft.ImportExport/operations?api-version=2021-01-01']) {
      add(`method ${JSON.stringify(m)} ${p.slice(0, 30)}`, [request(m, m === 'CONNECT' ? 'emulator.test:443' : p)], { mayClose: m === '' || m === 'PRI' });
    }
  }
  for (const [m, p] of [['DELETE', '/_emulator/health'], ['PUT', '/_emulator/reset'], ['POST', '/providers/Microsoft.DataBox/operations?api-version=2025-02-01'], ['PATCH', `${DB_JOB}?api-version=2025-02-01`], ['HEAD', '/_emulator/nothing']]) {
    add(`wrong method ${m} ${p}`, [request(m ?? 'GET', p ?? '/')], { head: m === 'HEAD' });
  }

  // 3. Headers.
  const jobGet = `${DB_JOB}/j1?api-version=2025-02-01`;
  for (const size of [17_000, 40_000, 100_000]) add(`header ${size} bytes`, [request('GET', jobGet, { 'X-Big': 'a'.repeat(size) })]);
  add('2100 headers', [request('GET', jobGet, Object.fromEntries(Array.from({ length: 2100 }, (_, i) => [`X-H${i}`, 'v'.repeat(10)])))]);
  add('header without colon', [`GET ${jobGet} HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n`]);
  add('header with NUL', [`GET ${jobGet} HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n`]);
  add('header name with space', [`GET ${jobGet} HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n`]);
  add('obsolete line folding', [`GET ${jobGet} HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n`]);
  add('missing Host', [`GET ${jobGet} HTTP/1.1\r\nAuthorization: Bearer a\r\n\r\n`]);
  add('two Hosts', [`GET ${jobGet} HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: Bearer a\r\n\r\n`]);
  add('LF only line endings', [`GET ${jobGet} HTTP/1.1\nHost: x\nAuthorization: Bearer a\n\n`]);
  for (const cl of ['abc', '-1', '1.5', '0x10', '1, 2', ' ', '99999999999999999999']) add(`Content-Length ${JSON.stringify(cl)}`, [request('PUT', `${DB_JOB}/j1?api-version=2025-02-01`, { 'Content-Length': cl }, '{}')], { mayClose: true });
  add('two different Content-Lengths', [`PUT ${DB_JOB}/j1?api-version=2025-02-01 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`]);
  add('Content-Length with chunked', [`PUT ${DB_JOB}/j1?api-version=2025-02-01 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`]);
  for (const auth of ['', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'bearer', 'Bearer ' + 'x'.repeat(15_000), 'Negotiate abc', 'Bearer \u00e9']) {
    for (const p of [jobGet, `${IE_JOB}/j1?api-version=2021-01-01`]) add(`Authorization ${JSON.stringify(auth.slice(0, 20))} ${p.slice(-30)}`, [request('GET', p, { Authorization: auth })]);
  }
  for (const v of ['', '2019-01-01', '2025-02-01 ', 'latest', '2021-01-01', '%', 'x'.repeat(3000)]) {
    add(`api-version ${JSON.stringify(v.slice(0, 20))} databox`, [request('GET', `${DB_JOB}/j1?api-version=${encodeURIComponent(v)}`)]);
    add(`api-version ${JSON.stringify(v.slice(0, 20))} importexport`, [request('GET', `${IE_JOB}/j1?api-version=${encodeURIComponent(v === '2021-01-01' ? '2025-02-01' : v)}`)]);
  }

  // 4. Bodies (authenticated, so they reach the handlers).
  const put = `${DB_JOB}/robust1?api-version=2025-02-01`;
  const rawBodies: Array<[string, string | Buffer]> = [
    ['empty', ''], ['whitespace', '   \n'], ['not JSON', 'hello'], ['truncated JSON', '{"location":'], ['array', '[]'], ['number', '42'], ['string', '"x"'], ['null', 'null'], ['true', 'true'],
    ['BOM', '\ufeff{}'], ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])], ['deep nesting', '['.repeat(200_000) + ']'.repeat(200_000)],
    ['proto keys', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'], ['huge number', '{"location":1e999999}'], ['trailing garbage', '{}garbage'],
    ['NUL in string', '{"location":"west\u0000us"}'], ['duplicate keys', '{"location":"westus","location":3}'],
  ];
  for (const [n, b] of rawBodies) {
    add(`PUT databox body ${n}`, [request('PUT', put, { 'Content-Type': 'application/json' }, b)]);
    add(`PATCH databox body ${n}`, [request('PATCH', put, { 'Content-Type': 'application/json' }, b)]);
    add(`PUT importexport body ${n}`, [request('PUT', `${IE_JOB}/robust1?api-version=2021-01-01`, { 'Content-Type': 'application/json' }, b)]);
    add(`POST control body ${n}`, [request('POST', '/_emulator/faults', { 'Content-Type': 'application/json' }, b)]);
  }
  for (const [path, value] of INVALIDATIONS) add(`invalid field ${path.join('.')}`, [request('PUT', put, { 'Content-Type': 'application/json' }, JSON.stringify(withChange(path, value)))]);
  // Random combinations of several invalidations.
  for (let i = 0; i < 60; i++) {
    let body: Record<string, unknown> = validCustomerDiskJob();
    const picks = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < picks; k++) {
      const [path, value] = INVALIDATIONS[Math.floor(rnd() * INVALIDATIONS.length)] ?? [['location'], 1];
      try {
        let cur = body;
        for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string, unknown>;
        if (value === undefined) delete cur[path[path.length - 1] ?? ''];
        else cur[path[path.length - 1] ?? ''] = value;
      } catch {
        body = withChange(path, value); // an earlier change removed the parent
      }
    }
    add(`random invalid body #${i}`, [request('PUT', put, { 'Content-Type': 'application/json' }, JSON.stringify(body))]);
  }
  for (const name of ['ab', 'x'.repeat(25), 'bad name', 'bad/name', 'a%2Fb', 'job!', '%C3%A9t%C3%A9', '...%00']) {
    add(`bad job name ${name}`, [request('PUT', `${DB_JOB}/${name}?api-version=2025-02-01`, {}, JSON.stringify(validCustomerDiskJob()))]);
  }
  for (const op of ['markDevicesShipped', 'cancel', 'mitigate', 'bookShipmentPickUp', 'listCredentials']) {
    for (const b of ['{}', '{"deliverToDcPackageDetails":{}}', '{"reason":""}', 'x', '[1]']) add(`POST ${op} ${b}`, [request('POST', `${DB_JOB}/nosuchjob/${op}?api-version=2025-02-01`, {}, b)]);
  }
  for (const op of ['regionConfiguration', 'validateInputs', 'validateAddress']) {
    for (const b of ['{}', '{"datacenterAddressRequest":{"storageLocation":"mars","skuName":"DataBoxCustomerDisk"}}', '{"validationCategory":"x"}', 'null']) {
      add(`POST ${op} ${b.slice(0, 30)}`, [request('POST', `/subscriptions/${SUB}/providers/Microsoft.DataBox/locations/westus/${op}?api-version=2025-02-01`, {}, b)]);
    }
  }
  const big = Buffer.alloc(1_572_864, 0x20);
  add('1.5 MiB body with Content-Length', [request('PUT', put, {}, big)]);
  add('1.5 MiB body to the control API', [request('POST', '/_emulator/faults', {}, big)]);
  add('1.5 MiB chunked body', [request('PUT', put, { 'Transfer-Encoding': 'chunked' }), `${big.length.toString(16)}\r\n`, big, '\r\n0\r\n\r\n']);
  add('10 GB declared, little sent', [request('PUT', put, { 'Content-Length': String(10 * 1024 ** 3) }), '{"a":1}'], { mayClose: true });

  // 5. Encodings and protocol versions.
  add('chunked, bad size', [request('PUT', put, { 'Transfer-Encoding': 'chunked' }), 'zz\r\n{}\r\n0\r\n\r\n']);
  add('chunked, size too small', [request('PUT', put, { 'Transfer-Encoding': 'chunked' }), '1\r\n{}\r\n0\r\n\r\n']);
  add('chunked, extension garbage', [request('PUT', put, { 'Transfer-Encoding': 'chunked' }), '2;\x01\r\n{}\r\n0\r\n\r\n']);
  add('Transfer-Encoding gzip', [request('PUT', put, { 'Transfer-Encoding': 'gzip' }), '\x1f\x8b\x08garbage']);
  add('Transfer-Encoding chunked twice', [request('PUT', put, { 'Transfer-Encoding': 'chunked, chunked' }), '2\r\n{}\r\n0\r\n\r\n']);
  add('Content-Encoding gzip garbage', [request('PUT', put, { 'Content-Encoding': 'gzip' }, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]))]);
  add('Content-Type form', [request('PUT', put, { 'Content-Type': 'application/x-www-form-urlencoded' }, 'a=1&b=2')]);
  add('Content-Type utf-16 body', [request('PUT', put, { 'Content-Type': 'application/json; charset=utf-16' }, Buffer.from('{"location":"westus"}', 'utf16le'))]);
  for (const v of ['HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/9.9', 'HTTPS/1.1', 'http/1.1', '']) add(`version ${JSON.stringify(v)}`, [`GET ${jobGet} ${v}\r\nHost: x\r\nAuthorization: Bearer a\r\n\r\n`], { mayClose: v === '' });
  add('HTTP/1.0 without Host', [`GET ${jobGet} HTTP/1.0\r\nAuthorization: Bearer a\r\n\r\n`]);
  add('HTTP/2 prior-knowledge preface', ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], { mayClose: true });
  add('Upgrade websocket', [request('GET', jobGet, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' })]);
  add('Upgrade h2c', [request('GET', '/_emulator/nope', { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAAP__' })]);
  add('Expect 100-continue, no body', [request('PUT', put, { Expect: '100-continue', 'Content-Length': '0' })]);
  add('Expect unknown', [request('PUT', put, { Expect: 'teapot' }, '{}')]);

  // 6. Truncated requests (the client half-closes): answers or clean closes.
  for (const t of ['G', 'GET', 'GET ', `GET ${jobGet}`, `GET ${jobGet} HTTP/1.1`, `GET ${jobGet} HTTP/1.1\r\n`, `GET ${jobGet} HTTP/1.1\r\nHost: x`, `GET ${jobGet} HTTP/1.1\r\nHost: x\r\n`]) {
    add(`truncated ${JSON.stringify(t.slice(-20))}`, [t], { mayClose: true });
  }
  add('truncated body', [request('PUT', put, { 'Content-Length': '100' }), '{"loc'], { mayClose: true });
  add('truncated chunked body', [request('PUT', put, { 'Transfer-Encoding': 'chunked' }), '10\r\n{"loc'], { mayClose: true });

  // 7. Not HTTP at all.
  for (let i = 0; i < 20; i++) add(`random bytes #${i}`, [Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)))], { mayClose: true });
  add('TLS ClientHello at HTTP', [Buffer.from('16030100a5010000a10303', 'hex')], { mayClose: true });
  add('SSH banner', ['SSH-2.0-OpenSSH_9.0\r\n'], { mayClose: true });
  add('SMTP', ['HELO example.com\r\n'], { mayClose: true });
  return cases;
}

interface Outcome {
  kind: 'answer' | 'closed' | 'timeout';
  status?: number;
  body?: string;
  headers?: string;
}

function send(c: Case, connect: () => net.Socket | tls.TLSSocket): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect();
    const got: Buffer[] = [];
    let settled = false;
    const finish = (kind: Outcome['kind']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      // Interim 1xx answers (100 Continue) precede the final one.
      const all = Buffer.concat(got).toString('latin1').replace(/^(HTTP\/1\.[01] 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      if (all === '') return resolve({ kind: kind === 'timeout' ? 'timeout' : 'closed' });
      const end = all.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(all);
      resolve({ kind: 'answer', status: m ? Number(m[1]) : 0, headers: end >= 0 ? all.slice(0, end) : all, body: end >= 0 ? all.slice(end + 4) : '' });
    };
    const timer = setTimeout(() => finish('timeout'), 10_000);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      const write = (i: number): void => {
        if (i >= c.chunks.length) {
          socket.end();
          return;
        }
        socket.write(c.chunks[i] ?? '', () => write(i + 1));
      };
      write(0);
    });
  });
}

/** The first response's status and body (a response may be followed by more on a kept-alive connection). */
function checkOutcome(c: Case, o: Outcome): string | undefined {
  if (o.kind === 'timeout') return 'no answer within 10 s';
  if (o.kind === 'closed') return c.mayClose ? undefined : 'closed without an answer';
  const status = o.status ?? 0;
  if (status < 400 || status > 499) return `status ${status}, not a 4xx`;
  if (c.head) return undefined;
  const length = /\r\ncontent-length: *(\d+)/i.exec(o.headers ?? '');
  const body = length ? (o.body ?? '').slice(0, Number(length[1])) : (o.body ?? '');
  try {
    const parsed = JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code !== 'string' || typeof parsed.error.message !== 'string') return `no ARM envelope: ${body.slice(0, 200)}`;
  } catch {
    return `body is not JSON: ${body.slice(0, 200)}`;
  }
  return undefined;
}

async function runAll(cases: Case[], connect: () => net.Socket | tls.TLSSocket, concurrency = 12): Promise<{ failures: string[]; statuses: Map<number | string, number> }> {
  const failures: string[] = [];
  const statuses = new Map<number | string, number>();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      if (!c) break;
      const o = await send(c, connect);
      const k = o.kind === 'answer' ? (o.status ?? 0) : o.kind;
      statuses.set(k, (statuses.get(k) ?? 0) + 1);
      const problem = checkOutcome(c, o);
      if (problem) failures.push(`${c.name}: ${problem}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failures, statuses };
}

void describe('malformed HTTP requests at both ports', () => {
  let emu: RunningEmulator;
  const cases = generateCases();
  before(async () => {
    emu = await startEmulator({ httpsPort: 0 });
  });
  after(async () => {
    await emu.close();
  });

  const stillServing = async () => {
    const health = await fetch(`${emu.httpUrl}/_emulator/health`);
    assert.equal(health.status, 200);
    const ops = await fetch(`${emu.httpUrl}/providers/Microsoft.DataBox/operations?api-version=2025-02-01`, { headers: { Authorization: 'Bearer a' } });
    assert.equal(ops.status, 200);
  };

  void it(`generates at least 500 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 500, `only ${cases.length} cases`);
  });

  void it('HTTP port: every request gets an ARM-envelope 4xx or a clean close, and the server stays up', async () => {
    const url = new URL(emu.httpUrl);
    const { failures, statuses } = await runAll(cases, () => net.connect(Number(url.port), url.hostname));
    console.log(`HTTP: ${cases.length} requests`, Object.fromEntries(statuses));
    assert.deepEqual(failures, []);
    await stillServing();
  });

  void it('clients that reset mid-request (CONNECT, Upgrade, bodies, headers, polls) do not take the server down', async () => {
    const url = new URL(emu.httpUrl);
    const payloads = [
      'CONNECT emulator.test:443 HTTP/1.1\r\nHost: x\r\n\r\n',
      request('GET', '/_emulator/health', { Connection: 'Upgrade', Upgrade: 'websocket' }).toString('latin1'),
      request('PUT', `${DB_JOB}/reset1?api-version=2025-02-01`, { 'Content-Length': '100000' }).toString('latin1') + '{"loc',
      'FOO / HTTP/1.1\r\n\r\n',
      `GET ${DB_JOB} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}`,
    ];
    for (const payload of payloads) {
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(Number(url.port), url.hostname, () => {
            socket.write(payload);
            setTimeout(() => {
              socket.resetAndDestroy();
              resolve();
            }, i % 4);
          });
          socket.on('error', () => resolve());
        });
      }
    }
    await stillServing();
  });

  void it('a request that never finishes arriving gets 408 in the envelope (slow headers, slow body)', async () => {
    const slow = await startEmulator({ httpsPort: null, requestTimeoutMs: 1000 });
    try {
      const url = new URL(slow.httpUrl);
      for (const c of [
        { name: 'slow headers', chunks: [`GET ${DB_JOB} HTTP/1.1\r\nHost: x\r\n`] },
        { name: 'slow body', chunks: [request('PUT', `${DB_JOB}/slow1?api-version=2025-02-01`, { 'Content-Length': '50' }), '{"a'] },
      ]) {
        const o = await new Promise<Outcome>((resolve) => {
          const socket = net.connect(Number(url.port), url.hostname, () => {
            for (const chunk of c.chunks) socket.write(chunk);
          });
          const got: Buffer[] = [];
          socket.on('data', (d: Buffer) => got.push(d));
          socket.on('error', () => undefined);
          socket.on('close', () => {
            const all = Buffer.concat(got).toString('latin1');
            const end = all.indexOf('\r\n\r\n');
            resolve({ kind: all === '' ? 'closed' : 'answer', status: Number(/^HTTP\/1\.1 (\d{3})/.exec(all)?.[1] ?? 0), headers: all.slice(0, end), body: all.slice(end + 4) });
          });
        });
        assert.equal(o.status, 408, `${c.name}: ${JSON.stringify(o)}`);
        assert.equal(checkOutcome({ name: c.name, chunks: [] }, o), undefined);
      }
    } finally {
      await slow.close();
    }
  });

  void it('HTTPS port: the same over TLS', async () => {
    const url = new URL(emu.httpsUrl ?? '');
    const ca = readFileSync(emu.caCertPath ?? '');
    const { failures, statuses } = await runAll(cases, () => tls.connect({ port: Number(url.port), host: url.hostname, ca, servername: 'localhost' }));
    console.log(`HTTPS: ${cases.length} requests`, Object.fromEntries(statuses));
    assert.deepEqual(failures, []);
    await stillServing();
  });
});
