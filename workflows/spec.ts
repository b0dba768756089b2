/** The workflow's reading of its input: the job spec with its defaults applied. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { JobSpec } from '../common/job-spec';
import { formatProblems, JobSpecSchema, problemsFromZodError } from '../common/workflow-imports';

/**
 * Parses the spec, or fails the workflow with `InvalidJobSpec` carrying the problems as details.
 * Where notifications may go is the worker's policy (activities/notifier.ts enforces it on every delivery), so the
 * target's shape is checked at the door, not here: jobs started before file targets became names inside the
 * worker's notification directory carry absolute paths and must keep replaying.
 */
export function parseJobSpec(raw: unknown): JobSpec {
  const input = raw as { notification?: JobSpec['notification'] } | null;
  const legacyFileTarget = input?.notification?.kind === 'file' && input.notification.path.startsWith('/') ? input.notification : undefined;
  const parsed = JobSpecSchema.safeParse(legacyFileTarget ? { ...input, notification: undefined } : raw);
  if (!parsed.success) {
    const problems = problemsFromZodError(parsed.error, JobSpecSchema);
    throw ApplicationFailure.create({
      type: 'InvalidJobSpec',
      message: `Invalid job spec:\n${formatProblems(problems).join('\n')}`,
      details: [problems],
      nonRetryable: true,
    });
  }
  return legacyFileTarget ? { ...parsed.data, notification: legacyFileTarget } : parsed.data;
}
