/**
 * Delivers workflow notifications (reminders, escalations, alerts) to a job's notification target, within the
 * worker's policy: file notifications only inside one configured directory, webhooks only over http(s) to allowed
 * hosts and never to link-local or metadata addresses (nor loopback unless allowed). The spec schema checks the
 * target's shape at the door; this is where the policy is enforced, on every delivery.
 */
import fs from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { Context } from '@temporalio/activity';
import { NotificationSchema, type Notification } from '../common/notification';
import { formatProblems, problemsFromZodError } from '../common/problems';
import { recordNotificationSent } from '../metrics/activity-metrics';

export type NotificationLogger = (line: string) => void;

export const NotificationPolicySchema = z.object({
  /** Absolute directory file notifications are written in; a target's path is a name inside it. */
  directory: z.string().refine((d) => path.isAbsolute(d), 'an absolute directory'),
  /** Hosts webhooks may call (`example.com`, or `*.example.com` for its subdomains); empty: any host. */
  webhookHosts: z.array(z.string().min(1)),
  /** Loopback webhooks (127.0.0.0/8, ::1) are refused unless this is set (local development, tests). */
  allowLoopbackWebhooks: z.boolean(),
});
export type NotificationPolicy = z.infer<typeof NotificationPolicySchema>;

/** A target the policy refuses: not retried, and not a reason to fail the import job (see ImportJob.notify). */
const refused = (message: string): ApplicationFailure => ApplicationFailure.create({ type: 'NotificationRefused', message, nonRetryable: true });

/** Without worker configuration: files under ./data/notifications, any public webhook host, no loopback. */
export function defaultNotificationPolicy(): NotificationPolicy {
  return { directory: path.resolve('data', 'notifications'), webhookHosts: [], allowLoopbackWebhooks: false };
}

export async function deliverNotification(n: Notification, log: NotificationLogger, policy: NotificationPolicy = defaultNotificationPolicy()): Promise<void> {
  const entry = { at: new Date().toISOString(), jobName: n.jobName, kind: n.kind, message: n.message };
  switch (n.target.kind) {
    case 'log':
      log(`[notify:${n.kind}] ${n.jobName}: ${n.message}`);
      return;
    case 'file':
      await appendInside(path.resolve(policy.directory), n.target.path, `${JSON.stringify(entry)}\n`);
      return;
    case 'webhook':
      await postWebhook(policy, n.target.url, JSON.stringify(entry));
      return;
  }
}

/** The `sendNotification` activity under `policy`; a notification that does not fit the contract is refused, not retried. */
export function createNotificationActivity(policy: NotificationPolicy) {
  return {
    async sendNotification(raw: Notification): Promise<void> {
      const parsed = NotificationSchema.safeParse(raw);
      if (!parsed.success) throw refused(`notification refused: ${formatProblems(problemsFromZodError(parsed.error)).join('; ')}`);
      await deliverNotification(parsed.data, (line) => Context.current().log.info(line), policy);
      recordNotificationSent(parsed.data.kind);
    },
  };
}

/** Appends to `name` inside `directory`; refuses anything that would land outside it (`..`, absolute, symlinks). */
async function appendInside(directory: string, name: string, line: string): Promise<void> {
  const target = path.resolve(directory, name);
  if (!target.startsWith(directory + path.sep)) throw refused(`file notifications must stay inside the notification directory ${directory} (got ${name})`);
  // The configured directory itself, and subdirectories inside it, may be created; nothing elsewhere.
  await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const realDir = await fs.realpath(directory);
  const realParent = await fs.realpath(path.dirname(target));
  if (realParent !== realDir && !realParent.startsWith(realDir + path.sep)) throw refused(`file notification ${name} leads outside ${directory} through a symbolic link`);
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW: a symbolic link planted as the file itself is not followed either.
    handle = await fs.open(target, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw refused(`file notification ${name} is a symbolic link`);
    throw err;
  }
  try {
    await handle.appendFile(line);
  } finally {
    await handle.close();
  }
}

const hostAllowed = (host: string, allowed: readonly string[]): boolean =>
  allowed.length === 0 ||
  allowed.some((a) => {
    const rule = a.toLowerCase();
    return rule.startsWith('*.') ? host.endsWith(rule.slice(1)) : host === rule;
  });

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, which URLs normalise to `::ffff:102:304`). */
function mappedIPv4(address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (dotted) return dotted;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** Why an address may not be called, or undefined when it may. */
export function blockedAddressReason(address: string, allowLoopback: boolean): string | undefined {
  const v4 = net.isIPv4(address) ? address : mappedIPv4(address);
  if (v4) {
    const [a, b] = v4.split('.').map(Number) as [number, number];
    if (a === 169 && b === 254) return 'a link-local address (cloud metadata services live there)';
    if (a === 0) return 'an unspecified address';
    if (a === 127 && !allowLoopback) return 'a loopback address';
    if (a >= 224) return 'a multicast or reserved address';
    return undefined;
  }
  const v6 = address.toLowerCase();
  if (v6 === '::1') return allowLoopback ? undefined : 'a loopback address';
  if (v6 === '::') return 'an unspecified address';
  if (/^fe[89ab]/.test(v6)) return 'a link-local address';
  if (v6 === 'fd00:ec2::254') return 'a cloud metadata address';
  if (v6.startsWith('ff')) return 'a multicast address';
  return undefined;
}

async function postWebhook(policy: NotificationPolicy, rawUrl: string, body: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw refused('the webhook URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused(`webhooks use http or https, not ${url.protocol}`);
  if (url.username || url.password) throw refused('webhook URLs carry no credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!hostAllowed(host, policy.webhookHosts)) throw refused(`webhook host ${host} is not in the worker's allow-list`);
  const literal = net.isIP(host) ? blockedAddressReason(host, policy.allowLoopbackWebhooks) : undefined;
  if (literal) throw refused(`webhook host ${host} is ${literal}`);
  // Every address the name resolves to is checked at connect time, so DNS cannot point the call elsewhere.
  const lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const bad = list.map((a) => blockedAddressReason(a.address, policy.allowLoopbackWebhooks)).find(Boolean);
      if (bad) return callback(Object.assign(new Error(`webhook host ${hostname} resolves to ${bad}`), { code: 'EBLOCKED' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
  const status = await new Promise<number>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, lookup, timeout: 15_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out after 15 s')));
    request.on('error', reject);
    request.end(body);
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EBLOCKED') throw refused(err.message);
    throw ApplicationFailure.retryable(`webhook ${url.host} unreachable: ${err.message}`, 'NotificationDeliveryError');
  });
  if (status >= 500 || status === 429) throw ApplicationFailure.retryable(`webhook answered ${status}`, 'NotificationDeliveryError');
  // Redirects are not followed: a redirect could point at an address the policy refuses.
  if (status < 200 || status >= 300) throw ApplicationFailure.nonRetryable(`webhook rejected the notification: HTTP ${status}`, 'NotificationRejected');
}
