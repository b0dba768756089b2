/** Delivers workflow notifications (reminders, escalations, alerts) to a job's notification target. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Notification } from '../common/import-job-contract';

export type NotificationLogger = (line: string) => void;

export async function deliverNotification(n: Notification, log: NotificationLogger): Promise<void> {
  const entry = { at: new Date().toISOString(), jobName: n.jobName, kind: n.kind, message: n.message };
  switch (n.target.kind) {
    case 'log':
      log(`[notify:${n.kind}] ${n.jobName}: ${n.message}`);
      return;
    case 'file':
      await fs.mkdir(path.dirname(n.target.path), { recursive: true });
      await fs.appendFile(n.target.path, `${JSON.stringify(entry)}\n`);
      return;
    case 'webhook': {
      let res: Response;
      try {
        res = await fetch(n.target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(entry),
          signal: AbortSignal.timeout(15_000),
        });
      } catch (err) {
        throw ApplicationFailure.retryable(`webhook ${new URL(n.target.url).host} unreachable: ${(err as Error).message}`, 'NotificationDeliveryError');
      }
      if (res.status >= 500 || res.status === 429) {
        throw ApplicationFailure.retryable(`webhook answered ${res.status}`, 'NotificationDeliveryError');
      }
      if (!res.ok) throw ApplicationFailure.nonRetryable(`webhook rejected the notification: HTTP ${res.status}`, 'NotificationRejected');
      return;
    }
  }
}
