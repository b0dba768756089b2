/**
 * The filters `importctl list` and the console's search offer, as one schema: unknown states and steps are refused
 * with the list of valid values, and every term is restricted to characters that cannot alter a visibility query.
 */
import { z } from 'zod';
import { DATABOX_JOB_STATUSES, EXPIRED_JOB_STATE, IMPORT_EXPORT_JOB_STATES } from '../common/azure-job';
import type { WorkflowStep } from '../workflows/import-job-messages';
import { InvalidInputError } from './job-errors';

/** What each workflow step means; a Record, so the compiler insists on every step (the list `--step` accepts). */
export const WORKFLOW_STEP_MEANINGS: Record<WorkflowStep, string> = {
  preparing: 'copying data onto the drives',
  locating: 'finding the shipping site',
  'waiting-for-open-site': 'every candidate site is closed; asking again later',
  creating: 'creating the Azure job',
  'awaiting-shipping': 'waiting for the clerk to ship the drives',
  expired: 'Azure deleted the job before the drives shipped',
  updating: 'telling Azure about the shipment',
  tracking: 'following the Azure job',
  completed: 'done',
  closed: 'Azure closed the job',
  cancelled: 'cancelled',
  failed: 'failed',
};
export const WORKFLOW_STEPS = Object.keys(WORKFLOW_STEP_MEANINGS) as WorkflowStep[];

/** Every state either Azure API reports, and the orchestrator's own "Expired". */
export const AZURE_JOB_STATE_NAMES: readonly string[] = [...new Set([...IMPORT_EXPORT_JOB_STATES, ...DATABOX_JOB_STATUSES, EXPIRED_JOB_STATE])];

/** Visibility terms: job names, tracking numbers, drive serials. Anything else is refused (no query injection). */
const SEARCH_TERM = /^[A-Za-z0-9._ -]{1,80}$/;

const oneOf = (what: string, values: readonly string[]) =>
  z.string().transform((v, ctx) => {
    const match = values.find((s) => s.toLowerCase() === v.trim().toLowerCase());
    if (match === undefined) ctx.addIssue({ code: 'custom', message: `unknown ${what} "${v}"; valid values: ${values.join(', ')}` });
    return match ?? v;
  });
const term = (what: string) => z.string().regex(SEARCH_TERM, `${what} uses letters, digits, ".", "_", "-" and spaces (up to 80)`);

export const JobListFilterSchema = z
  .object({
    state: oneOf('Azure state', AZURE_JOB_STATE_NAMES).optional(),
    step: oneOf('step', WORKFLOW_STEPS).optional(),
    trackingNumber: term('tracking number').transform((s) => s.replace(/\s+/g, '').toUpperCase()).optional(),
    driveId: term('drive serial').optional(),
    /** One term matched against job name, tracking number and drive serials (the console's search box). */
    search: term('search').optional(),
    runningOnly: z.boolean().default(false),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type JobListFilterInput = z.input<typeof JobListFilterSchema>;


/** The parsed filter, or InvalidInputError naming the option and the valid values. */
export function parseJobListFilter(filter: JobListFilterInput): z.infer<typeof JobListFilterSchema> {
  const parsed = JobListFilterSchema.safeParse(filter);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
  throw new InvalidInputError(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}
