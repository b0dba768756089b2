/** Which Azure job states end a job and which still accept cancellation, per Azure API. */
import type { JobSpec } from '../common/job-spec';

/** Azure job states after which nothing more happens. */
const TERMINAL_AZURE_STATES = new Set(['Completed', 'Closed']);
/** Modern rule (and the emulator's default): Azure accepts cancellation only while the job is Creating. */
const CANCELLABLE_AZURE_STATES = new Set(['Creating']);

export function terminalStates(_spec: JobSpec): ReadonlySet<string> {
  return TERMINAL_AZURE_STATES;
}

export function cancellableStates(_spec: JobSpec): ReadonlySet<string> {
  return CANCELLABLE_AZURE_STATES;
}
