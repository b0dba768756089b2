import path from 'node:path';
import { z } from 'zod';
import type { NotificationPolicy } from '../activities/notifier';
import { MibPerSecondSchema } from '../activities/prepare/scheduling';

/** Worker configuration from the environment; every error names the variable. */
export const WorkerConfigSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Task queue of the import-job workflows and their REST activities. */
  TASK_QUEUE: z.string().min(1).default('import-jobs'),
  /** This machine's preparation-station queue, when drives are attached here. */
  PREPARE_TASK_QUEUE: z.string().min(1).default('prepare-station'),
  /** Cap on how fast this station's preparations together read and write, in MiB/s, for disks or shares used by other work; 0: unlimited. */
  PREPARE_MAX_MIB_PER_SECOND: MibPerSecondSchema.default(0),
  /** Which parts this process runs: `orchestrator` (workflows + REST activities), `prepare` (drive preparation). */
  WORKER_ROLES: z
    .string()
    .default('orchestrator,prepare')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['orchestrator', 'prepare'])).min(1, 'name at least one role: orchestrator, prepare')),
  /** Register the search attributes the workflows use (dev server / self-hosted; Temporal Cloud needs them set up beforehand). */
  REGISTER_SEARCH_ATTRIBUTES: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(100),
  MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(100),
  /**
   * Workflows kept in memory between tasks; parked jobs (weeks of waiting) are evicted and replayed when they wake.
   * A cached import job costs about 0.6 MB (zod and the schemas are shared by all workflows of a thread:
   * worker/workflow-shared-modules.ts): 500 fit the 1 GB heap the image sets with room to collect, and keep the jobs
   * being created, shipped and polled at once from being evicted between their tasks (docs/production.md).
   */
  MAX_CACHED_WORKFLOWS: z.coerce.number().int().nonnegative().default(500),
  /** The one directory `kind: file` notifications are written in (a job names a file inside it). */
  NOTIFICATION_DIR: z
    .string()
    .default('data/notifications')
    .transform((d) => path.resolve(d)),
  /** Comma-separated hosts webhooks may call (`hooks.example.com`, `*.example.com`); empty: any public host. */
  NOTIFY_WEBHOOK_HOSTS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  /** Allow webhooks to loopback addresses (local development only). */
  NOTIFY_WEBHOOK_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const parsed = WorkerConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid worker configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The notification policy the worker enforces on every delivery. */
export function notificationPolicyOf(config: WorkerConfig): NotificationPolicy {
  return { directory: config.NOTIFICATION_DIR, webhookHosts: config.NOTIFY_WEBHOOK_HOSTS, allowLoopbackWebhooks: config.NOTIFY_WEBHOOK_ALLOW_LOOPBACK };
}
