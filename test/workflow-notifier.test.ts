/**
 * The worker's notification policy: file notifications only inside the configured directory, webhooks only over
 * http(s) to allowed hosts, never to link-local/metadata addresses, loopback only when allowed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { blockedAddressReason, deliverNotification, type NotificationPolicy } from '../activities/notifier';
import type { Notification } from '../common/notification';

let dir: string;
let server: http.Server;
let port: number;
const received: string[] = [];
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notifier-'));
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(req.url === '/redirect' ? 302 : 204, req.url === '/redirect' ? { location: 'http://169.254.169.254/' } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const policy = (over: Partial<NotificationPolicy> = {}): NotificationPolicy => ({ directory: path.join(dir, 'notes'), webhookHosts: [], allowLoopbackWebhooks: false, ...over });
const note = (target: Notification['target']): Notification => ({ target, jobName: 'job-a', kind: 'reminder', message: 'ship the drives' });
const lines: string[] = [];
const log = (l: string): void => void lines.push(l);

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'NotificationRefused');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, pattern);
    return true;
  });
}

test('file notifications land inside the configured directory (subfolders included)', async () => {
  await deliverNotification(note({ kind: 'file', path: 'jobs/a.jsonl' }), log, policy());
  const written = fs.readFileSync(path.join(dir, 'notes', 'jobs', 'a.jsonl'), 'utf8');
  assert.equal(JSON.parse(written.trim()).message, 'ship the drives');
});

test('file notifications outside the directory are refused, and nothing is created there', async () => {
  const outside = path.join(dir, 'elsewhere');
  for (const p of ['../elsewhere/x.log', `${outside}/x.log`, 'a/../../elsewhere/x.log', '/etc/passwd']) {
    await refused(deliverNotification(note({ kind: 'file', path: p }), log, policy()), /inside the notification directory/);
  }
  assert.equal(fs.existsSync(outside), false, 'no directory was created outside');
});

test('symbolic links out of the directory are not followed', async () => {
  fs.mkdirSync(path.join(dir, 'notes'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'target'), { recursive: true });
  fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'notes', 'escape'));
  await refused(deliverNotification(note({ kind: 'file', path: 'escape/x.log' }), log, policy()), /symbolic link/);
  fs.symlinkSync(path.join(dir, 'target', 'file.log'), path.join(dir, 'notes', 'linked.log'));
  await refused(deliverNotification(note({ kind: 'file', path: 'linked.log' }), log, policy()), /symbolic link/);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'target')), []);
});

test('webhooks: only http(s), never link-local or metadata addresses, loopback only when allowed', async () => {
  for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://example.com/x', 'gopher://example.com']) {
    await refused(deliverNotification(note({ kind: 'webhook', url }), log, policy()), /http or https/);
  }
  for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/', 'http://0.0.0.0/']) {
    await refused(deliverNotification(note({ kind: 'webhook', url }), log, policy()), /link-local|unspecified/);
  }
  await refused(deliverNotification(note({ kind: 'webhook', url: `http://127.0.0.1:${port}/hook` }), log, policy()), /loopback/);
  // A name that resolves to loopback is refused at connect time too.
  await refused(deliverNotification(note({ kind: 'webhook', url: `http://localhost:${port}/hook` }), log, policy()), /loopback/);
  assert.equal(received.length, 0, 'nothing reached the server');
  await deliverNotification(note({ kind: 'webhook', url: `http://127.0.0.1:${port}/hook` }), log, policy({ allowLoopbackWebhooks: true }));
  assert.equal(JSON.parse(received.at(-1)!).kind, 'reminder');
});

test('webhooks: the host allow-list is enforced, and redirects are not followed', async () => {
  await refused(
    deliverNotification(note({ kind: 'webhook', url: `http://127.0.0.1:${port}/hook` }), log, policy({ allowLoopbackWebhooks: true, webhookHosts: ['hooks.example.com', '*.corp.example'] })),
    /not in the worker's allow-list/,
  );
  await deliverNotification(note({ kind: 'webhook', url: `http://127.0.0.1:${port}/hook` }), log, policy({ allowLoopbackWebhooks: true, webhookHosts: ['127.0.0.1'] }));
  await assert.rejects(
    deliverNotification(note({ kind: 'webhook', url: `http://127.0.0.1:${port}/redirect` }), log, policy({ allowLoopbackWebhooks: true })),
    (err: unknown) => err instanceof ApplicationFailure && err.type === 'NotificationRejected' && /HTTP 302/.test(err.message),
  );
});

test('address rules', () => {
  assert.match(blockedAddressReason('169.254.169.254', true) ?? '', /link-local/);
  assert.match(blockedAddressReason('fd00:ec2::254', true) ?? '', /metadata/);
  assert.match(blockedAddressReason('::1', false) ?? '', /loopback/);
  assert.equal(blockedAddressReason('::1', true), undefined);
  assert.equal(blockedAddressReason('10.1.2.3', false), undefined);
  assert.equal(blockedAddressReason('93.184.216.34', false), undefined);
});

test('log notifications go to the worker log', async () => {
  await deliverNotification(note({ kind: 'log' }), log, policy());
  assert.match(lines.at(-1)!, /\[notify:reminder\] job-a: ship the drives/);
});
