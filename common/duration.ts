import ms from 'ms';
import { z } from 'zod';

/** Longest duration the orchestrator accepts anywhere: far beyond any real import, far inside what timers hold. */
export const MAX_DURATION_MS = 366 * 24 * 3600 * 1000;

/**
 * Durations as Temporal writes them ("3 days", "12h", "90 seconds"; parsed by `ms`, the library Temporal's own
 * duration strings use) or a number of milliseconds. Values that are not finite, not positive, or longer than a
 * year are refused here rather than failing the workflow later.
 */
export const DurationSchema = z
  .union([z.number(), z.string().max(40, 'a duration is short text such as "3 days"')])
  .superRefine((d, ctx) => {
    const value = typeof d === 'number' ? d : ms(d as ms.StringValue);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      ctx.addIssue({ code: 'custom', message: 'a duration such as "3 days", "12h", "90 seconds" or a number of milliseconds' });
    } else if (!Number.isInteger(Math.round(value)) || value < 1) {
      ctx.addIssue({ code: 'custom', message: 'a duration must be longer than 0' });
    } else if (value > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: 'a duration must be at most 366 days' });
    }
  });
export type Duration = z.infer<typeof DurationSchema>;

/** Milliseconds of a value DurationSchema accepted (pure; usable in workflow code). */
export function durationToMs(d: Duration): number {
  const value = typeof d === 'number' ? d : ms(d as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`not a duration: ${String(d)}`);
  return Math.round(value);
}
