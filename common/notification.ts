import { z } from 'zod';
import { NotificationTargetSchema } from './job-spec';

/** What a job tells the people who run it, and where it goes (the spec's notification target). */
export const NotificationKindSchema = z.enum([
  'reminder',
  'escalation',
  'expired',
  'sites-closed',
  'site-changed',
  'not-received',
  'rejected-signal',
  'shipped',
  'completed',
  'failed',
]);
export const NotificationSchema = z.object({
  target: NotificationTargetSchema,
  jobName: z.string(),
  kind: NotificationKindSchema,
  message: z.string(),
});
export type Notification = z.infer<typeof NotificationSchema>;
